package main_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondSIGINTExitsAtOnce: a graceful shutdown that waits on a client
// which stopped reading is cut short by a second SIGINT.
func TestSecondSIGINTExitsAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startEnv(t, dir, []string{
		"VALKSOR_SSE_WRITE_TIMEOUT=60s", "VALKSOR_SSE_SHUTDOWN_TIMEOUT=60s",
		"VALKSOR_SSE_ALLOW_ANONYMOUS_PUBLISH=true", "VALKSOR_SSE_MAX_BODY_BYTES=2000000",
	}, "--port", "0")
	// A client that opens a stream and never reads it.
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /sse HTTP/1.1\r\nHost: x\r\n\r\n")
	// Fill its socket buffers, so that closing it must wait.
	body := `{"type":"big","data":"` + strings.Repeat("x", 1_000_000) + `"}`
	for range 16 {
		resp, err := http.Post(s.url()+"/publish", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	s.signal(syscall.SIGINT)
	select {
	case <-s.done:
		t.Fatalf("the server did not wait for the blocked stream:\n%s", s.stderr)
	case <-time.After(500 * time.Millisecond): // it is waiting, as it should
	}
	second := time.Now()
	s.signal(syscall.SIGINT)
	if code := s.exited(); code == 0 {
		t.Fatalf("exit code 0 after a forced stop")
	}
	if d := time.Since(second); d > 5*time.Second {
		t.Fatalf("the second SIGINT took %v to stop the server", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "var/run/valksor-sse.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left after the forced stop: %v", err)
	}
}
