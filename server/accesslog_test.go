package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/server"
)

// streamLine returns the access log line of the stream with connection id
// conn once it is written.
func streamLine(t *testing.T, log *logBuffer, conn string) string {
	t.Helper()
	var line string
	proctest.Await(t, 10*time.Second, "the access log line of stream "+conn, func() bool {
		for l := range strings.Lines(log.String()) {
			if strings.Contains(l, "msg=stream ") && strings.Contains(l, " conn="+conn+" ") {
				line = strings.TrimSuffix(l, "\n")
				return true
			}
		}
		return false
	})
	return line
}

// checkStreamLine checks the fields of a stream's access log line: want
// holds them up to the duration, which must be a duration, and the end.
func checkStreamLine(t *testing.T, line, want string) {
	t.Helper()
	m := regexp.MustCompile(`msg=stream (.*) duration=(\S+) end="client went away"$`).FindStringSubmatch(line)
	if m == nil || m[1] != want {
		t.Fatalf("stream line %q, want %q, a duration and the end", line, want)
	}
	if _, err := time.ParseDuration(m[2]); err != nil {
		t.Errorf("stream line %q: duration %q: %v", line, m[2], err)
	}
}

// TestStreamAccessLogAndSlot: a stream's access log line names its method,
// path, protocol, client, status, connection and topics, over HTTP/1.1
// (handed off) and HTTP/2 (served from its handler); its rate-limit slot
// is held while it is open and given back when it ends.
func TestStreamAccessLogAndSlot(t *testing.T) {
	var log logBuffer
	dir := t.TempDir()
	s, base := open(t, server.Options{
		Logger:    slog.New(slog.NewTextHandler(&log, nil)),
		AccessLog: true,
		Metrics:   true,
		TLS:       &server.TLS{SelfSignedDir: dir},
		Limits:    server.Limits{StreamsPerClient: 1},
	})
	certFile := filepath.Join(dir, server.SelfSignedCert)
	for _, c := range []struct {
		h2          bool
		path, proto string
	}{
		{false, "/sse", "HTTP/1.1"},
		{true, "/sse/", "HTTP/2.0"},
		{false, "/sse/", "HTTP/1.1"},
		{true, "/sse", "HTTP/2.0"},
	} {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: client.LocalTLS(certFile), ForceAttemptHTTP2: c.h2}}
		resp, err := hc.Get(base + c.path + "?topic=news&topic=sport")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || resp.Proto != c.proto {
			t.Fatalf("GET %s: %s over %s, want 200 over %s (the last stream's slot was not given back?)", c.path, resp.Status, resp.Proto, c.proto)
		}
		proctest.Await(t, 10*time.Second, "the stream to be registered", func() bool { return len(s.Hub().Clients()) == 1 })
		conn := s.Hub().Clients()[0].ID
		// The client's one slot is held: a second stream is refused.
		code, body := get(t, hc, base+"/sse")
		if code != http.StatusTooManyRequests || !strings.Contains(body, "too many open streams from 127.0.0.1") {
			t.Errorf("a second stream while one is open: %d %q", code, body)
		}
		resp.Body.Close()
		hc.CloseIdleConnections()
		checkStreamLine(t, streamLine(t, &log, conn),
			"method=GET path="+c.path+" proto="+c.proto+" client=127.0.0.1 status=200 conn="+conn+" topics=\"[news sport]\"")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: client.LocalTLS(certFile)}}
	if _, body := get(t, hc, base+"/metrics"); !strings.Contains(body, "\nvalksor_sse_rate_limit_clients 0\n") {
		t.Errorf("the rate limits still remember a client after its streams ended:\n%s", body)
	}
}

// TestStreamAccessLogUnusualRequest: a stream opened by a request out of
// the ordinary (HTTP/1.0, a peer that is not an IP address) is logged as
// it came.
func TestStreamAccessLogUnusualRequest(t *testing.T) {
	var log logBuffer
	s, err := server.New(server.Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), AccessLog: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/sse?topic=news", nil)
	r.Proto, r.ProtoMinor, r.RemoteAddr = "HTTP/1.0", 0, "@"
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.Handler().ServeHTTP(httptest.NewRecorder(), r)
	}()
	proctest.Await(t, 10*time.Second, "the stream to be registered", func() bool { return len(s.Hub().Clients()) == 1 })
	conn := s.Hub().Clients()[0].ID
	cancel()
	<-served
	checkStreamLine(t, streamLine(t, &log, conn), "method=GET path=/sse proto=HTTP/1.0 client=@ status=200 conn="+conn+" topics=[news]")
}
