//go:build unix

package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestFIFOAtSignalFileDoesNotHoldShutdown: a FIFO at the reload signal
// file's path neither blocks the server nor its shutdown on SIGTERM.
func TestFIFOAtSignalFileDoesNotHoldShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startEnv(t, dir, nil, "--port", "0")
	fifo := filepath.Join(dir, "var/run/valksor-reload.signal")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	s.awaitLog("the warning about the FIFO", regexp.MustCompile(`not a regular file`))
	if err := syscall.Mkfifo(fifo, 0o644); err != nil { // and one more, in place at shutdown
		t.Fatal(err)
	}
	s.signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after SIGTERM with a FIFO at the signal file:\n%s", s.stderr)
	}
	if code := s.exited(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	_ = os.Remove(fifo)
}
