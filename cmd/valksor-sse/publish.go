package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
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
	token := fs.String("token", "", "publish `token` (default: config publish_token, then the token file)")
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
	p := &client.Publisher{URL: *url, Token: *token, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: m.localTransport(cfg)}}
	if p.URL == "" {
		p.URL = baseURL(cfg)
	}
	if p.Token == "" {
		p.Token = m.readToken(cfg)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	eventID, err := p.Publish(ctx, e)
	if err != nil {
		var se *client.Error
		switch {
		case errors.Is(err, client.ErrUnreachable):
			return fmt.Errorf("no valksor-sse server answers at %s; start it with `valksor-sse serve` (or pass --url/--port): %w", p.URL, err)
		case errors.As(err, &se) && se.StatusCode == 401:
			return fmt.Errorf("the server refused the publish token (%s); run publish from the server's directory so it finds %s, or pass --token", se.Message, cfg.TokenFile)
		}
		return err
	}
	fmt.Fprintln(m.Stdout, eventID)
	return nil
}
