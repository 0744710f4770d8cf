package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/mercure"
)

// TestStreamRecords: whatever form a stream's connection id, path,
// protocol and client take, the hooks settle it with the access log line
// of what the request was, once, and forget it.
func TestStreamRecords(t *testing.T) {
	var log proctest.Buffer
	s, err := New(Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), AccessLog: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	cases := []struct {
		id, method, path, proto, remote, client string
	}{
		{"0123456789abcdef01234567", "GET", "/sse", "HTTP/1.1", "192.0.2.7:5000", "192.0.2.7"},
		{"00000000000000000000000a", "GET", "/sse/", "HTTP/2.0", "[2001:db8::1]:5000", "2001:db8::1"},
		{"00000000000000000000000b", "GET", mercure.Path, "HTTP/2.0", "[::ffff:192.0.2.8]:5000", "192.0.2.8"},
		{"00000000000000000000000c", "GET", mercure.Path, "HTTP/1.1", "[fe80::1%eth0]:5000", "fe80::1%eth0"},
		{"0123456789ABCDEF01234567", "GET", "/sse", "HTTP/1.1", "192.0.2.9:5000", "192.0.2.9"},
		{"short", "GET", "/sse", "HTTP/1.1", "192.0.2.10:5000", "192.0.2.10"},
		{"00000000000000000000000d", "GET", "/dashboard/stream", "HTTP/1.1", "192.0.2.11:5000", "192.0.2.11"},
		{"00000000000000000000000e", "POST", "/sse", "HTTP/1.1", "192.0.2.12:5000", "192.0.2.12"},
		{"00000000000000000000000f", "GET", "/sse", "HTTP/1.0", "@", "@"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.path+"?topic=news", nil)
		r.Proto, r.RemoteAddr = c.proto, c.remote
		req := &request{r: r, start: s.streams.epoch, client: s.limiter.ClientIP(r)}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, req))
		s.connected(sse.ConnInfo{ID: c.id, Topics: []string{"news"}, RemoteAddr: c.remote, Request: r})
		if !req.opened.Load() {
			t.Errorf("%s: the middleware would log the stream's request at once", c.id)
		}
	}
	for _, c := range cases {
		s.disconnected(sse.ConnInfo{ID: c.id, Topics: []string{"news"}}, errors.New("bye"))
		s.disconnected(sse.ConnInfo{ID: c.id, Topics: []string{"news"}}, errors.New("again")) // settled already: nothing
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%d log lines for %d streams:\n%s", len(lines), len(cases), log.String())
	}
	for i, c := range cases {
		want := "msg=stream method=" + c.method + " path=" + c.path + " proto=" + c.proto + " client=" + c.client + " status=200 conn=" + c.id + " topics=[news] duration="
		if !strings.Contains(lines[i], want) || !strings.HasSuffix(lines[i], " end=bye") {
			t.Errorf("line %q, want %q...end=bye", lines[i], want)
		}
	}
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	if n := len(s.streams.open4) + len(s.streams.open16) + len(s.streams.slots) + len(s.streams.rare); n != 0 {
		t.Errorf("%d records kept after every stream ended", n)
	}
}
