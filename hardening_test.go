package sse_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/h2"
	"github.com/valksor/go-sse/internal/proctest"
)

// The tests in this file reproduce what a hostile or unlucky client could do
// to the hub, each as a user would see it over a real connection.

func TestTopicCap(t *testing.T) {
	_, srv := newHub(t, sse.WithMaxTopics(5))
	q := url.Values{}
	for i := range 6 {
		q.Add("topic", fmt.Sprint("t", i))
	}
	status, _, body := get(t, srv, "/sse?"+q.Encode(), nil)
	if status != 400 || !strings.Contains(body, "6 topics; the limit is 5") || !strings.Contains(body, "max_topics") {
		t.Fatalf("stream with 6 topics: %d %q", status, body)
	}
	status, _, body = post(t, srv, "/sse/publish", "application/json", `{"type":"x","topics":["a","b","c","d","e","f"]}`, bearer)
	if status != 400 || !strings.Contains(body, "6 topics; the limit is 5") {
		t.Fatalf("publish to 6 topics: %d %q", status, body)
	}
	// Duplicates count before they are dropped; five distinct topics pass.
	q = url.Values{"topic": {"a", "b", "c", "d", "a"}}
	s := open(t, srv, "/sse?"+q.Encode(), nil)
	status, _, body = post(t, srv, "/sse/publish", "application/json", `{"type":"x","topics":["d","d"]}`, bearer)
	if status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	if e := s.next(); e.Type != "x" {
		t.Fatalf("got %+v", e)
	}
}

func TestUnparsableQueryIsRefused(t *testing.T) {
	_, srv := newHub(t)
	// Over 10,000 parameters: Go's parser stops; the stream must not fall
	// back to the public channel without its topic and token.
	many := "topic=private&" + strings.Repeat("x=1&", 10_001)
	for _, q := range []string{many, "topic=a;b", "topic=%zz"} {
		status, _, body := get(t, srv, "/sse?"+q, nil)
		if status != 400 || !strings.Contains(body, "query string cannot be parsed") {
			t.Fatalf("query %.40q...: %d %q", q, status, body)
		}
	}
}

func TestReservedTypesAreRefused(t *testing.T) {
	hub, srv := newHub(t)
	for _, typ := range []string{"connected", "ping", "pong", "history-gap"} {
		status, _, body := post(t, srv, "/sse/publish", "application/json", `{"type":"`+typ+`"}`, bearer)
		if status != 400 || !strings.Contains(body, "reserved for the server's own events") {
			t.Fatalf("publish %s: %d %q", typ, status, body)
		}
		if err := hub.Broadcast(context.Background(), sse.Event{Type: typ}); err == nil {
			t.Fatalf("Broadcast of %s accepted", typ)
		}
	}
	for _, typ := range []string{"reload", "css-update"} {
		if status, _, body := post(t, srv, "/sse/publish", "application/json", `{"type":"`+typ+`"}`, bearer); status != 200 {
			t.Fatalf("publish %s: %d %q", typ, status, body)
		}
	}
}

func TestStrictPublishBodies(t *testing.T) {
	_, srv := newHub(t)
	var mp strings.Builder
	w := multipart.NewWriter(&mp)
	_ = w.WriteField("type", "x")
	fw, _ := w.CreateFormFile("data", "payload.bin")
	fmt.Fprint(fw, "file content")
	w.Close()
	var unknown strings.Builder
	w2 := multipart.NewWriter(&unknown)
	_ = w2.WriteField("type", "x")
	_ = w2.WriteField("upload", "y")
	w2.Close()
	for _, c := range []struct{ name, ct, body, want string }{
		{"upper-case key", "application/json", `{"type":"x","TYPE":"ping"}`, `unknown field "TYPE"`},
		{"mixed-case key", "application/json", `{"Type":"x"}`, `unknown field "Type"`},
		{"repeated key", "application/json", `{"type":"x","type":"y"}`, `field "type" appears twice`},
		{"not an object", "application/json", `["type"]`, "want a JSON object"},
		{"file part", w.FormDataContentType(), mp.String(), `part "data" is a file`},
		{"unknown multipart field", w2.FormDataContentType(), unknown.String(), `unknown form field "upload"`},
	} {
		status, _, body := post(t, srv, "/sse/publish", c.ct, c.body, bearer)
		if status != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %q, want 400 with %q", c.name, status, body, c.want)
		}
	}
}

// TestReusedIDIsRefused: a publisher's id that is still in the history is
// refused, so a client resuming from it gets exactly what followed it.
func TestReusedIDIsRefused(t *testing.T) {
	_, srv := newHub(t)
	pub := func(body string) (int, string) {
		status, _, b := post(t, srv, "/sse/publish", "application/json", body, bearer)
		return status, b
	}
	for _, body := range []string{`{"id":"dup","data":"e1"}`, `{"data":"e2"}`, `{"data":"e3"}`} {
		if status, b := pub(body); status != 200 {
			t.Fatalf("%s: %d %s", body, status, b)
		}
	}
	status, b := pub(`{"id":"dup","data":"e4"}`)
	if status != 409 || !strings.Contains(b, `event "dup"`) || !strings.Contains(b, "still in the history") {
		t.Fatalf("reused id: %d %q, want 409 saying why", status, b)
	}
	for _, id := range []string{"1796391977642-1", "earliest"} {
		if status, b := pub(`{"id":"` + id + `"}`); status != 400 || !strings.Contains(b, "form of the server's own ids") {
			t.Fatalf("id %s: %d %q", id, status, b)
		}
	}
	s := open(t, srv, "/sse", http.Header{"Last-Event-Id": {"dup"}})
	for _, want := range []string{"e2", "e3"} {
		if e := s.next(); e.Data != want {
			t.Fatalf("resume from dup: got %+v, want %s", e, want)
		}
	}
}

// TestResumeFromUnknownIDGetsEverything: an id the server cannot place (a
// publisher's id from before a restart, a Mercure urn:uuid, a future
// cursor) gets history-gap and then everything retained, never silence.
func TestResumeFromUnknownIDGetsEverything(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		// Before the restart: an event with the publisher's id order-42.
		before, _ := newHub(t, mode)
		if _, err := before.Publish(context.Background(), sse.Event{ID: "order-42", Type: "custom"}); err != nil {
			t.Fatal(err)
		}
		// After it: a new hub knows nothing of order-42.
		hub, srv := newHub(t, mode)
		if _, err := hub.Publish(context.Background(), sse.Event{Type: "custom", Data: `{"n":4}`}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"order-42", "urn:uuid:0d3f5e1c-1111-4222-8333-444455556666", "99999999999999-0"} {
			s := open(t, srv, "/sse", http.Header{"Last-Event-Id": {id}})
			if e := s.next(); e.Type != sse.TypeHistoryGap {
				t.Fatalf("%s: first event %+v, want history-gap", id, e)
			}
			if e := s.next(); e.Data != `{"n":4}` {
				t.Fatalf("%s: got %+v, want the retained event", id, e)
			}
		}
	})
}

// TestFreshStreamLearnsAnID: connected carries the id of where the stream
// starts, so a client that received nothing else reconnects with a
// Last-Event-ID and gets exactly what was published while it was away.
func TestFreshStreamLearnsAnID(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode)
		ctx := context.Background()
		// A new hub: nothing published yet, still an id.
		s := open(t, srv, "/sse", nil)
		if s.firstID == "" {
			t.Fatal("connected carries no id on a new hub")
		}
		if _, err := hub.Publish(ctx, sse.Event{Type: "n", Data: "1"}); err != nil {
			t.Fatal(err)
		}
		s2 := open(t, srv, "/sse", nil)
		if s2.firstID == "" || s2.firstID == s.firstID {
			t.Fatalf("connected ids %q then %q, want the newer position", s.firstID, s2.firstID)
		}
		// While away: two events. Resuming from connected's id gets them.
		var newest string
		for _, d := range []string{"2", "3"} {
			id, err := hub.Publish(ctx, sse.Event{Type: "n", Data: d})
			if err != nil {
				t.Fatal(err)
			}
			newest = id
		}
		r := open(t, srv, "/sse", http.Header{"Last-Event-Id": {s2.firstID}})
		for _, want := range []string{"2", "3"} {
			if e := r.next(); e.Data != want {
				t.Fatalf("resume from connected's id: got %+v, want %s", e, want)
			}
		}
		// A replay filtered to nothing still moves the client's id on to
		// where live delivery starts, so that it does not resume from the
		// same old id again: the next event without an id of its own (a
		// pong) carries it.
		f := open(t, srv, "/sse?topic=other", http.Header{"Last-Event-Id": {s2.firstID}})
		if status, _, body := post(t, srv, "/sse/ping", "application/x-www-form-urlencoded", "id="+f.connID, nil); status != http.StatusNoContent {
			t.Fatalf("ping: %d %s", status, body)
		}
		if e := f.next(); e.Type != sse.TypePong || e.ID != newest {
			t.Fatalf("after a filtered replay: %+v, want a pong with the last event id %s", e, newest)
		}
	})
}

// TestStreamOutlivesServerTimeouts: a server with short idle and read
// timeouts closes an idle keep-alive connection and a trickled request
// body, while an open stream (HTTP/1.1 hijacked, HTTP/1.1 from its handler,
// HTTP/2 from net/http's server and detached by package h2's) outlives both
// and still receives what is published after them.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	for _, mode := range []string{"hijacked", "handler", "h2", "h2-detached"} {
		t.Run(mode, func(t *testing.T) {
			hub, err := sse.New(sse.WithPublishToken(token), sse.WithPingInterval(0), sse.WithHijack(mode == "hijacked"))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(hub.Handler())
			srv.Config.ReadTimeout = 300 * time.Millisecond
			srv.Config.IdleTimeout = 300 * time.Millisecond
			tlsMode := strings.HasPrefix(mode, "h2")
			if mode == "h2-detached" {
				(&h2.Server{}).Configure(srv.Config)
			}
			if tlsMode {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(func() { hub.Shutdown(context.Background()); srv.Close() })
			s := open(t, srv, "/sse", nil)
			if tlsMode && s.resp.ProtoMajor != 2 {
				t.Fatalf("stream over %s, want HTTP/2", s.resp.Proto)
			}
			addr := srv.Listener.Addr().String()
			// An idle keep-alive connection is closed by the server.
			idle := dialRaw(t, addr, tlsMode)
			fmt.Fprintf(idle, "GET /sse/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			proctest.AwaitClosed(t, idle, "an idle keep-alive connection")
			// So is a request whose body trickles in.
			slow := dialRaw(t, addr, tlsMode)
			fmt.Fprintf(slow, "POST /sse/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", token)
			proctest.AwaitClosed(t, slow, "a trickled request body")
			// The stream lived through both and still gets events.
			if _, err := hub.Publish(context.Background(), sse.Event{Type: "after"}); err != nil {
				t.Fatal(err)
			}
			if e := s.next(); e.Type != "after" {
				t.Fatalf("got %+v, want the event published after the timeouts", e)
			}
		})
	}
}

// dialRaw opens a plain or TLS connection to addr.
func dialRaw(t *testing.T, addr string, useTLS bool) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPanickingHookReleasesStream: a panic in a stream's Opened hook
// reaches net/http as a handler's panic (which it recovers from, closing
// the connection), also when the stream is opened off the handler's
// goroutine, and the stream's slot and registration are released.
func TestPanickingHookReleasesStream(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, err := sse.New(mode, sse.WithPingInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hub.ServeStream(w, r, sse.StreamRequest{
				Topics: []string{"news"},
				Opened: func(http.Header, string, bool) { panic("hook failed") },
			})
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.Start()
		t.Cleanup(srv.Close)
		resp, err := srv.Client().Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("the request got %s, want the connection closed by the recovered panic", resp.Status)
		}
		if n := hub.Stats().Connections; n != 0 {
			t.Fatalf("%d streams still counted after the hook panicked", n)
		}
		if c := hub.Clients(); len(c) != 0 {
			t.Fatalf("%d streams still registered after the hook panicked", len(c))
		}
	})
}
