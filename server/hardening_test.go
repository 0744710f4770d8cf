package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/server"
)

// TestIdleAndSlowConnectionsAreClosed: an idle keep-alive connection is
// closed after IdleTimeout and a request whose body trickles in after
// ReadTimeout, while an open stream outlives both and still gets events.
func TestIdleAndSlowConnectionsAreClosed(t *testing.T) {
	s, base := open(t, server.Options{
		IdleTimeout: 300 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond,
		Hub:         []sse.Option{sse.WithAnonymousPublish()},
	})
	events := subscribe(t, base+"/sse", http.DefaultClient)
	addr := s.Addr().String()

	idle := proctest.DialFrom(t, "127.0.0.1", addr)
	fmt.Fprint(idle, "GET /sse/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	proctest.AwaitClosed(t, idle, "an idle keep-alive connection")

	slow := proctest.DialFrom(t, "127.0.0.1", addr)
	fmt.Fprint(slow, "POST /sse/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	proctest.AwaitClosed(t, slow, "a request whose body trickles in")

	headers := proctest.DialFrom(t, "127.0.0.1", addr)
	fmt.Fprint(headers, "GET /sse/healthz HTTP/1.1\r\nHost: x\r\n")
	proctest.AwaitClosed(t, headers, "a request whose headers never end")

	if err := s.Hub().Broadcast(context.Background(), sse.Event{Type: "after"}); err != nil {
		t.Fatal(err)
	}
	expect(t, events, "after")
}

// TestConnectionBudget: with Limits.ConnectionsPerClient, one address
// holds at most that many connections of any kind; others are unaffected.
func TestConnectionBudget(t *testing.T) {
	log := &logBuffer{}
	s, base := open(t, server.Options{
		Logger: slog.New(slog.NewTextHandler(log, nil)),
		Limits: server.Limits{ConnectionsPerClient: 2},
	})
	addr := s.Addr().String()
	subscribe(t, base+"/sse", http.DefaultClient)   // one stream from 127.0.0.1
	idle := proctest.DialFrom(t, "127.0.0.1", addr) // and one idle connection
	fmt.Fprint(idle, "GET /sse/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 1)
	if _, err := idle.Read(buf); err != nil {
		t.Fatalf("the second connection was not served: %v", err)
	}
	third := proctest.DialFrom(t, "127.0.0.1", addr)
	fmt.Fprint(third, "GET /sse/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	proctest.AwaitClosed(t, third, "a third connection from 127.0.0.1")
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	if status, _ := get(t, other, base+"/sse/healthz"); status != 200 {
		t.Fatalf("another address got %d", status)
	}
	if !strings.Contains(log.String(), "limits.connections_per_ip") {
		t.Fatalf("no warning naming the setting:\n%s", log)
	}
}

// TestServerErrorsAreLogged: what net/http reports (here a handler that
// panics) reaches the server's log at a level an operator sees.
func TestServerErrorsAreLogged(t *testing.T) {
	log := &logBuffer{}
	_, base := open(t, server.Options{
		Logger:   slog.New(slog.NewTextHandler(log, nil)), // info and above
		Fallback: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),
	})
	if resp, err := http.Get(base + "/boom"); err == nil {
		resp.Body.Close()
	}
	proctest.Await(t, 10*time.Second, "the panic logged as an error", func() bool {
		return strings.Contains(log.String(), "level=ERROR") && strings.Contains(log.String(), "panic serving")
	})
}
