// Package proctest holds what the project's tests need to run real
// processes: a buffer their output can be written to while the test reads
// it, and an environment free of the caller's configuration.
package proctest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for one writer (a process's output) and
// concurrent readers. Its zero value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Env returns this process's environment without VALKSOR_SSE_* variables,
// so that a server started by a test sees only the configuration the test
// gives it.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VALKSOR_SSE_") {
			env = append(env, kv)
		}
	}
	return env
}

// Python serves dir with "python3 -m http.server" on 127.0.0.1 (a backend
// that is not Go) until the test ends, and returns its URL. Without a
// usable python3 the test is skipped, or fails when CI=true.
func Python(t testing.TB, dir string) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import http.server").Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is needed for the non-Go backend test: %v", err)
		}
		t.Skipf("no usable python3: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	host, port, _ := net.SplitHostPort(addr)
	out := &Buffer{}
	cmd := exec.Command(py, "-m", "http.server", port, "--bind", host, "--directory", dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("python3 -m http.server output:\n%s", out)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatalf("python3 -m http.server exited:\n%s", out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("python3 -m http.server not answering on %s after 15s:\n%s", addr, out)
		}
	}
}
