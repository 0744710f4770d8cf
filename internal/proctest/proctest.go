// Package proctest holds what the project's tests need to run real
// processes: one way to build a binary (with coverage when the test
// command collects it), a buffer their output can be written to while the
// test reads it, an environment free of the caller's configuration, the
// line a server prints once it listens, and one way to wait for something
// until a deadline ([Poll], [Await]). It also starts the real servers the
// tests talk to: a Python web server as a backend that is not Go
// ([Python]) and a Redis of a test's own ([StartRedis]), and plays several
// clients from one machine ([DialFrom]).
package proctest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Module is the project's module path; Build instruments its packages for
// coverage.
const Module = "github.com/valksor/go-sse"

// CoverDirEnv names the environment variable that asks for coverage: the
// test command sets it to a directory. (It is not GOCOVERDIR, which go test
// -cover sets for its own test binaries.)
const CoverDirEnv = "VALKSOR_COVERDIR"

// Build builds the main package pkg, a directory relative to the module's
// root such as "./cmd/valksor-sse", into a new temporary directory, as
// name (with ".exe" added on Windows), and returns the binary's path and a function that removes the
// directory. It builds in the root module, so that the browser tests'
// module (e2e/) builds the binary its users get. race builds with -race.
//
// When CoverDirEnv is set, the binary is built with -cover for every
// package of the module, and GOCOVERDIR is set to that directory in this
// process's environment, so that every process the tests start from now
// on (which inherit it, or get it from Env) writes its coverage there. It
// is meant for TestMain, which has no testing.TB.
func Build(pkg, name string, race bool) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "valksor-sse-build-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	if runtime.GOOS == "windows" && filepath.Ext(name) != ".exe" {
		name += ".exe"
	}
	bin = filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	if cover := os.Getenv(CoverDirEnv); cover != "" {
		args = append(args, "-cover", "-covermode=atomic", "-coverpkg="+Module+"/...")
		if err := os.Setenv("GOCOVERDIR", cover); err != nil {
			remove()
			return "", nil, err
		}
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		remove()
		return "", nil, fmt.Errorf("go %s: %v\n%s", strings.Join(append(args, pkg), " "), err, out)
	}
	return bin, remove, nil
}

// Root returns the directory of the project's root module.
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("proctest: no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Listening matches the line valksor-sse prints once it listens: serve's
// and dev's, in the text and the JSON log formats. Its groups are the
// scheme, the host and the port.
var Listening = regexp.MustCompile(`valksor-sse (?:dev )?listening(?: on |","url":")(https?)://([^/ "]+):(\d+)/`)

// End ends a process started by a test: SIGTERM, then SIGKILL when it has
// not exited (done is closed) within 10 seconds; it returns once done is
// closed. A process that exits on its own writes its coverage (see Build),
// which a killed one cannot.
func End(p *os.Process, done <-chan struct{}) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(10 * time.Second):
	}
	_ = p.Kill()
	<-done
}

// ErrTimeout and ErrStopped are Poll's errors.
var (
	ErrTimeout = errors.New("proctest: deadline passed")
	ErrStopped = errors.New("proctest: stopped")
)

// pollInterval is how often Poll asks.
const pollInterval = 10 * time.Millisecond

// Poll calls cond every 10 ms until it returns true (nil), within passes
// (ErrTimeout) or stop is closed (ErrStopped; a nil stop never is): one
// loop for every test that waits for a process, a file or a count.
func Poll(within time.Duration, stop <-chan struct{}, cond func() bool) error {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		select {
		case <-stop:
			if cond() {
				return nil
			}
			return ErrStopped
		case <-time.After(pollInterval):
		}
	}
}

// Await is Poll that fails the test when cond does not become true within
// the time: "waited 10s for what".
func Await(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	if err := Poll(within, nil, cond); err != nil {
		tb.Fatalf("waited %v for %s", within, what)
	}
}

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
// gives it. GOCOVERDIR stays, for the coverage of binaries built by Build.
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
		End(cmd.Process, exited)
		if t.Failed() {
			t.Logf("python3 -m http.server output:\n%s", out)
		}
	})
	up := func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	switch Poll(15*time.Second, exited, up) {
	case ErrStopped:
		t.Fatalf("python3 -m http.server exited:\n%s", out)
	case ErrTimeout:
		t.Fatalf("python3 -m http.server not answering on %s after 15s:\n%s", addr, out)
	}
	return "http://" + addr
}

// DialFrom connects to addr over TCP from the local address ip (any of
// 127.0.0.0/8 works on Linux without setup), closing the connection when
// the test ends: how tests play several clients from one machine.
func DialFrom(tb testing.TB, ip, addr string) net.Conn {
	tb.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// AwaitClosed reads c until the peer closes it, failing the test, naming
// what c is, when it is still open after ten seconds.
func AwaitClosed(tb testing.TB, c net.Conn, what string) {
	tb.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [512]byte
	for {
		_, err := c.Read(b[:])
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			tb.Fatalf("the server kept %s open", what)
		}
		return
	}
}
