package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (m *Main) publish(ctx context.Context, args []string) error {
	fs := m.newFlagSet("publish", "publish [TYPE] [flags]\n\nExamples:\n  valksor-sse publish reload\n  valksor-sse publish --type custom-event --data '{\"a\":1}' --topic orders")
	var c commonFlags
	c.register(fs)
	typ := fs.String("type", "", "event `type` (or give it as the first argument)")
	data := fs.String("data", "", "event data as `JSON` (default {} ; {\"files\":[]} for reload and css-update)")
	raw := fs.Bool("raw", false, "send --data as plain text instead of checking it is JSON")
	id := fs.String("id", "", "event `id` (default: assigned by the server)")
	retry := fs.Duration("retry", 0, "reconnection hint sent with the event, e.g. 3s")
	token := fs.String("token", "", "publish `token` or publisher JWT (default: config publish_token; with JWT keys, a JWT signed with auth.publisher_key; else the token file)")
	url := fs.String("url", "", "server `URL` with base path, e.g. http://localhost:8080/sse (default: from the config)")
	var topics stringList
	fs.Var(&topics, "topic", "`topic` to publish to (repeatable; default: the public channel)")
	// Accept the type before or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		*typ = args[0]
		args = args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 1 && *typ == "" {
		*typ = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("publish takes one event type, got %q", fs.Args())}
	}
	if *typ == "" {
		return usageError{"publish needs an event type: valksor-sse publish reload, or --type custom-event"}
	}
	cfg, err := m.load(c)
	if err != nil {
		return err
	}
	e := sse.Event{Type: *typ, ID: *id, Topics: topics, Retry: *retry}
	switch {
	case *data == "" && (*typ == sse.TypeReload || *typ == sse.TypeCSSUpdate):
		e.Data = json.RawMessage(`{"files":[]}`)
	case *data == "":
	case *raw:
		e.Data = *data
	default:
		if !json.Valid([]byte(*data)) {
			return usageError{fmt.Sprintf("--data is not valid JSON: %.60q; quote it for the shell ('{\"a\":1}') or pass --raw to send plain text", *data)}
		}
		e.Data = json.RawMessage(*data)
	}
	p := &client.Publisher{URL: *url, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: m.localTransport(cfg)}}
	if p.URL == "" {
		p.URL = baseURL(cfg)
	}
	cred, err := m.publishCredential(cfg, *token, topics)
	if err != nil {
		return err
	}
	p.Token = cred.token
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	eventID, err := p.Publish(ctx, e)
	if err != nil {
		var se *client.Error
		switch {
		case errors.Is(err, client.ErrUnreachable):
			return fmt.Errorf("no valksor-sse server answers at %s; start it with `valksor-sse serve` (or pass --url/--port): %w", p.URL, err)
		case errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%s (%s); %s", cred.refused, se.Message, cred.advice)
		}
		return err
	}
	fmt.Fprintln(m.Stdout, eventID)
	return nil
}

// credential is what publish authenticates with, and what to tell the user
// when the server refuses it.
type credential struct {
	token string
	// refused says what the server refused, as the start of a sentence.
	refused string
	// advice says what to do about it.
	advice string
}

// jwtOnly reports whether a server with cfg accepts publisher JWTs only:
// it has publisher keys (or a JWKS), and no static publish token, so it
// writes no token file (see servePublishToken).
func jwtOnly(cfg config.Config) bool {
	return cfg.PublishToken == "" && !cfg.AllowAnonymousPublish && (cfg.AuthPublisherKey != "" || cfg.AuthJWKSURL != "")
}

// publishCredential picks the token publish sends: --token; else the
// config's publish_token; else, when the server of the config accepts JWTs
// only, a short-lived publisher JWT signed with auth.publisher_key; else the
// token file, here or in the directory of the valksor-sse on the port.
func (m *Main) publishCredential(cfg config.Config, flagToken string, topics []string) (credential, error) {
	const useConfig = "run publish with the server's config (--config FILE), or pass --token"
	switch {
	case flagToken != "":
		return credential{flagToken, "the server refused the publish token given with --token",
			"pass the server's publish token (publish_token in its config, or its token file), or a publisher JWT it accepts, e.g. `valksor-sse token --publish '*'` run with the server's config"}, nil
	case cfg.PublishToken != "":
		return credential{cfg.PublishToken, "the server refused the publish token of the config (publish_token)",
			"the server runs with another publish_token: " + useConfig}, nil
	case jwtOnly(cfg):
		tok, err := m.publisherJWT(cfg, topics)
		if err != nil {
			return credential{}, err
		}
		return credential{tok, "the server refused the publisher JWT signed with auth.publisher_key",
			"the server verifies tokens with other keys: " + useConfig}, nil
	}
	path := m.serverFile(cfg, cfg.TokenFile)
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
		return credential{strings.TrimSpace(string(b)), "the server refused the publish token in " + path,
			"that file belongs to another server, or the server now uses publish_token or JWT keys: " + useConfig}, nil
	}
	return credential{"", "the server wants a publish token, and none was found",
		fmt.Sprintf("publish_token is not set and there is no token file %s (here or in the directory of a valksor-sse listening on port %d); %s", path, cfg.Port, useConfig)}, nil
}
