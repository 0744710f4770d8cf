package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valksor/go-sse/internal/wire"
)

// Event is one event read from a stream.
type Event struct {
	// ID is the stream's last event id after this event (an event without an
	// id field keeps the previous one, as in a browser).
	ID string
	// Type is the event type; "message" when the server sent none.
	Type string
	// Data is the event's data, lines joined with "\n".
	Data string
}

// ErrStopped is returned by Run when the server answered 204 No Content,
// which tells clients to stop reconnecting.
var ErrStopped = errors.New("client: server asked the client to stop reconnecting (204)")

// Subscriber reads a hub's stream and reconnects when it ends, sending the
// last event id so nothing is missed. Configure the fields, then call Run.
// A Subscriber must not be used by two Runs at once.
type Subscriber struct {
	// URL is the stream URL, for example "http://localhost:8080/sse".
	URL string
	// Topics are added to the URL as topic parameters.
	Topics []string
	// LastEventID, when set, resumes after that event on the first
	// connection. Run updates it as events arrive.
	LastEventID string
	// Header holds extra request headers (for example Authorization).
	Header http.Header
	// HTTPClient is used for requests; nil means a client without timeout
	// (a stream is long-lived).
	HTTPClient *http.Client
	// MaxBackoff caps the wait between failed connection attempts (default
	// 30s). The first wait is the server's retry hint (default 1s).
	MaxBackoff time.Duration
	// OnConnect, when set, is called with each successful response before
	// its events are read.
	OnConnect func(*http.Response)
	// OnDisconnect, when set, is called when a connection attempt fails or
	// an open stream ends, with why (an error wrapping ErrUnreachable, an
	// *Error for a 5xx answer, or the read error of a broken stream),
	// before Run waits to try again. It is not called when Run returns.
	OnDisconnect func(err error)
}

// Run connects and calls fn for every event, in order, until ctx ends, fn
// returns an error (Run returns it), the server answers 204, or the server
// answers with a 4xx error (returned as *Error, which a retry would not fix).
// Dropped connections, 5xx answers and network errors are retried with
// backoff.
func (s *Subscriber) Run(ctx context.Context, fn func(Event) error) error {
	retry := time.Second
	maxBackoff := s.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 30 * time.Second
	}
	failures := 0
	for {
		got, r, err := s.once(ctx, fn)
		if r > 0 {
			retry = r
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		if s.OnDisconnect != nil {
			s.OnDisconnect(err)
		}
		if got {
			failures = 0
		} else {
			failures++
		}
		wait := retry
		for i := 1; i < failures && wait < maxBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// stopError marks errors that end Run.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

// once makes one connection. It reports whether the connection succeeded and
// the last retry hint seen.
func (s *Subscriber) once(ctx context.Context, fn func(Event) error) (bool, time.Duration, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return false, 0, &stopError{fmt.Errorf("client: bad stream URL %q: %w", s.URL, err)}
	}
	if len(s.Topics) > 0 {
		q := u.Query()
		for _, t := range s.Topics {
			q.Add("topic", t)
		}
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, 0, &stopError{err}
	}
	for k, v := range s.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if s.LastEventID != "" {
		req.Header.Set("Last-Event-ID", s.LastEventID)
	}
	hc := s.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, 0, unreachable(s.URL, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return false, 0, &stopError{ErrStopped}
	case resp.StatusCode/100 == 4:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return false, 0, &stopError{&Error{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(b))}}
	case resp.StatusCode != http.StatusOK:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return false, 0, &Error{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, 0, &stopError{fmt.Errorf("client: %s answered with Content-Type %q, not an event stream", s.URL, ct)}
	}
	if s.OnConnect != nil {
		s.OnConnect(resp)
	}
	p := wire.NewParser(resp.Body)
	p.SetLastEventID(s.LastEventID)
	for {
		e, err := p.Next()
		s.LastEventID = p.LastEventID()
		if err != nil {
			return true, p.Retry(), err
		}
		if err := fn(Event{ID: e.ID, Type: e.Type, Data: e.Data}); err != nil {
			return true, p.Retry(), &stopError{err}
		}
	}
}
