package ratelimit_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valksor/go-sse/ratelimit"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func isStream(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == "/sse" }
func isPublish(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/sse/publish"
}

func mustProxies(t *testing.T, list ...string) []netip.Prefix {
	t.Helper()
	p, err := ratelimit.ParseTrustedProxies(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLimitClientIP(t *testing.T) {
	l, err := ratelimit.New(ratelimit.Config{TrustedProxies: mustProxies(t, "10.0.0.0/8", "192.0.2.1", "2001:db8::/32")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"peer", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"untrusted peer's header ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer without header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"trusted peer", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed entries on the left", "10.1.2.3:5000", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies", "192.0.2.1:80", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several headers", "10.1.2.3:5000", []string{"6.6.6.6", "198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"all trusted", "10.1.2.3:5000", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"garbage stops at the last trusted hop", "10.1.2.3:5000", []string{"198.51.100.1, garbage, 10.0.0.7"}, "10.0.0.7"},
		{"hop with port", "10.1.2.3:5000", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"bracketed IPv6 hop", "10.1.2.3:5000", []string{"[2001:db9::1]:4711"}, "2001:db9::1"},
		{"IPv6 peer", "[2001:db8::5]:443", []string{"2001:db9::7"}, "2001:db9::7"},
		{"mapped IPv4", "[::ffff:10.1.2.3]:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"not an IP", "@", []string{"198.51.100.1"}, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/sse", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := l.ClientIP(r).String(); got != tt.want {
				t.Fatalf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := ratelimit.ParseTrustedProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("bad CIDR accepted")
	}
}

// get sends a request to srv with the given X-Forwarded-For and bearer token.
func get(t *testing.T, srv *httptest.Server, method, path, xff, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func ok(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }

func TestLimitStreamRate(t *testing.T) {
	clk := newClock()
	var limited []ratelimit.Limit
	var mu sync.Mutex
	l, err := ratelimit.New(ratelimit.Config{
		StreamsPerSecond: 1, StreamBurst: 2, IsStream: isStream, Now: clk.Now,
		TrustedProxies: mustProxies(t, "127.0.0.1"),
		OnLimit: func(r *http.Request, lim ratelimit.Limit) {
			mu.Lock()
			limited = append(limited, lim)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler(http.HandlerFunc(ok)))
	defer srv.Close()
	for i := range 2 {
		if resp, body := get(t, srv, "GET", "/sse", "198.51.100.1", ""); resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := get(t, srv, "GET", "/sse", "198.51.100.1", "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(body, "too many new streams from 198.51.100.1: the limit is 1 per second") ||
		!strings.Contains(body, "limits.streams_per_second") {
		t.Fatalf("over the burst: %d %q %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// Another client and other paths are not affected.
	if resp, _ := get(t, srv, "GET", "/sse", "198.51.100.2", ""); resp.StatusCode != 200 {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv, "GET", "/sse/healthz", "198.51.100.1", ""); resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
	clk.advance(time.Second)
	if resp, _ := get(t, srv, "GET", "/sse", "198.51.100.1", ""); resp.StatusCode != 200 {
		t.Fatalf("after a second: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(limited) != 1 || limited[0] != ratelimit.StreamRate {
		t.Fatalf("OnLimit calls: %v", limited)
	}
}

func TestLimitStreamsPerClient(t *testing.T) {
	entered := make(chan struct{})
	finish := make(chan struct{})
	kept := make(chan func(), 1)
	l, err := ratelimit.New(ratelimit.Config{StreamsPerClient: 2, IsStream: isStream})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isStream(r) {
			return
		}
		if r.URL.Query().Get("keep") != "" {
			kept <- ratelimit.Keep(r.Context()) // like a hijacked stream: the slot outlives the handler
			return
		}
		entered <- struct{}{}
		<-finish
	})))
	defer srv.Close()
	defer close(finish)

	results := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := srv.Client().Get(srv.URL + "/sse")
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
		<-entered
	}
	if got := l.Stats(); got.Clients != 1 || got.Streams != 2 {
		t.Fatalf("stats with two streams: %+v", got)
	}
	resp, body := get(t, srv, "GET", "/sse", "", "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "too many open streams from 127.0.0.1: the limit is 2") {
		t.Fatalf("third stream: %d %q", resp.StatusCode, body)
	}
	// Publishing and other requests still work.
	if resp, _ := get(t, srv, "POST", "/sse/publish", "", ""); resp.StatusCode != 200 {
		t.Fatalf("publish while the client is at its stream cap: %d", resp.StatusCode)
	}
	finish <- struct{}{}
	<-results
	finish <- struct{}{}
	<-results
	if got := l.Stats(); got.Clients != 0 || got.Streams != 0 {
		t.Fatalf("stats after the streams ended: %+v", got)
	}

	// A kept slot stays taken after the handler returned, until released.
	if resp, _ := get(t, srv, "GET", "/sse?keep=1", "", ""); resp.StatusCode != 200 {
		t.Fatalf("kept stream: %d", resp.StatusCode)
	}
	release := <-kept
	if got := l.Stats(); got.Streams != 1 {
		t.Fatalf("kept slot not held: %+v", got)
	}
	release()
	release() // twice is harmless
	if got := l.Stats(); got.Streams != 0 {
		t.Fatalf("kept slot not released: %+v", got)
	}
}

// TestKeepSlot: a slot taken over with KeepSlot stays taken after the
// handler returned, counts against the client's cap, and is given back by
// its first Release; KeepSlot allocates nothing.
func TestKeepSlot(t *testing.T) {
	type kept struct {
		slot   ratelimit.Slot
		allocs float64
	}
	slots := make(chan kept, 1)
	l, err := ratelimit.New(ratelimit.Config{StreamsPerClient: 2, IsStream: isStream})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isStream(r) {
			ratelimit.KeepSlot(r.Context()).Release() // no slot: the zero Slot, whose Release does nothing
			return
		}
		allocs := testing.AllocsPerRun(10, func() { ratelimit.KeepSlot(r.Context()) })
		slots <- kept{ratelimit.KeepSlot(r.Context()), allocs}
	})))
	defer srv.Close()

	var held []ratelimit.Slot
	for range 2 {
		if resp, _ := get(t, srv, "GET", "/sse", "", ""); resp.StatusCode != 200 {
			t.Fatalf("kept stream: %d", resp.StatusCode)
		}
		k := <-slots
		if k.allocs != 0 {
			t.Errorf("KeepSlot allocates %v times", k.allocs)
		}
		held = append(held, k.slot)
	}
	if got := l.Stats(); got.Clients != 1 || got.Streams != 2 {
		t.Fatalf("two kept slots: %+v", got)
	}
	if resp, _ := get(t, srv, "GET", "/sse", "", ""); resp.StatusCode != 429 {
		t.Fatalf("a third stream while two slots are kept: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv, "GET", "/other", "", ""); resp.StatusCode != 200 {
		t.Fatalf("a request without a slot: %d", resp.StatusCode)
	}
	held[0].Release()
	held[0].Release() // twice is harmless
	if got := l.Stats(); got.Clients != 1 || got.Streams != 1 {
		t.Fatalf("one slot released twice: %+v", got)
	}
	held[1].Release()
	if got := l.Stats(); got.Clients != 0 || got.Streams != 0 {
		t.Fatalf("both slots released: %+v", got)
	}
}

func TestLimitPublishRate(t *testing.T) {
	clk := newClock()
	l, err := ratelimit.New(ratelimit.Config{PublishesPerSecond: 2, IsPublish: isPublish, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler(http.HandlerFunc(ok)))
	defer srv.Close()
	// Burst of 4 (twice the rate) per token; tokens and the anonymous client
	// have separate buckets.
	for _, tok := range []string{"token-a", "token-b", ""} {
		for i := range 4 {
			if resp, body := get(t, srv, "POST", "/sse/publish", "", tok); resp.StatusCode != 200 {
				t.Fatalf("%q publish %d: %d %s", tok, i, resp.StatusCode, body)
			}
		}
	}
	resp, body := get(t, srv, "POST", "/sse/publish", "", "token-a")
	if resp.StatusCode != 429 || !strings.Contains(body, "too many publishes from this token: the limit is 2 per second; retry in 500ms") || strings.Contains(body, "token-a") {
		t.Fatalf("token over its limit: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, srv, "POST", "/sse/publish", "", ""); resp.StatusCode != 429 || !strings.Contains(body, "from 127.0.0.1") {
		t.Fatalf("anonymous over its limit: %d %q", resp.StatusCode, body)
	}
	// Streams are not publishes.
	if resp, _ := get(t, srv, "GET", "/sse", "", "token-a"); resp.StatusCode != 200 {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	clk.advance(500 * time.Millisecond)
	if resp, _ := get(t, srv, "POST", "/sse/publish", "", "token-a"); resp.StatusCode != 200 {
		t.Fatalf("after the refill: %d", resp.StatusCode)
	}
}

func TestLimitForwardedClients(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		want    []int
	}{
		// Untrusted peer: X-Forwarded-For is ignored, so all three requests
		// are the same client (127.0.0.1), and the second is refused.
		{"untrusted", nil, []int{200, 429, 429}},
		// Trusted peer: each forwarded client has its own bucket.
		{"trusted", []string{"127.0.0.0/8"}, []int{200, 200, 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			l, err := ratelimit.New(ratelimit.Config{StreamsPerSecond: 0.001, StreamBurst: 1, IsStream: isStream, Now: clk.Now, TrustedProxies: mustProxies(t, tc.proxies...)})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(l.Handler(http.HandlerFunc(ok)))
			defer srv.Close()
			for i, want := range tc.want {
				if resp, _ := get(t, srv, "GET", "/sse", fmt.Sprintf("198.51.100.%d", i+1), ""); resp.StatusCode != want {
					t.Fatalf("client %d: %d, want %d", i, resp.StatusCode, want)
				}
			}
		})
	}
}

func TestLimitIPv6ClientsGroupedBy64(t *testing.T) {
	clk := newClock()
	l, err := ratelimit.New(ratelimit.Config{StreamsPerSecond: 0.001, StreamBurst: 1, IsStream: isStream, Now: clk.Now, TrustedProxies: mustProxies(t, "127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler(http.HandlerFunc(ok)))
	defer srv.Close()
	if resp, _ := get(t, srv, "GET", "/sse", "2001:db8:1:2::1", ""); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	if resp, body := get(t, srv, "GET", "/sse", "2001:db8:1:2:ffff::9", ""); resp.StatusCode != 429 || !strings.Contains(body, "2001:db8:1:2::/64") {
		t.Fatalf("same /64: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, srv, "GET", "/sse", "2001:db8:1:3::1", ""); resp.StatusCode != 200 {
		t.Fatalf("another /64: %s", resp.Status)
	}
}

func TestLimitBoundedMemory(t *testing.T) {
	clk := newClock()
	l, err := ratelimit.New(ratelimit.Config{
		StreamsPerSecond: 1, PublishesPerSecond: 1, MaxClients: 50,
		IsStream: isStream, IsPublish: isPublish, Now: clk.Now,
		TrustedProxies: mustProxies(t, "127.0.0.1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Handler(http.HandlerFunc(ok))
	for i := range 500 {
		r := httptest.NewRequest(http.MethodGet, "/sse", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		r.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.1", i/256, i%256))
		h.ServeHTTP(httptest.NewRecorder(), r)
		p := httptest.NewRequest(http.MethodPost, "/sse/publish", nil)
		p.Header.Set("Authorization", fmt.Sprintf("Bearer random-%d", i))
		h.ServeHTTP(httptest.NewRecorder(), p)
	}
	if s := l.Stats(); s.StreamBuckets != 50 || s.PublishBuckets != 50 {
		t.Fatalf("buckets after 500 clients: %+v, want 50 each", s)
	}
	// Buckets idle until full again are forgotten.
	clk.advance(3 * time.Second)
	r := httptest.NewRequest(http.MethodGet, "/sse", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if s := l.Stats(); s.StreamBuckets != 1 {
		t.Fatalf("stream buckets after everyone went idle: %d, want 1", s.StreamBuckets)
	}
}

func TestLimitConfigErrors(t *testing.T) {
	for _, c := range []ratelimit.Config{
		{StreamsPerSecond: -1, IsStream: isStream},
		{StreamsPerSecond: 1},
		{StreamsPerClient: 1},
		{PublishesPerSecond: 1},
	} {
		if _, err := ratelimit.New(c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}
