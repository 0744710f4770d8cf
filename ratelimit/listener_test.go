package ratelimit_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/ratelimit"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveBudget serves 200 OK behind a budget listener on 127.0.0.1 and
// returns its address and log.
func serveBudget(t *testing.T, c ratelimit.ListenerConfig) (string, *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	c.Logger = slog.New(slog.NewTextHandler(log, nil))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ratelimit.Listener(ln, c))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), log
}

// answers sends a request on c and reports whether a response came back
// (false when the server closed the connection instead).
func answers(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("no answer and no close within 10s")
		}
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

func TestListenerBudgetPerClient(t *testing.T) {
	addr, log := serveBudget(t, ratelimit.ListenerConfig{
		PerClient:      2,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")},
	})
	// Two keep-alive connections from 127.0.0.1 are served and stay open.
	a, b := proctest.DialFrom(t, "127.0.0.1", addr), proctest.DialFrom(t, "127.0.0.1", addr)
	if !answers(t, a) || !answers(t, b) {
		t.Fatal("the first two connections were not served")
	}
	// The third from that address is closed at once; others are served.
	if answers(t, proctest.DialFrom(t, "127.0.0.1", addr)) {
		t.Fatal("a third connection from 127.0.0.1 was served")
	}
	if !answers(t, proctest.DialFrom(t, "127.0.0.2", addr)) {
		t.Fatal("a connection from another address was refused")
	}
	for range 3 { // a trusted proxy is not limited
		if !answers(t, proctest.DialFrom(t, "127.0.0.9", addr)) {
			t.Fatal("a connection from the trusted proxy was refused")
		}
	}
	// Closing one frees its slot.
	a.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !answers(t, proctest.DialFrom(t, "127.0.0.1", addr)) {
		if time.Now().After(deadline) {
			t.Fatal("the slot of a closed connection was not freed")
		}
		time.Sleep(10 * time.Millisecond) // the server notices the close asynchronously
	}
	if !strings.Contains(log.String(), "limits.connections_per_ip") || !strings.Contains(log.String(), "client=127.0.0.1") {
		t.Fatalf("no warning naming the setting and the client:\n%s", log)
	}
}
