package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/valksor/go-sse/internal/proctest"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
)

func delivery(id, typ, data string, private bool, receivers int, topics ...string) sse.Delivery {
	if len(topics) == 0 {
		topics = []string{sse.DefaultTopic}
	}
	return sse.Delivery{
		Message:   &sse.Message{ID: id, Type: typ, Data: data, Topics: topics, Private: private},
		Bytes:     len(data) + 20,
		Receivers: receivers,
	}
}

func TestObserveLeavesOutTheDashboardTopicAndPrivateData(t *testing.T) {
	d := New(Options{})
	d.Observe(delivery("1-0", "order", `{"id":1}`, false, 3, "orders"))
	d.Observe(delivery("2-0", TypeStats, `{}`, false, 1, Topic))
	d.Observe(delivery("3-0", "secret", `{"card":"4111"}`, true, 1, "orders"))
	d.Observe(delivery("4-0", "", strings.Repeat("é", 400), false, 0))
	d.Observe(sse.Delivery{}) // no message: ignored

	if got := d.events.Load(); got != 3 {
		t.Errorf("events = %d, want 3 (the dashboard's own left out)", got)
	}
	if got := d.deliveries.Load(); got != 4 {
		t.Errorf("deliveries = %d, want 4", got)
	}
	entries, skipped := d.takeTail()
	if len(entries) != 3 || skipped != 0 {
		t.Fatalf("tail = %+v (skipped %d), want 3 entries", entries, skipped)
	}
	if e := entries[0]; e.ID != "1-0" || e.Type != "order" || e.Fanout != 3 || e.Data != `{"id":1}` || e.Topics[0] != "orders" || e.Size != 28 {
		t.Errorf("entry 0 = %+v", e)
	}
	if e := entries[1]; e.Data != "" || !e.Private || e.Type != "secret" {
		t.Errorf("private entry = %+v, want no data", e)
	}
	if e := entries[2]; e.Type != "message" || !e.Truncated || len(e.Data) > previewBytes || !strings.HasPrefix(strings.Repeat("é", 400), e.Data) {
		t.Errorf("long entry: type %q truncated %v, %d bytes", e.Type, e.Truncated, len(e.Data))
	}
	if entries, _ := d.takeTail(); len(entries) != 0 {
		t.Errorf("tail not cleared: %d entries", len(entries))
	}
	if got := d.recentTail(); len(got) != 3 || got[0].ID != "1-0" || got[2].ID != "4-0" {
		t.Errorf("recent = %+v", got)
	}
}

func TestTailIsCoalesced(t *testing.T) {
	d := New(Options{TailBatch: 10})
	for range 1000 {
		d.Observe(delivery("x", "flood", "{}", false, 1))
	}
	entries, skipped := d.takeTail()
	if len(entries) != 10 || skipped != 990 {
		t.Fatalf("got %d entries, %d skipped; want 10 and 990", len(entries), skipped)
	}
	if got := d.recentTail(); len(got) != recentEvents {
		t.Fatalf("recent holds %d, want %d", len(got), recentEvents)
	}
}

// fakeHub counts the dashboard's calls; it has no viewers.
type fakeHub struct {
	mu        sync.Mutex
	counts    int
	published []sse.Event
	ticked    chan struct{}
}

func (f *fakeHub) Stats() sse.Stats          { return sse.Stats{Connections: 2} }
func (f *fakeHub) Clients() []sse.ClientInfo { return nil }
func (f *fakeHub) TopicCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts++
	if f.counts == 10 {
		close(f.ticked)
	}
	return map[string]int{sse.DefaultTopic: 2}
}
func (f *fakeHub) Health(context.Context) sse.Health { return sse.Health{Status: "ok"} }
func (f *fakeHub) BasePath() string                  { return "/" }
func (f *fakeHub) Publish(_ context.Context, e sse.Event) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, e)
	return "1-0", nil
}

func TestNothingIsPublishedWithoutViewers(t *testing.T) {
	h := &fakeHub{ticked: make(chan struct{})}
	d := New(Options{StatsInterval: 2 * time.Millisecond, TailInterval: time.Millisecond})
	d.Attach(h)
	if d.Path() != "/_dashboard" {
		t.Errorf("Path() = %q for base path /", d.Path())
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.Observe(delivery("1-0", "x", "{}", false, 2))
	<-h.ticked // ten ticks
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.published) != 0 {
		t.Fatalf("published %d events with nobody watching", len(h.published))
	}
	samples, latest := d.history()
	if len(samples) == 0 || latest == nil || latest.Streams != 2 {
		t.Fatalf("samples %+v: the chart is sampled even without viewers", samples)
	}
}

func TestStartAndClose(t *testing.T) {
	d := New(Options{})
	if err := d.Start(context.Background()); err == nil {
		t.Fatal("Start without a hub succeeded")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d.Attach(&fakeHub{ticked: make(chan struct{})})
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err == nil {
		t.Fatal("second Start succeeded")
	}
	cancel() // the goroutine ends with ctx; Close still waits and returns
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// live is a hub with a dashboard, served over HTTP.
type live struct {
	hub *sse.Hub
	d   *Dashboard
	srv *httptest.Server
}

func newLive(t *testing.T, opts Options, hubOpts ...sse.Option) *live {
	t.Helper()
	d := New(opts)
	hub, err := sse.New(append(hubOpts, sse.WithOnDeliver(d.Observe), sse.WithPingInterval(0))...)
	if err != nil {
		t.Fatal(err)
	}
	d.Attach(hub)
	mux := http.NewServeMux()
	hub.Register(mux)
	d.Register(mux)
	srv := httptest.NewServer(mux)
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
		srv.Close()
	})
	return &live{hub: hub, d: d, srv: srv}
}

// follow subscribes to topics and sends the events to a channel until the
// test ends. It returns once the stream is open.
func follow(t *testing.T, url string, topics ...string) <-chan client.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan client.Event, 1000)
	opened := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := &client.Subscriber{URL: url, Topics: topics, OnConnect: func(*http.Response) { once.Do(func() { close(opened) }) }}
		_ = s.Run(ctx, func(e client.Event) error {
			select {
			case events <- e:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not open")
	}
	return events
}

// next returns the data of the next event of type typ that satisfies ok.
func next[T any](t *testing.T, events <-chan client.Event, typ string, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type != typ {
				continue
			}
			var v T
			if err := json.Unmarshal([]byte(e.Data), &v); err != nil {
				t.Fatalf("%s data %q: %v", typ, e.Data, err)
			}
			if ok(v) {
				return v
			}
		case <-deadline:
			t.Fatalf("no matching %s event within 10s", typ)
		}
	}
}

func TestDashboardPublishesStatsAndTail(t *testing.T) {
	l := newLive(t, Options{StatsInterval: 50 * time.Millisecond, TailInterval: 10 * time.Millisecond})
	stream := l.srv.URL + "/sse"
	view := follow(t, stream, Topic)
	for range 3 {
		follow(t, stream, "orders")
	}
	follow(t, stream)

	st := next(t, view, TypeStats, func(s Stats) bool { return s.Streams == 4 })
	if st.Viewers != 1 || st.Topics["orders"] != 3 || st.Topics[sse.DefaultTopic] != 1 || st.Topics[Topic] != 0 {
		t.Errorf("stats %+v: want 1 viewer, 3 on orders, 1 on default, the dashboard topic left out", st)
	}
	if st.ClientsTotal != 4 || len(st.Clients) != 4 || st.Health != "ok" || st.Node != l.d.Node() || st.Max != sse.DefaultMaxConnections {
		t.Errorf("stats %+v", st)
	}
	for _, c := range st.Clients {
		if c.ID == "" || c.Remote == "" || c.Since == 0 || len(c.Topics) == 0 {
			t.Errorf("client %+v", c)
		}
	}

	ctx := context.Background()
	id, err := l.hub.Publish(ctx, sse.Event{Type: "order-shipped", Topics: []string{"orders"}, Data: map[string]int{"id": 42}})
	if err != nil {
		t.Fatal(err)
	}
	tail := next(t, view, TypeTail, func(e tailEvent) bool { return len(e.Entries) > 0 })
	e := tail.Entries[0]
	if len(tail.Entries) != 1 || e.ID != id || e.Type != "order-shipped" || e.Fanout != 3 || e.Data != `{"id":42}` || e.Size == 0 {
		t.Fatalf("tail %+v, want the one event with fan-out 3", tail)
	}
	for _, e := range tail.Entries {
		if e.Topics[0] == Topic {
			t.Fatal("the dashboard's own event is in the tail")
		}
	}
	st = next(t, view, TypeStats, func(s Stats) bool { return s.Events >= 1 })
	if st.Events != 1 || st.Deliveries != 3 {
		t.Errorf("events %d deliveries %d, want 1 and 3 (the dashboard's own left out)", st.Events, st.Deliveries)
	}
}

func TestPrivateDashboard(t *testing.T) {
	// Private dashboard events reach no stream without a grant.
	l := newLive(t, Options{Private: true, StatsInterval: 20 * time.Millisecond, TailInterval: 5 * time.Millisecond})
	view := follow(t, l.srv.URL+"/sse", Topic)
	proctest.Await(t, 10*time.Second, "the dashboard to publish while watched", func() bool { return l.hub.Stats().Published >= 2 })
	// The public page embeds none of the data either.
	l.hub.Publish(context.Background(), sse.Event{Type: "secret-order", Topics: []string{"orders"}})
	resp, err := http.Get(l.srv.URL + "/sse/_dashboard")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `"private":true`) || !strings.Contains(string(page), `"stats":null`) || strings.Contains(string(page), "secret-order") {
		t.Errorf("a private dashboard's page embeds its data:\n%s", page)
	}
	// A public marker published now arrives after anything published
	// before it: nothing before it may be the dashboard's.
	if _, err := l.hub.Publish(context.Background(), sse.Event{Type: "marker", Topics: []string{Topic}}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-view:
			switch e.Type {
			case TypeStats, TypeTail:
				t.Fatalf("a stream without a grant got %s", e.Type)
			case "marker":
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no marker")
		}
	}
}

func TestHandler(t *testing.T) {
	d := New(Options{Path: "/admin/live/", TokenRequired: true})
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest("GET", "/admin/live", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("before Attach: %d", rec.Code)
	}
	l := newLive(t, Options{Path: "/admin/live/", TokenRequired: true}, sse.WithBasePath("/events"))
	l.hub.Publish(context.Background(), sse.Event{Type: "before", Data: "</script><script>alert(1)</script>"})
	if l.d.Path() != "/admin/live" {
		t.Fatalf("Path() = %q", l.d.Path())
	}
	get := func(path string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", l.srv.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page := get("/admin/live")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("page: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{`src="/events/client.js"`, `href="/admin/live/app.css"`, `src="/admin/live/app.js"`, `content="$dashboard"`, `"tokenRequired":true`, `"base":"/events"`, `"type":"before"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("event data is not escaped in the page")
	}
	for _, f := range []struct{ path, ctype string }{{"/admin/live/app.js", "text/javascript"}, {"/admin/live/app.css", "text/css"}} {
		resp, body := get(f.path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), f.ctype) || body == "" {
			t.Errorf("%s: %d %s", f.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp, _ := get(f.path, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d", f.path, resp.StatusCode)
		}
	}
	// Compressed for clients that take gzip; plain for the others.
	for _, path := range []string{"/admin/live", "/admin/live/app.js"} {
		if resp, body := get(path, "Accept-Encoding", "gzip"); resp.Header.Get("Content-Encoding") != "gzip" || strings.Contains(body, "valksor") {
			t.Errorf("%s with Accept-Encoding gzip: %q", path, resp.Header.Get("Content-Encoding"))
		}
		if resp, body := get(path, "Accept-Encoding", "identity"); resp.Header.Get("Content-Encoding") != "" || !strings.Contains(body, "valksor") {
			t.Errorf("%s with Accept-Encoding identity: %q", path, resp.Header.Get("Content-Encoding"))
		}
	}
	if resp, _ := get("/admin/live/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown file: %d", resp.StatusCode)
	}
	post, err := http.Post(l.srv.URL+"/admin/live", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", post.StatusCode)
	}
}

func TestPageWeight(t *testing.T) {
	// The page stays small: HTML, script and stylesheet together, uncompressed.
	total := 0
	for _, name := range []string{"page/index.html", "page/app.js", "page/app.css"} {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
	}
	if total > 32<<10 {
		t.Fatalf("the page weighs %d bytes, over 32 KiB", total)
	}
	t.Logf("page: %d bytes", total)
}

func TestMemory(t *testing.T) {
	rss, heap, g := memory()
	if rss == 0 || heap == 0 || g == 0 {
		t.Fatalf("memory() = %d, %d, %d", rss, heap, g)
	}
}

func TestTopicIsValid(t *testing.T) {
	hub, err := sse.New(sse.WithPingInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown(context.Background())
	if _, err := hub.Publish(context.Background(), sse.Event{Type: TypeStats, Topics: []string{Topic}}); err != nil {
		t.Fatal(err)
	}
	// With an allowlist the topic must be listed (the server adds it).
	strict, err := sse.New(sse.WithPingInterval(0), sse.WithTopics("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Shutdown(context.Background())
	if _, err := strict.Publish(context.Background(), sse.Event{Topics: []string{Topic}}); !errors.Is(err, sse.ErrInvalidTopic) {
		t.Fatalf("publish to an unlisted dashboard topic: %v", err)
	}
}
