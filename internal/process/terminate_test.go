package process_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/process"
)

func TestTerminateChild(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("asserts the Unix signals that ended the helper; terminate_internal_test.go covers the sequence")
	}
	tests := []struct {
		name       string
		args       []string
		grace      time.Duration
		wantSignal syscall.Signal
		minTime    time.Duration // Terminate must take at least this long
		maxTime    time.Duration // and at most this long
	}{
		{"graceful", []string{"serve"}, 5 * time.Second, syscall.SIGTERM, 0, 4 * time.Second},
		{"sigkill after grace", []string{"-ignore-term", "serve"}, 300 * time.Millisecond, syscall.SIGKILL, 300 * time.Millisecond, 4 * time.Second},
		{"zero grace", []string{"-ignore-term"}, 0, syscall.SIGKILL, 0, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startHolder(t, binSSE, tt.args...)
			start := time.Now()
			if err := process.Terminate(context.Background(), h.pid(), tt.grace); err != nil {
				t.Fatalf("Terminate: %v", err)
			}
			took := time.Since(start)
			if took < tt.minTime || took > tt.maxTime {
				t.Errorf("Terminate took %v, want between %v and %v", took, tt.minTime, tt.maxTime)
			}
			if process.Alive(h.pid()) {
				t.Error("process still alive after Terminate")
			}
			if sig := signalOf(h.wait()); sig != tt.wantSignal {
				t.Errorf("process ended by signal %v, want %v", sig, tt.wantSignal)
			}
		})
	}
}

// TestTerminateGraceful: a server that waits for stop requests (SIGTERM
// on Unix, NotifyStop's event on Windows) exits by itself when asked.
func TestTerminateGraceful(t *testing.T) {
	h := startHolder(t, binSSE, "-graceful")
	if err := process.Terminate(context.Background(), h.pid(), time.Minute); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if err := h.wait(); err != nil {
		t.Errorf("the helper did not exit by itself: %v", err)
	}
}

func TestTerminateNonChild(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("starts the helper through /bin/sh")
	}
	portFile := filepath.Join(t.TempDir(), "port")
	// The shell starts the helper in the background and exits, so the helper
	// is re-parented and is not our child: we cannot wait(2) for it.
	sh := exec.Command("/bin/sh", "-c", `"$0" "$@" </dev/null >"$PORT_FILE" 2>/dev/null & echo $!`, binSSE, "-ignore-term", "serve")
	sh.Env = append(os.Environ(), "PORT_FILE="+portFile)
	out, err := sh.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("shell printed %q, want a pid", out)
	}
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	})
	eventually(t, 10*time.Second, "the helper to listen", func() bool {
		b, _ := os.ReadFile(portFile)
		return strings.HasSuffix(string(b), "\n")
	})
	if !process.IsValksorSSE(pid) {
		t.Fatalf("IsValksorSSE(%d) = false for the background helper", pid)
	}
	if err := process.Terminate(context.Background(), pid, 100*time.Millisecond); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	if process.Alive(pid) {
		t.Error("process still alive after Terminate")
	}
}

func TestTerminateNothingToDo(t *testing.T) {
	zombie := startHolder(t, binSSE)
	if err := zombie.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the killed helper to exit", func() bool { return !process.Alive(zombie.pid()) })

	tests := []struct {
		name string
		pid  int
	}{
		{"dead pid", deadPID(t)},
		{"zombie child", zombie.pid()},
		{"beyond pid_max", 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := process.Terminate(context.Background(), tt.pid, time.Second); err != nil {
				t.Errorf("Terminate(%d) = %v, want nil", tt.pid, err)
			}
		})
	}
}

func TestTerminateRefuses(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		want string
	}{
		{"zero", 0, "invalid pid 0"},
		{"negative", -1, "invalid pid -1"},
		{"self", os.Getpid(), "calling process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := process.Terminate(context.Background(), tt.pid, time.Second)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Terminate(%d) = %v, want an error containing %q", tt.pid, err, tt.want)
			}
		})
	}
}

func TestTerminateContextCanceled(t *testing.T) {
	h := startHolder(t, binSSE, "-ignore-term")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := process.Terminate(ctx, h.pid(), time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Terminate = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "still running after SIGTERM") {
		t.Errorf("error %q does not say what happened", err)
	}
	if !process.Alive(h.pid()) {
		t.Error("process died although it ignores SIGTERM and was never killed")
	}
}
