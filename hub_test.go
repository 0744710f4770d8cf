package sse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/internal/wire"
)

const token = "test-token"

// newHub starts a hub with a publish token behind a real listener.
func newHub(t *testing.T, opts ...sse.Option) (*sse.Hub, *httptest.Server) {
	t.Helper()
	opts = append([]sse.Option{sse.WithPublishToken(token), sse.WithPingInterval(0)}, opts...)
	hub, err := sse.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	return hub, srv
}

// eachMode runs f against a hub that hijacks HTTP/1.1 streams and against
// one that serves them from their handlers (the HTTP/2 path).
func eachMode(t *testing.T, f func(t *testing.T, mode sse.Option)) {
	t.Run("hijacked", func(t *testing.T) { f(t, sse.WithHijack(true)) })
	t.Run("handler", func(t *testing.T) { f(t, sse.WithHijack(false)) })
}

// stream is one open event stream read with the spec parser.
type stream struct {
	t       *testing.T
	resp    *http.Response
	p       *wire.Parser
	connID  string
	firstID string // the id the connected event carried
	events  chan wire.Event
	err     chan error
}

// open connects to the stream at path (query included) and waits for the
// connected event.
func open(t *testing.T, srv *httptest.Server, path string, header http.Header) *stream {
	t.Helper()
	return openWith(t, srv.Client(), srv.URL+path, header)
}

// openWith is open for any URL, with the client hc.
func openWith(t *testing.T, hc *http.Client, url string, header http.Header) *stream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &stream{t: t, resp: resp, p: wire.NewParser(resp.Body), events: make(chan wire.Event, 1024), err: make(chan error, 1)}
	go func() {
		for {
			e, err := s.p.Next()
			if err != nil {
				s.err <- err
				close(s.events)
				return
			}
			s.events <- e
		}
	}()
	first := s.next()
	if first.Type != sse.TypeConnected {
		t.Fatalf("first event is %q, want connected", first.Type)
	}
	var c struct{ ID string }
	if err := json.Unmarshal([]byte(first.Data), &c); err != nil || c.ID == "" {
		t.Fatalf("connected data %q has no id", first.Data)
	}
	s.connID, s.firstID = c.ID, first.ID
	return s
}

// next returns the next event, skipping heartbeats.
func (s *stream) next() wire.Event {
	s.t.Helper()
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream ended: %v", <-s.err)
			}
			if e.Type == sse.TypePing {
				continue
			}
			return e
		case <-time.After(10 * time.Second):
			s.t.Fatal("no event within 10s")
		}
	}
}

// ended waits for the server to close the stream.
func (s *stream) ended() error {
	s.t.Helper()
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return <-s.err
			}
		case <-time.After(10 * time.Second):
			s.t.Fatal("stream still open after 10s")
		}
	}
}

func post(t *testing.T, srv *httptest.Server, path, contentType, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var bearer = map[string]string{"Authorization": "Bearer " + token}

func TestStreamDeliversBroadcast(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode, sse.WithRetry(1500*time.Millisecond))
		s := open(t, srv, "/sse", nil)
		for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
			if got := s.resp.Header.Get(k); got != want {
				t.Errorf("header %s = %q, want %q", k, got, want)
			}
		}
		if s.p.Retry() != 1500*time.Millisecond {
			t.Errorf("retry hint = %v, want 1.5s", s.p.Retry())
		}
		id, err := hub.Publish(context.Background(), sse.Event{Type: "custom-notification", Data: map[string]string{"message": "Hello from server!"}})
		if err != nil {
			t.Fatal(err)
		}
		e := s.next()
		if e.Type != "custom-notification" || e.Data != `{"message":"Hello from server!"}` || e.ID != id {
			t.Fatalf("got %+v, want custom-notification with id %s", e, id)
		}
		if err := hub.Broadcast(context.Background(), sse.Reload()); err != nil {
			t.Fatal(err)
		}
		if e := s.next(); e.Type != "reload" || e.Data != `{"files":[]}` {
			t.Fatalf("reload arrived as %+v", e)
		}
	})
}

func TestTopics(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode)
		def := open(t, srv, "/sse", nil)
		a := open(t, srv, "/sse?topic=a", nil)
		ab := open(t, srv, "/sse?topic=a&topic=b", nil)
		ctx := context.Background()
		for _, e := range []sse.Event{
			{Type: "to-a", Topics: []string{"a"}},
			{Type: "to-b", Topics: []string{"b"}},
			{Type: "to-ab", Topics: []string{"a", "b"}},
			{Type: "to-default"},
			{Type: "end", Topics: []string{"a", "b", sse.DefaultTopic}},
		} {
			if err := hub.Broadcast(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			name string
			s    *stream
			want string
		}{
			{"default", def, "to-default end"},
			{"a", a, "to-a to-ab end"},
			{"a+b", ab, "to-a to-b to-ab end"},
		} {
			var got []string
			for {
				e := c.s.next()
				got = append(got, e.Type)
				if e.Type == "end" {
					break
				}
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("%s received %v, want %s", c.name, got, c.want)
			}
		}
	})
}

func TestResumeWithQueryAndHeader(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode)
		ctx := context.Background()
		var ids []string
		for i := range 5 {
			id, err := hub.Publish(ctx, sse.Event{Type: "n", Data: fmt.Sprint(i)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		q := open(t, srv, "/sse?lastEventID="+url.QueryEscape(ids[1]), nil)
		h := open(t, srv, "/sse?lastEventID="+url.QueryEscape(ids[0]), http.Header{"Last-Event-Id": {ids[3]}})
		for _, want := range []string{"2", "3", "4"} {
			if e := q.next(); e.Data != want {
				t.Fatalf("query resume: got %q, want %q", e.Data, want)
			}
		}
		if e := h.next(); e.Data != "4" {
			t.Fatalf("header resume (header wins over query): got %q, want 4", e.Data)
		}
		// Live events follow the replay without a gap or duplicate.
		if _, err := hub.Publish(ctx, sse.Event{Type: "n", Data: "5"}); err != nil {
			t.Fatal(err)
		}
		if e := q.next(); e.Data != "5" {
			t.Fatalf("after replay: got %q, want 5", e.Data)
		}
	})
}

func TestResumeCustomID(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode)
		ctx := context.Background()
		for _, id := range []string{"a-1", "a-2", "a-3"} {
			if _, err := hub.Publish(ctx, sse.Event{ID: id, Data: id}); err != nil {
				t.Fatal(err)
			}
		}
		s := open(t, srv, "/sse", http.Header{"Last-Event-Id": {"a-1"}})
		if e := s.next(); e.ID != "a-2" {
			t.Fatalf("got id %q, want a-2", e.ID)
		}
		if e := s.next(); e.ID != "a-3" {
			t.Fatalf("got id %q, want a-3", e.ID)
		}
	})
}

func TestResumeGapIsSignalled(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode, sse.WithHistorySize(5))
		ctx := context.Background()
		first, _ := hub.Publish(ctx, sse.Event{Data: "0"})
		for i := 1; i < 10; i++ {
			if _, err := hub.Publish(ctx, sse.Event{Data: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{first, "1-0", "never-sent"} {
			s := open(t, srv, "/sse", http.Header{"Last-Event-Id": {id}})
			if s.resp.Header.Get("X-Valksor-History-Gap") != "true" {
				t.Errorf("%s: no X-Valksor-History-Gap header", id)
			}
			e := s.next()
			if e.Type != sse.TypeHistoryGap || !strings.Contains(e.Data, id) {
				t.Fatalf("%s: first event %+v, want history-gap naming the id", id, e)
			}
		}
	})
}

func TestBadStreamRequests(t *testing.T) {
	_, srv := newHub(t, sse.WithTopics("orders/*"))
	for _, c := range []struct {
		name, path string
		header     http.Header
		status     int
		says       string
	}{
		{"newline in lastEventID", "/sse?lastEventID=1%0Aevent:x", nil, 400, "Last-Event-ID"},
		{"NUL in lastEventID", "/sse?lastEventID=a%00b", nil, 400, "Last-Event-ID"},
		{"huge Last-Event-ID", "/sse", http.Header{"Last-Event-Id": {strings.Repeat("9", 5000)}}, 400, "Last-Event-ID"},
		{"topic not allowed", "/sse?topic=users", nil, 400, "not in the configured topics"},
		{"empty topic", "/sse?topic=", nil, 400, "empty topic"},
		{"control char topic", "/sse?topic=a%01", nil, 400, "control character"},
		{"POST to the stream", "/sse", nil, 405, "GET"},
		{"unknown path", "/sse/nope", nil, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			method := http.MethodGet
			if c.status == 405 {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, srv.URL+c.path, nil)
			for k, v := range c.header {
				req.Header[k] = v
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(b), c.says) {
				t.Fatalf("got %d %q, want %d mentioning %q", resp.StatusCode, b, c.status, c.says)
			}
		})
	}
	// The allowed topics still work.
	open(t, srv, "/sse?topic=orders/7", nil)
}

func TestMaxConnections(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		_, srv := newHub(t, mode, sse.WithMaxConnections(2))
		open(t, srv, "/sse", nil)
		second := open(t, srv, "/sse", nil)
		resp, err := srv.Client().Get(srv.URL + "/sse")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("third stream: %d Retry-After=%q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		// A freed slot can be taken again.
		second.resp.Body.Close()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			resp, err := srv.Client().Get(srv.URL + "/sse")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("slot never freed after a stream closed")
	})
}

// TestMaxConnectionsMessage checks the wording of the refusal at the limit.
func TestMaxConnectionsMessage(t *testing.T) {
	for _, n := range []int{1, 2} {
		_, srv := newHub(t, sse.WithMaxConnections(n))
		for range n {
			open(t, srv, "/sse", nil)
		}
		resp, err := srv.Client().Get(srv.URL + "/sse")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("holds its limit of %d streams;", n)
		if n == 1 {
			want = "holds its limit of 1 stream;"
		}
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), want) {
			t.Errorf("max %d: %d %q, want 503 saying %q", n, resp.StatusCode, b, want)
		}
	}
}

func TestStreamTimeoutLosesNothing(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode, sse.WithStreamTimeout(300*time.Millisecond), sse.WithRetry(10*time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		connects := make(chan struct{}, 100)
		sub := &client.Subscriber{URL: srv.URL + "/sse"}
		got := make(chan string, 1000)
		go func() {
			_ = sub.Run(ctx, func(e client.Event) error {
				switch e.Type {
				case sse.TypeConnected:
					connects <- struct{}{}
				case "n":
					got <- e.Data
				}
				return nil
			})
		}()
		<-connects
		// Publish across several stream lifetimes: every event arrives once, in order.
		const n = 40
		go func() {
			for i := range n {
				_ = hub.Broadcast(ctx, sse.Event{Type: "n", Data: fmt.Sprint(i)})
				time.Sleep(25 * time.Millisecond)
			}
		}()
		for i := range n {
			select {
			case d := <-got:
				if d != fmt.Sprint(i) {
					t.Fatalf("event %d arrived as %q", i, d)
				}
			case <-ctx.Done():
				t.Fatalf("only %d of %d events arrived", i, n)
			}
		}
		if len(connects) < 1 {
			t.Fatal("the stream was never closed by its timeout")
		}
		select {
		case d := <-got:
			t.Fatalf("duplicate or extra event %q", d)
		default:
		}
	})
}

func TestSlowConsumerIsDroppedOthersUnaffected(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode, sse.WithQueueSize(8), sse.WithWriteTimeout(2*time.Second))
		// A client that opens a stream and never reads it.
		u, _ := url.Parse(srv.URL)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /sse HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host)
		fast := open(t, srv, "/sse", nil)
		waitFor(t, func() bool { return hub.Stats().Connections == 2 })

		// Publish in step with the fast client: it never falls behind, while
		// the slow one fills its socket buffers, then its queue.
		publishInStep(t, hub, fast, 300)
		waitFor(t, func() bool { return hub.Stats().Connections == 1 })
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHeartbeat(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		_, srv := newHub(t, mode, sse.WithPingInterval(30*time.Millisecond))
		s := open(t, srv, "/sse", nil)
		select {
		case e := <-s.events:
			var p struct{ Timestamp int64 }
			if e.Type != sse.TypePing || json.Unmarshal([]byte(e.Data), &p) != nil || time.Since(time.UnixMilli(p.Timestamp)) > time.Minute {
				t.Fatalf("got %+v, want a ping with a current timestamp", e)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no ping")
		}
	})
}

func TestPingPong(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		_, srv := newHub(t, mode)
		s := open(t, srv, "/sse", nil)
		other := open(t, srv, "/sse", nil)
		status, _, body := post(t, srv, "/sse/ping", "application/x-www-form-urlencoded", "id="+s.connID+"&nonce=n1", nil)
		if status != http.StatusNoContent {
			t.Fatalf("ping: %d %s", status, body)
		}
		e := s.next()
		if e.Type != sse.TypePong || !strings.Contains(e.Data, `"nonce":"n1"`) {
			t.Fatalf("got %+v, want pong with the nonce", e)
		}
		status, _, body = post(t, srv, "/sse/ping", "application/json", `{"id":"`+other.connID+`"}`, nil)
		if status != http.StatusNoContent || other.next().Type != sse.TypePong {
			t.Fatalf("JSON ping: %d %s", status, body)
		}
		if status, _, body := post(t, srv, "/sse/ping", "application/x-www-form-urlencoded", "id=nope", nil); status != 404 || !strings.Contains(body, "no open stream") {
			t.Fatalf("unknown id: %d %s", status, body)
		}
		if status, _, _ := post(t, srv, "/sse/ping", "application/x-www-form-urlencoded", "", nil); status != 400 {
			t.Fatalf("missing id: %d", status)
		}
	})
}

func TestPublishEndpoint(t *testing.T) {
	_, srv := newHub(t, sse.WithMaxBodyBytes(4096), sse.WithTopics("orders", "users/*"))
	s := open(t, srv, "/sse?topic=orders&topic="+sse.DefaultTopic, nil)

	status, _, body := post(t, srv, "/sse/publish", "application/json", `{"type":"custom-event","data":{"a":1},"topic":"orders"}`, bearer)
	var res struct{ ID string }
	if status != 200 || json.Unmarshal([]byte(body), &res) != nil || res.ID == "" {
		t.Fatalf("JSON publish: %d %s", status, body)
	}
	if e := s.next(); e.Type != "custom-event" || e.Data != `{"a":1}` || e.ID != res.ID {
		t.Fatalf("got %+v", e)
	}
	// Form publish, string data sent as is, custom id kept.
	status, _, body = post(t, srv, "/sse/publish", "application/x-www-form-urlencoded", "type=note&data=hello&id=my-1&topic=orders", bearer)
	if status != 200 || !strings.Contains(body, `"my-1"`) {
		t.Fatalf("form publish: %d %s", status, body)
	}
	if e := s.next(); e.Type != "note" || e.Data != "hello" || e.ID != "my-1" {
		t.Fatalf("got %+v", e)
	}
	// Line breaks in data stay data: no field can be injected.
	status, _, _ = post(t, srv, "/sse/publish", "application/json", `{"type":"t","data":"x\r\nevent: evil\r\nid: 666\n\ndata: y"}`, bearer)
	if status != 200 {
		t.Fatalf("multi-line data: %d", status)
	}
	if e := s.next(); e.Type != "t" || e.ID == "666" || e.Data != "x\nevent: evil\nid: 666\n\ndata: y" {
		t.Fatalf("injection attempt arrived as %+v", e)
	}

	for _, c := range []struct {
		name, ct, body string
		header         map[string]string
		status         int
		says           string
	}{
		{"no token", "application/json", `{"type":"x"}`, nil, 401, "Authorization"},
		{"wrong token", "application/json", `{"type":"x"}`, map[string]string{"Authorization": "Bearer nope"}, 401, "wrong"},
		{"basic auth", "application/json", `{"type":"x"}`, map[string]string{"Authorization": "Basic eDp5"}, 401, "Bearer"},
		{"malformed JSON", "application/json", `{"type":`, bearer, 400, "not a valid event"},
		{"unknown field", "application/json", `{"tpye":"x"}`, bearer, 400, "tpye"},
		{"two objects", "application/json", `{"type":"x"}{"type":"y"}`, bearer, 400, "one object"},
		{"empty body", "application/json", ``, bearer, 400, "empty"},
		{"id with newline", "application/json", `{"id":"a\nb"}`, bearer, 400, "id"},
		{"type with CR", "application/json", `{"type":"a\rb"}`, bearer, 400, "type"},
		{"type with NUL", "application/x-www-form-urlencoded", `type=a%00b`, bearer, 400, "type"},
		{"negative retry", "application/json", `{"retry":-1}`, bearer, 400, "retry"},
		{"topic not allowed", "application/json", `{"topic":"secret"}`, bearer, 400, "secret"},
		{"topic wrong type", "application/json", `{"topic":7}`, bearer, 400, "topic"},
		{"unknown form field", "application/x-www-form-urlencoded", `type=x&topics=a`, bearer, 400, "topics"},
		{"no content type", "", `{"type":"x"}`, bearer, 415, "Content-Type"},
		{"xml", "application/xml", `<x/>`, bearer, 415, "xml"},
		{"huge body", "application/json", `{"data":"` + strings.Repeat("a", 5000) + `"}`, bearer, 413, "max_body_bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := post(t, srv, "/sse/publish", c.ct, c.body, c.header)
			if status != c.status || !strings.Contains(body, c.says) {
				t.Fatalf("got %d %q, want %d mentioning %q", status, body, c.status, c.says)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// None of that disturbed the open stream.
	post(t, srv, "/sse/publish", "application/json", `{"type":"still-here","topic":"orders"}`, bearer)
	if e := s.next(); e.Type != "still-here" {
		t.Fatalf("after bad input the stream got %+v", e)
	}
}

func TestPublishDisabledWithoutToken(t *testing.T) {
	hub, err := sse.New(sse.WithPingInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.Handler())
	defer srv.Close()
	defer hub.Shutdown(context.Background())
	status, _, body := post(t, srv, "/sse/publish", "application/json", `{"type":"x"}`, nil)
	if status != 403 || !strings.Contains(body, "no publish token") {
		t.Fatalf("got %d %s", status, body)
	}
}

func TestCORS(t *testing.T) {
	_, srv := newHub(t, sse.WithAllowedOrigins("http://localhost:*", "https://*.example.com"))
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/sse/publish", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, origin := range []string{"http://localhost:3000", "https://app.example.com"} {
		resp := preflight(origin)
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
			resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("%s: preflight %d %v", origin, resp.StatusCode, resp.Header)
		}
	}
	for _, origin := range []string{"http://evil.test", "https://example.com.evil.test", "http://app.example.com"} {
		if resp := preflight(origin); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: preflight %d, want 403 without CORS headers", origin, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/sse/healthz", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("simple request: no CORS header")
	}
}

func TestCORSWildcardHasNoCredentials(t *testing.T) {
	_, srv := newHub(t, sse.WithAllowedOrigins("*"))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/sse/healthz", nil)
	req.Header.Set("Origin", "http://anything.test")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("wildcard CORS: %v", resp.Header)
	}
}

func TestHeadAndHealth(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode)
		resp, err := srv.Client().Head(srv.URL + "/sse")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("HEAD: %d %v", resp.StatusCode, resp.Header)
		}
		open(t, srv, "/sse", nil)
		if _, err := hub.Publish(context.Background(), sse.Event{}); err != nil {
			t.Fatal(err)
		}
		// Anyone learns the status, and nothing else.
		status, _, body := get(t, srv, "/sse/healthz", nil)
		if status != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
			t.Fatalf("public health: %d %s", status, body)
		}
		// The publish token shows the details.
		status, _, body = get(t, srv, "/sse/healthz", map[string]string{"Authorization": "Bearer " + token})
		var h sse.Health
		if err := json.Unmarshal([]byte(body), &h); err != nil || status != 200 {
			t.Fatalf("health with the token: %d %s (%v)", status, body, err)
		}
		if h.Status != "ok" || h.Connections != 1 || h.Published != 1 || !strings.HasPrefix(h.Transport, "memory") {
			t.Fatalf("health: %+v", h)
		}
		status, _, body = get(t, srv, "/sse/healthz", map[string]string{"Authorization": "Bearer wrong"})
		if status != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
			t.Fatalf("health with a wrong token: %d %s", status, body)
		}
	})
}

// get sends a GET with header to srv and returns the status, the headers
// and the body.
func get(t *testing.T, srv *httptest.Server, path string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestShutdown(t *testing.T) {
	hub, err := sse.New(sse.WithPingInterval(time.Hour), sse.WithAnonymousPublish())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.Handler())
	defer srv.Close()
	var streams []*stream
	for range 3 {
		streams = append(streams, open(t, srv, "/sse", nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 2 { // Shutdown may be called concurrently and twice.
		wg.Go(func() {
			if err := hub.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, s := range streams {
		if err := s.ended(); !errors.Is(err, io.EOF) {
			t.Errorf("stream %d ended with %v", i, err)
		}
		if s.p.Retry() != sse.ShutdownRetry {
			t.Errorf("stream %d: retry hint %v, want %v", i, s.p.Retry(), sse.ShutdownRetry)
		}
	}
	if err := hub.Broadcast(ctx, sse.Event{}); !errors.Is(err, sse.ErrHubClosed) {
		t.Errorf("Broadcast after Shutdown: %v", err)
	}
	resp, err := srv.Client().Get(srv.URL + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("stream after Shutdown: %d", resp.StatusCode)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]sse.Option{
		"negative ping":    sse.WithPingInterval(-1),
		"zero queue":       sse.WithQueueSize(0),
		"bad base path":    sse.WithBasePath("sse/"),
		"empty token":      sse.WithPublishToken(" "),
		"bad origin":       sse.WithAllowedOrigins("localhost"),
		"negative history": sse.WithHistorySize(-1),
		"nil transport":    sse.WithTransport(nil),
	} {
		if _, err := sse.New(opt); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestInvalidEventsFromGo(t *testing.T) {
	hub, _ := newHub(t)
	for name, e := range map[string]sse.Event{
		"id newline":    {ID: "a\nb"},
		"type NUL":      {Type: "a\x00"},
		"bad topic":     {Topics: []string{""}},
		"not JSON-able": {Data: func() {}},
		"neg retry":     {Retry: -time.Second},
	} {
		if err := hub.Broadcast(context.Background(), e); !errors.Is(err, sse.ErrInvalidEvent) && !errors.Is(err, sse.ErrInvalidTopic) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestClientsAndTopicCounts(t *testing.T) {
	var mu sync.Mutex
	var deliveries []sse.Delivery
	hub, srv := newHub(t, sse.WithOnDeliver(func(d sse.Delivery) {
		mu.Lock()
		deliveries = append(deliveries, d)
		mu.Unlock()
	}))
	a := open(t, srv, "/sse?topic=a", nil)
	open(t, srv, "/sse?topic=a&topic=b", nil)
	clients := hub.Clients()
	if len(clients) != 2 {
		t.Fatalf("Clients() = %+v", clients)
	}
	found := false
	for _, c := range clients {
		if c.ID == a.connID && c.Since.IsZero() == false && c.RemoteAddr != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("stream %s not among %+v", a.connID, clients)
	}
	if got := hub.TopicCounts(); got["a"] != 2 || got["b"] != 1 {
		t.Fatalf("TopicCounts() = %v", got)
	}
	if err := hub.Broadcast(context.Background(), sse.Event{Type: "x", Data: "12345", Topics: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	a.next()
	mu.Lock()
	defer mu.Unlock()
	if len(deliveries) != 1 || deliveries[0].Receivers != 2 || deliveries[0].Message.Type != "x" || deliveries[0].Bytes < 5 {
		t.Fatalf("deliveries %+v", deliveries)
	}
}

func TestServeStreamWithMatch(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, err := sse.New(mode, sse.WithPingInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/books", func(w http.ResponseWriter, r *http.Request) {
			hub.ServeStream(w, r, sse.StreamRequest{
				Match:       func(topic string) bool { return strings.HasPrefix(topic, "https://example.com/books/") },
				LastEventID: r.URL.Query().Get("lastEventID"),
				Grant:       &sse.Grant{Private: func(topic string) bool { return topic == "https://example.com/books/2" }},
			})
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(func() {
			_ = hub.Shutdown(context.Background()) // ends the streams, so srv.Close does not wait
			srv.Close()
		})
		ctx := context.Background()
		first, _ := hub.Publish(ctx, sse.Event{Type: "before", Topics: []string{"https://example.com/books/0"}})
		s := open(t, srv, "/books?lastEventID="+url.QueryEscape(first), nil)
		for _, e := range []sse.Event{
			{Type: "book-1", Topics: []string{"https://example.com/books/1"}},
			{Type: "author", Topics: []string{"https://example.com/authors/1"}},
			{Type: "secret-1", Topics: []string{"https://example.com/books/1"}, Private: true},
			{Type: "secret-2", Topics: []string{"https://example.com/books/2"}, Private: true},
			{Type: "end", Topics: []string{"https://example.com/books/9"}},
		} {
			if err := hub.Broadcast(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for {
			e := s.next()
			got = append(got, e.Type)
			if e.Type == "end" {
				break
			}
		}
		if strings.Join(got, " ") != "book-1 secret-2 end" {
			t.Fatalf("got %v", got)
		}
	})
}

// TestHandedOffStreamOutlivesWriteTimeout: a hijacked stream keeps working
// after its write timeout has passed (the deadline of a completed write must
// not fail later ones).
func TestHandedOffStreamOutlivesWriteTimeout(t *testing.T) {
	hub, srv := newHub(t, sse.WithWriteTimeout(50*time.Millisecond))
	s := open(t, srv, "/sse", nil)
	for i := range 3 {
		time.Sleep(120 * time.Millisecond) // let the write timeout pass, on purpose
		if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if e := s.next(); e.Type != "tick" || e.Data != fmt.Sprint(i) {
			t.Fatalf("after %d write timeouts the stream got %+v", i+1, e)
		}
	}
}

// TestServeStreamOpenedAndClosed: Opened sees the head before it is
// written, and Closed runs once when the stream ends, handed off or not.
func TestServeStreamOpenedAndClosed(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, err := sse.New(mode, sse.WithPingInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		closed := make(chan string, 2)
		var opened string
		mux := http.NewServeMux()
		mux.HandleFunc("/s", func(w http.ResponseWriter, r *http.Request) {
			hub.ServeStream(w, r, sse.StreamRequest{
				Topics: []string{"a"},
				Opened: func(h http.Header, id string, complete bool) {
					opened = id
					h.Set("X-Opened", fmt.Sprint(complete))
				},
				Closed: func(id string, _ error) { closed <- id },
			})
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(func() {
			_ = hub.Shutdown(context.Background())
			srv.Close()
		})
		s := open(t, srv, "/s", nil)
		if s.resp.Header.Get("X-Opened") != "true" || opened != s.connID {
			t.Fatalf("Opened: header %q, id %q, stream %q", s.resp.Header.Get("X-Opened"), opened, s.connID)
		}
		s.resp.Body.Close()
		select {
		case id := <-closed:
			if id != s.connID {
				t.Fatalf("Closed with %q, want %q", id, s.connID)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Closed not called after the client left")
		}
		select {
		case id := <-closed:
			t.Fatalf("Closed called twice (%q)", id)
		default:
		}
	})
}

// TestLastEventID: the hub reports the id of the newest event it handed to
// its streams, private ones included, and nothing before the first.
func TestLastEventID(t *testing.T) {
	hub, _ := newHub(t)
	if id := hub.LastEventID(); id != "" {
		t.Fatalf("LastEventID before any event = %q", id)
	}
	ctx := context.Background()
	for _, e := range []sse.Event{{Type: "a"}, {Type: "b", Topics: []string{"orders"}, Private: true}} {
		id, err := hub.Publish(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if got := hub.LastEventID(); got != id {
			t.Fatalf("LastEventID after %s = %q, want %q", e.Type, got, id)
		}
	}
}

// TestReloadWithoutData: a reload or css-update published from Go without
// data carries {"files":[]}, as over HTTP; other events carry {}.
func TestReloadWithoutData(t *testing.T) {
	hub, srv := newHub(t)
	s := open(t, srv, "/sse", nil)
	for _, typ := range []string{sse.TypeReload, sse.TypeCSSUpdate, "note"} {
		if err := hub.Broadcast(context.Background(), sse.Event{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{`{"files":[]}`, `{"files":[]}`, `{}`} {
		if e := s.next(); e.Data != want {
			t.Errorf("%s: data %s, want %s", e.Type, e.Data, want)
		}
	}
}

// publishInStep broadcasts n events of 64 KB, each once fast received the
// one before, so that fast never falls behind while clients that do not
// read fill their socket buffers and then their queues.
func publishInStep(t *testing.T, hub *sse.Hub, fast *stream, n int) {
	t.Helper()
	big := strings.Repeat("x", 64<<10)
	for i := range n {
		if err := hub.Broadcast(context.Background(), sse.Event{Type: "big", Data: fmt.Sprint(i) + big}); err != nil {
			t.Fatal(err)
		}
		e := fast.next()
		if !strings.HasPrefix(e.Data, fmt.Sprint(i)+"x") {
			t.Fatalf("fast client: event %d missing or out of order", i)
		}
	}
}
