package ratelimit_test

import (
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valksor/go-sse/ratelimit"
)

// TestListenerSurvivesRunningOutOfDescriptors runs a server in a child
// process whose open-files limit is a few descriptors above what it holds,
// fills them with idle connections, and checks that the server warns once,
// keeps running, and serves again when the connections close.
func TestListenerSurvivesRunningOutOfDescriptors(t *testing.T) {
	if os.Getenv("RATELIMIT_FD_CHILD") == "1" {
		fdChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenerSurvivesRunningOutOfDescriptors$", "-test.v")
	cmd.Env = append(os.Environ(), "RATELIMIT_FD_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{"level=WARN msg=\"out of file descriptors", "served again after the descriptors freed up"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("child output lacks %q:\n%s", want, out)
		}
	}
}

func fdChild(t *testing.T) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(ratelimit.Listener(ln, ratelimit.ListenerConfig{Logger: slog.New(slog.NewTextHandler(log, nil)), WarnEvery: time.Hour}))
	defer srv.Close()
	limit := uint64(len(fds) + 12)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatal(err)
	}
	// Idle connections until a dial itself runs out of descriptors; by then
	// the server's accept has too.
	var conns []net.Conn
	for range 100 {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "out of file descriptors") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning after %d connections; log:\n%s", len(conns), log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Log(strings.TrimSpace(log.String()))
	for _, c := range conns {
		c.Close()
	}
	// The server comes back by itself.
	for {
		resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
			t.Log("served again after the descriptors freed up")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not served again: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
