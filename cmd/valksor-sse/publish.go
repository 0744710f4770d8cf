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

// publishFlags are the flags of publish.
type publishFlags struct {
	common configFlags
	typ    string
	data   string
	raw    bool
	id     string
	retry  time.Duration
	token  string
	url    string
	topics stringList
}

func (f *publishFlags) register(fs *flagSet) {
	f.common.register(fs, roleClient)
	fs.StringVar(&f.typ, "type", "", "event `type` (or give it as the argument)")
	fs.StringVar(&f.data, "data", "", "event data as `JSON` (default {} ; {\"files\":[]} for reload and css-update)")
	fs.BoolVar(&f.raw, "raw", false, "send --data as plain text instead of checking it is JSON")
	fs.StringVar(&f.id, "id", "", "event `ID` (default: assigned by the server)")
	fs.DurationVar(&f.retry, "retry", 0, "reconnection hint sent with the event, e.g. 3s")
	fs.StringVar(&f.token, "token", "", "publish `token` or publisher JWT (default: config publish_token; with JWT keys, a JWT signed with auth.publisher_key; else the token file)")
	fs.StringVar(&f.url, "url", "", "server `URL` with base path, e.g. http://localhost:8080/sse (default: from the config)")
	fs.Var(&f.topics, "topic", "`topic` to publish to (repeatable; default: the public channel)")
}

// publish publishes one event to the server of the config and prints its id.
func (m *Main) publish(ctx context.Context, args []string) error {
	var f publishFlags
	fs := m.newFlagSet("publish", "publish [TYPE] [flags]", `Publishes one event to a running server and prints its id.

Examples:
  valksor-sse publish reload
  valksor-sse publish css-update --port 18080 --data '{"files":["app.css"]}'
  valksor-sse publish --type custom-event --data '{"a":1}' --topic orders`)
	f.register(fs)
	if err := fs.parse(args, 1); err != nil {
		return err
	}
	if a := fs.arguments(); len(a) == 1 {
		if f.typ != "" && f.typ != a[0] {
			return usageError{fmt.Sprintf("publish got two event types, %q and --type %q; give one", a[0], f.typ)}
		}
		f.typ = a[0]
	}
	if f.typ == "" {
		return usageError{"publish needs an event type: valksor-sse publish reload, or --type custom-event"}
	}
	e, err := f.event()
	if err != nil {
		return err
	}
	cfg, err := m.load(f.common)
	if err != nil {
		return err
	}
	p := &client.Publisher{URL: f.url, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: m.localTransport(cfg)}}
	if p.URL == "" {
		p.URL = m.baseURL(cfg)
	}
	cred, err := m.publishCredential(cfg, f.token, f.topics)
	if err != nil {
		return err
	}
	p.Token = cred.token
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	eventID, err := p.Publish(ctx, e)
	if err != nil {
		return publishError(err, p.URL, cred)
	}
	fmt.Fprintln(m.Stdout, eventID)
	return nil
}

// event is the event the flags describe.
func (f *publishFlags) event() (sse.Event, error) {
	e := sse.Event{Type: f.typ, ID: f.id, Topics: f.topics, Retry: f.retry}
	switch {
	case f.data == "" && (f.typ == sse.TypeReload || f.typ == sse.TypeCSSUpdate):
		e.Data = json.RawMessage(`{"files":[]}`)
	case f.data == "":
	case f.raw:
		e.Data = f.data
	default:
		if !json.Valid([]byte(f.data)) {
			return e, usageError{fmt.Sprintf("--data is not valid JSON: %.60q; quote it for the shell ('{\"a\":1}') or pass --raw to send plain text", f.data)}
		}
		e.Data = json.RawMessage(f.data)
	}
	return e, nil
}

// publishError explains a failed publish.
func publishError(err error, url string, cred credential) error {
	var se *client.Error
	switch {
	case errors.Is(err, client.ErrUnreachable) && strings.Contains(err.Error(), "connection refused"):
		return fmt.Errorf("no valksor-sse server answers at %s (connection refused); start it with `valksor-sse serve`, or pass --url or --port", url)
	case errors.Is(err, client.ErrUnreachable):
		return fmt.Errorf("%w; check --url, or --host and --port", err)
	case errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%s (%s); %s", cred.refused, se.Message, cred.advice)
	}
	return err
}
