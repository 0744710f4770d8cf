package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestRenamedBinary: a server whose binary is called something else
// ("vsse", or "server" in a package) is found by its pid file and its port
// like one called valksor-sse. status names its pid, publish reaches it,
// client commands leave its pid file alone, a second server is refused,
// --kill-existing replaces it (by pid file, and on Linux by port), and stop
// stops it.
func TestRenamedBinary(t *testing.T) {
	t.Parallel()
	vsse := filepath.Join(t.TempDir(), "vsse")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vsse, b, 0o755); err != nil {
		t.Fatal(err)
	}
	startVsse := func(dir string, args ...string) *server {
		t.Helper()
		s := spawnBin(t, vsse, dir, nil, append([]string{"serve"}, args...)...)
		m := s.awaitLog("the server to listen", listening)
		s.port, _ = strconv.Atoi(m[1])
		return s
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "var/run/valksor-sse.pid")
	holds := func(s *server) {
		t.Helper()
		if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(s.cmd.Process.Pid) {
			t.Fatalf("pid file holds %q (%v), want pid %d", b, err, s.cmd.Process.Pid)
		}
	}

	first := startVsse(dir, "--port", "0")
	port := strconv.Itoa(first.port)
	events := subscribe(t, first.url())
	out, errOut, code := run(t, dir, "status", "--port", port)
	if want := fmt.Sprintf("running: pid %d", first.cmd.Process.Pid); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("status: exit %d: %s%s\nwant %q", code, out, errOut, want)
	}
	if _, errOut, code := run(t, dir, "publish", "reload", "--port", port); code != 0 {
		t.Fatalf("publish: exit %d: %s", code, errOut)
	}
	expect(t, events, "reload")
	if runtime.GOOS == "linux" { // the server's files found through the port's owner
		if _, errOut, code := run(t, t.TempDir(), "publish", "reload", "--port", port); code != 0 {
			t.Fatalf("publish from another directory: exit %d: %s", code, errOut)
		}
		expect(t, events, "reload")
	}
	holds(first)

	second := spawnBin(t, vsse, dir, nil, "serve", "--port", "0")
	if code := second.exited(); code == 0 || !strings.Contains(second.stderr.String(), fmt.Sprintf("already running as pid %d", first.cmd.Process.Pid)) {
		t.Fatalf("second server in the same directory: exit %d\n%s", code, second.stderr)
	}
	holds(first)

	// --kill-existing finds the renamed server through the pid file.
	replacement := startVsse(dir, "--port", port, "--kill-existing")
	if code := first.exited(); code != 0 {
		t.Fatalf("replaced server exited %d\n%s", code, first.stderr)
	}
	holds(replacement)

	last := replacement
	if runtime.GOOS == "linux" {
		// And through the port, from another directory.
		elsewhere := start(t, t.TempDir(), "--port", port, "--kill-existing")
		if code := replacement.exited(); code != 0 {
			t.Fatalf("server replaced by port exited %d\n%s", code, replacement.stderr)
		}
		last = elsewhere
		replacement = startVsse(dir, "--port", "0")
		out, errOut, code := run(t, dir, "stop")
		if want := fmt.Sprintf("stopped valksor-sse (pid %d)", replacement.cmd.Process.Pid); code != 0 || !strings.Contains(out, want) {
			t.Fatalf("stop: exit %d: %s%s\nwant %q", code, out, errOut, want)
		}
		if code := replacement.exited(); code != 0 {
			t.Fatalf("stopped server exited %d", code)
		}
	}

	out, errOut, code = run(t, last.dir, "stop", "--port", strconv.Itoa(last.port))
	if want := fmt.Sprintf("stopped valksor-sse (pid %d)", last.cmd.Process.Pid); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("stop: exit %d: %s%s\nwant %q", code, out, errOut, want)
	}
	if code := last.exited(); code != 0 {
		t.Fatalf("stopped server exited %d", code)
	}
	if _, err := os.Stat(filepath.Join(last.dir, "var/run/valksor-sse.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind by a stopped server: %v", err)
	}
}
