package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
)

// ANSI styles of tail's colored output.
const (
	ansiDim    = "\x1b[2m"
	ansiType   = "\x1b[1;36m"
	ansiID     = "\x1b[33m"
	ansiAlert  = "\x1b[1;31m"
	ansiReset  = "\x1b[0m"
	tailLayout = "15:04:05.000"
)

// tailLine is one event as tail --json prints it.
type tailLine struct {
	Time string `json:"time"`
	Type string `json:"type"`
	ID   string `json:"id"`
	// Data is the event's data: JSON as it is when it parses, else a string.
	Data any `json:"data"`
}

// tailFlags are the flags of tail.
type tailFlags struct {
	common  configFlags
	types   stringList
	topics  stringList
	jsonOut bool
	all     bool
	color   string
	url     string
}

func (f *tailFlags) register(fs *flagSet) {
	f.common.register(fs, roleClient)
	fs.Var(&f.types, "type", "print only events of `type` (repeatable)")
	fs.Var(&f.topics, "topic", "follow `topic` (repeatable; default: the public channel)")
	fs.BoolVar(&f.jsonOut, "json", false, `print one JSON object per line: {"time", "type", "id", "data"}`)
	fs.BoolVar(&f.all, "all", false, "also print the connected, ping and pong events")
	fs.StringVar(&f.color, "color", "auto", "color the output: auto (when stdout is a terminal and NO_COLOR is unset), always or never")
	fs.StringVar(&f.url, "url", "", "server `URL` with base path, e.g. http://localhost:8080/sse (default: from the config)")
}

// tail follows the stream of the server of the config and prints its
// events until interrupted.
func (m *Main) tail(ctx context.Context, args []string) error {
	var f tailFlags
	fs := m.newFlagSet("tail", "tail [flags]", `Follows the stream and prints one line per event: time, type, id, data.
It reconnects and resumes by itself; Ctrl-C stops it.

Examples:
  valksor-sse tail
  valksor-sse tail --topic orders --type order-shipped
  valksor-sse tail --json | jq .data`)
	f.register(fs)
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	colored, err := m.colored(f.color)
	if err != nil {
		return err
	}
	cfg, err := m.load(f.common)
	if err != nil {
		return err
	}
	base := f.url
	if base == "" {
		base = m.baseURL(cfg)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	stream, err := url.Parse(base)
	if err != nil {
		return usageError{fmt.Sprintf("--url %q: %v", base, err)}
	}
	// tail shows css-update events as they are published: without this
	// the hub would send them as reloads, for clients that know only those.
	q := stream.Query()
	q.Add("supports", sse.TypeCSSUpdate)
	stream.RawQuery = q.Encode()
	st := &tailState{m: m, url: base}
	sub := &client.Subscriber{URL: stream.String(), Topics: f.topics, MaxBackoff: 5 * time.Second, HTTPClient: &http.Client{Transport: m.localTransport(cfg)},
		OnConnect: st.connected, OnDisconnect: st.disconnected}
	err = sub.Run(ctx, func(e client.Event) error {
		if e.Type == sse.TypeHistoryGap {
			st.gap(e)
		}
		if !f.all && (e.Type == sse.TypeConnected || e.Type == sse.TypePing || e.Type == sse.TypePong) {
			return nil
		}
		if len(f.types) > 0 && !slices.Contains(f.types, e.Type) {
			return nil
		}
		return m.printEvent(time.Now(), e, f.jsonOut, colored)
	})
	var ce *client.Error
	switch {
	case ctx.Err() != nil:
		return nil // interrupted: the normal way to stop
	case errors.As(err, &ce):
		return fmt.Errorf("the server refused the stream at %s: %s", base, ce.Message)
	}
	return err
}

// colored decides whether tail colors its output, from --color.
func (m *Main) colored(color string) (bool, error) {
	switch color {
	case "auto":
		return m.getenv("NO_COLOR") == "" && isTerminal(m.Stdout), nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, usageError{fmt.Sprintf("--color %q: want auto, always or never", color)}
}

// printEvent writes e as one line.
func (m *Main) printEvent(now time.Time, e client.Event, asJSON, colored bool) error {
	if asJSON {
		l := tailLine{Time: now.Format(time.RFC3339Nano), Type: e.Type, ID: e.ID, Data: e.Data}
		if json.Valid([]byte(e.Data)) {
			l.Data = json.RawMessage(e.Data)
		}
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		_, err = m.Stdout.Write(append(b, '\n'))
		return err
	}
	data := strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(e.Data)
	id := e.ID
	if id == "" {
		id = "-"
	}
	var line string
	if colored {
		style := ansiType
		if e.Type == sse.TypeHistoryGap {
			style = ansiAlert
		}
		line = ansiDim + now.Format(tailLayout) + ansiReset + " " + style + e.Type + ansiReset + " " + ansiID + id + ansiReset + " " + data + "\n"
	} else {
		line = now.Format(tailLayout) + " " + e.Type + " " + id + " " + data + "\n"
	}
	_, err := io.WriteString(m.Stdout, line)
	return err
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// tailState tells the user on stderr when the stream connects, breaks and
// resumes, once per outage.
type tailState struct {
	m   *Main
	url string

	mu       sync.Mutex
	everUp   bool
	reported bool // the current outage was reported
}

func (s *tailState) connected(resp *http.Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reported = false
	if !s.everUp {
		s.everUp = true
		fmt.Fprintf(s.m.Stderr, "tail: following %s (Ctrl-C to stop)\n", resp.Request.URL)
		return
	}
	fmt.Fprintf(s.m.Stderr, "tail: reconnected to %s; resuming after %s\n", s.url, orDash(resp.Request.Header.Get("Last-Event-ID")))
}

// disconnected reports an outage, once.
func (s *tailState) disconnected(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reported {
		return
	}
	s.reported = true
	var ue *url.Error
	var se *client.Error
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(s.m.Stderr, "tail: cannot reach %s (%v); retrying\n", s.url, ue.Err)
	case errors.As(err, &se):
		fmt.Fprintf(s.m.Stderr, "tail: %s answered %d %s; retrying\n", s.url, se.StatusCode, http.StatusText(se.StatusCode))
	default:
		fmt.Fprintln(s.m.Stderr, "tail: connection lost; reconnecting")
	}
}

// gap explains a history-gap event.
func (s *tailState) gap(e client.Event) {
	var d struct {
		LastEventID string `json:"last_event_id"`
	}
	_ = json.Unmarshal([]byte(e.Data), &d)
	fmt.Fprintf(s.m.Stderr, "tail: the server's history does not reach back to %s (did it restart?): events published since it started are shown, earlier ones it no longer has\n", orDash(d.LastEventID))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
