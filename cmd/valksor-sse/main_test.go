package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/internal/proctest"
)

// bin is the valksor-sse binary built once for these tests.
var bin string

func TestMain(m *testing.M) {
	var remove func()
	var err error
	bin, remove, err = proctest.Build("./cmd/valksor-sse", "valksor-sse", true)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build valksor-sse:", err)
		os.Exit(1)
	}
	code := m.Run()
	remove()
	os.Exit(code)
}

// syncBuffer is a buffer the test reads while a process or logger writes.
type syncBuffer = proctest.Buffer

// server is a running valksor-sse process.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string
	port   int
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

var listening = proctest.Listening

// start runs `valksor-sse serve args...` in dir and waits until it listens.
func start(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	return startEnv(t, dir, nil, args...)
}

// startEnv is start with extra environment variables.
func startEnv(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	s := startNoWaitEnv(t, dir, env, args...)
	m := s.awaitLog("the server to listen", listening)
	s.port, _ = strconv.Atoi(m[3])
	return s
}

func startNoWait(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	return startNoWaitEnv(t, dir, nil, args...)
}

func startNoWaitEnv(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	return spawn(t, dir, env, append([]string{"serve"}, args...)...)
}

// spawn runs the binary with args in dir, with env added to a clean
// environment, without waiting for anything. It is killed when the test
// ends (after the cleanups registered later, which may stop it gently).
func spawn(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	return spawnBin(t, bin, dir, env, args...)
}

// spawnBin is spawn for the program exe.
func spawnBin(t *testing.T, exe, dir string, env []string, args ...string) *server {
	t.Helper()
	s := &server{t: t, dir: dir, stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(exe, args...)
	s.cmd.Dir = dir
	s.cmd.Env = append(cleanEnv(), env...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { proctest.End(s.cmd.Process, s.done) })
	return s
}

// awaitLog waits until re matches the process's log and returns the
// match; it fails the test if the process exits first or after 20s.
func (s *server) awaitLog(what string, re *regexp.Regexp) []string {
	s.t.Helper()
	var m []string
	switch proctest.Poll(20*time.Second, s.done, func() bool {
		m = re.FindStringSubmatch(s.stderr.String())
		return m != nil
	}) {
	case proctest.ErrStopped:
		s.t.Fatalf("exited while waiting for %s: %v\n%s", what, s.err, s.stderr)
	case proctest.ErrTimeout:
		s.t.Fatalf("waited 20s for %s:\n%s", what, s.stderr)
	}
	return m
}

// cleanEnv is the environment without the caller's VALKSOR_SSE_* variables.
func cleanEnv() []string { return proctest.Env() }

// exited waits for the process and returns its exit code.
func (s *server) exited() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatalf("server still running after 20s:\n%s", s.stderr)
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	if s.err != nil {
		s.t.Fatal(s.err)
	}
	return 0
}

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

func (s *server) url() string { return fmt.Sprintf("http://127.0.0.1:%d/sse", s.port) }

// run runs a valksor-sse command to completion.
func run(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// subscribe reads the stream into a channel until the test ends.
func subscribe(t *testing.T, url string, topics ...string) <-chan client.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan client.Event, 100)
	connected := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The hub registers a stream before it answers: a Mercure stream,
		// which has no connected event, is ready at its response.
		ready := func(*http.Response) { once.Do(func() { close(connected) }) }
		sub := &client.Subscriber{URL: url, Topics: topics, MaxBackoff: 100 * time.Millisecond, OnConnect: ready}
		_ = sub.Run(ctx, func(e client.Event) error {
			if e.Type == "connected" {
				once.Do(func() { close(connected) })
			}
			events <- e
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not open")
	}
	return events
}

// expect returns the next event of type typ, skipping others.
func expect(t *testing.T, events <-chan client.Event, typ string) client.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type == typ {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event within 10s", typ)
		}
	}
}

func TestNewUserFlow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	events := subscribe(t, s.url())
	port := strconv.Itoa(s.port)

	out, errOut, code := run(t, dir, "publish", "--port", port, "--type", "custom-event", "--data", `{"a":1}`)
	if code != 0 {
		t.Fatalf("publish: exit %d: %s", code, errOut)
	}
	e := expect(t, events, "custom-event")
	if e.Data != `{"a":1}` || e.ID != strings.TrimSpace(out) {
		t.Fatalf("got %+v, publish printed %q", e, out)
	}
	if _, errOut, code := run(t, dir, "publish", "reload", "--port", port); code != 0 {
		t.Fatalf("publish reload: exit %d: %s", code, errOut)
	}
	if e := expect(t, events, "reload"); e.Data != `{"files":[]}` {
		t.Fatalf("reload data %q", e.Data)
	}

	out, _, code = run(t, dir, "status", "--port", port)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("pid %d", s.cmd.Process.Pid)) || !strings.Contains(out, "1 connection") {
		t.Fatalf("status: exit %d: %s", code, out)
	}

	pidFile := filepath.Join(dir, "var/run/valksor-sse.pid")
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(s.cmd.Process.Pid) {
		t.Fatalf("pid file holds %q (%v)", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "var/run/valksor-sse.token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	s.signal(syscall.SIGTERM)
	if code := s.exited(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, s.stderr)
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file still there after SIGTERM: %v", err)
	}
	out, _, code = run(t, dir, "status", "--port", port)
	if code != 3 || !strings.Contains(out+"", "") {
		t.Fatalf("status after stop: exit %d %s", code, out)
	}
}

func TestSecondInstanceAndKillExisting(t *testing.T) {
	t.Parallel()
	first := start(t, t.TempDir(), "--port", "0")
	port := strconv.Itoa(first.port)

	// Another project on the same port: told who holds it.
	second := startNoWait(t, t.TempDir(), "--port", port)
	if code := second.exited(); code == 0 {
		t.Fatal("second instance started on a taken port")
	}
	want := fmt.Sprintf("port %s is held by pid %d (valksor-sse", port, first.cmd.Process.Pid)
	if !strings.Contains(second.stderr.String(), want) || !strings.Contains(second.stderr.String(), "--kill-existing") {
		t.Fatalf("second instance said:\n%s\nwant it to contain %q", second.stderr, want)
	}

	// Same project (same pid file): told it is running.
	third := startNoWait(t, first.dir, "--port", "0")
	if code := third.exited(); code == 0 || !strings.Contains(third.stderr.String(), fmt.Sprintf("already running as pid %d", first.cmd.Process.Pid)) {
		t.Fatalf("same-directory instance: exit %d\n%s", code, third.stderr)
	}

	// --kill-existing replaces it.
	replacement := start(t, t.TempDir(), "--port", port, "--kill-existing")
	if code := first.exited(); code != 0 {
		t.Fatalf("replaced server exited %d", code)
	}
	if replacement.port != first.port {
		t.Fatalf("replacement listens on %d", replacement.port)
	}
}

func TestPortHeldByAnotherProgram(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	s := startNoWait(t, t.TempDir(), "--host", "127.0.0.1", "--port", port, "--kill-existing")
	if code := s.exited(); code == 0 {
		t.Fatal("started on a port held by another program")
	}
	if msg := s.stderr.String(); !strings.Contains(msg, fmt.Sprintf("held by pid %d", os.Getpid())) || !strings.Contains(msg, "not valksor-sse") {
		t.Fatalf("message: %s", msg)
	}
}

func TestStalePIDFileIsTakenOver(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "var/run/valksor-sse.pid")
	if err := os.MkdirAll(filepath.Dir(pidFile), 0o755); err != nil {
		t.Fatal(err)
	}
	// A pid that is not a valksor-sse: our own test process.
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, dir, "--port", "0")
	// Startup lines follow the listening line, so wait for it.
	s.awaitLog("a word about the stale pid file", regexp.MustCompile(`taking over a stale pid file`))
	if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) != strconv.Itoa(s.cmd.Process.Pid) {
		t.Fatalf("pid file holds %q", b)
	}
}

func TestReloadBySIGHUPAndSignalFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	events := subscribe(t, s.url())
	s.signal(syscall.SIGHUP)
	if e := expect(t, events, "reload"); e.Data != `{"files":[]}` {
		t.Fatalf("SIGHUP reload data %q", e.Data)
	}
	signalFile := filepath.Join(dir, "var/run/valksor-reload.signal")
	if err := os.WriteFile(signalFile, []byte(`{"files":["templates/base.html.twig"],"timestamp":1732700000.5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if e := expect(t, events, "reload"); e.Data != `{"files":["templates/base.html.twig"]}` {
		t.Fatalf("signal file reload data %q", e.Data)
	}
	if _, err := os.Stat(signalFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("signal file not removed")
	}
	s.signal(syscall.SIGINT)
	if code := s.exited(); code != 0 {
		t.Fatalf("SIGINT: exit %d", code)
	}
}

func TestShutdownTellsStreamsToReconnect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	events := subscribe(t, s.url())
	if _, errOut, code := run(t, dir, "publish", "one", "--port", strconv.Itoa(s.port)); code != 0 {
		t.Fatal(errOut)
	}
	expect(t, events, "one")
	s.signal(syscall.SIGTERM)
	if code := s.exited(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	// The same port comes back; the client resumes there by itself.
	s2 := start(t, dir, "--port", strconv.Itoa(s.port))
	expect(t, events, "connected")
	if _, errOut, code := run(t, dir, "publish", "two", "--port", strconv.Itoa(s2.port)); code != 0 {
		t.Fatal(errOut)
	}
	expect(t, events, "two")
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, yaml, says string
	}{
		{"disabled", "valksor:\n  sse:\n    enabled: false\n", "enabled is false"},
		{"unknown key", "valksor:\n  sse:\n    pingg_interval: 3\n", "pingg_interval"},
		{"bad value", "valksor:\n  sse:\n    port: abc\n", "valksor.sse.port"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := run(t, dir, "serve")
			if code == 0 || !strings.Contains(errOut, c.says) {
				t.Fatalf("exit %d: %s", code, errOut)
			}
		})
	}
}

func TestSeedConfigIsHonoured(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := "valksor:\n    sse:\n        enabled: true\n        host: 127.0.0.1\n        port: 0\n        ping_interval: 1\n        max_connections: 1\n        timeout: 300\n        debug: true\n"
	if err := os.MkdirAll(filepath.Join(dir, "config/packages"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config/packages/valksor.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, dir)
	events := subscribe(t, s.url())
	expect(t, events, "ping") // ping_interval: 1
	s.awaitLog("debug: true to log the connect", regexp.MustCompile(`stream opened`))
	// max_connections: 1
	out, _, _ := run(t, dir, "status", "--port", strconv.Itoa(s.port))
	if !strings.Contains(out, "(max 1)") {
		t.Fatalf("status: %s", out)
	}
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// No server.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	free := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	_, errOut, code := run(t, dir, "publish", "reload", "--port", free)
	if code != 1 || !strings.Contains(errOut, "no valksor-sse server answers") || !strings.Contains(errOut, "valksor-sse serve") {
		t.Fatalf("no server: exit %d: %s", code, errOut)
	}
	s := start(t, dir, "--port", "0")
	port := strconv.Itoa(s.port)
	for _, c := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"bad JSON", []string{"publish", "x", "--data", "{a:1}", "--port", port}, 2, "not valid JSON"},
		{"no type", []string{"publish", "--port", port}, 2, "needs an event type"},
		{"bad token", []string{"publish", "x", "--token", "nope", "--port", port}, 1, "refused the publish token"},
		{"bad id", []string{"publish", "x", "--id", "a\nb", "--port", port}, 1, "400"},
		{"unknown flag", []string{"publish", "x", "--nope"}, 2, "nope"},
		{"unknown command", []string{"publsh"}, 2, "unknown command"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := run(t, dir, c.args...)
			if code != c.code || !strings.Contains(errOut, c.says) {
				t.Fatalf("exit %d: %s", code, errOut)
			}
		})
	}
	// Plain text with --raw.
	events := subscribe(t, s.url())
	if _, errOut, code := run(t, dir, "publish", "note", "--raw", "--data", "hello\nworld", "--port", port); code != 0 {
		t.Fatal(errOut)
	}
	if e := expect(t, events, "note"); e.Data != "hello\nworld" {
		t.Fatalf("raw data %q", e.Data)
	}
}

func TestStopCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	out, errOut, code := run(t, dir, "stop")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("stopped valksor-sse (pid %d)", s.cmd.Process.Pid)) {
		t.Fatalf("stop: exit %d %s %s", code, out, errOut)
	}
	if code := s.exited(); code != 0 {
		t.Fatalf("server exit %d", code)
	}
	out, _, code = run(t, dir, "stop")
	if code != 0 || !strings.Contains(out, "not running") {
		t.Fatalf("second stop: exit %d %s", code, out)
	}
}
