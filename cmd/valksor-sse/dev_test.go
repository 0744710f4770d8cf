package main_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// devListening matches the dev proxy's start line; its group is the port.
var devListening = regexp.MustCompile(`valksor-sse dev proxy listening" url=http://([^ ]+):(\d+)/`)

// devProc is a running "valksor-sse dev".
type devProc struct {
	*server
	host string // as logged
}

// startDevCmd runs "valksor-sse dev args..." in dir with env added and
// waits until the proxy listens. At the end of the test it gets SIGTERM
// and must exit with status 0 (the race detector's exit status is not 0).
func startDevCmd(t *testing.T, dir string, env []string, args ...string) *devProc {
	t.Helper()
	d := &devProc{server: spawn(t, dir, env, append([]string{"dev"}, args...)...)}
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
			if d.err != nil {
				t.Errorf("valksor-sse dev after SIGTERM: %v\n%s", d.err, d.stderr)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("valksor-sse dev still running 10s after SIGTERM:\n%s", d.stderr)
		}
	})
	m := d.awaitLog("the dev proxy to listen", devListening)
	d.host = m[1]
	d.port, _ = strconv.Atoi(m[2])
	return d
}

// url is the proxy's URL for path, at the address it logged.
func (d *devProc) url(path string) string {
	return fmt.Sprintf("http://%s:%d%s", d.host, d.port, path)
}

// waitLog waits until the log contains s.
func (d *devProc) waitLog(what, s string) {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.stderr.String(), s) {
		select {
		case <-d.done:
			d.t.Fatalf("valksor-sse dev exited while waiting for %s: %v\n%s", what, d.err, d.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("waited 10s for %s (%q in the log):\n%s", what, s, d.stderr)
		}
	}
}

// devApp is an app for the proxy: a page at /.
func devApp(t *testing.T) *httptest.Server {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><title>app</title></head><body>app</body></html>")
	}))
	t.Cleanup(app.Close)
	return app
}

// freePort returns a port nothing listens on right now on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestDevPublishFromDir: dev without a configured token creates the token
// file as serve does, so "valksor-sse publish" run in the same directory
// with --port (or --url) naming the proxy reaches a subscriber of the
// proxy's stream.
func TestDevPublishFromDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDevCmd(t, dir, nil, "--proxy", devApp(t).URL, "--host", "127.0.0.1", "--port", "0")
	if fi, err := os.Stat(filepath.Join(dir, "var/run/valksor-sse.token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v\n%s", fi, err, d.stderr)
	}
	events := subscribe(t, d.url("/sse"))
	port := strconv.Itoa(d.port)

	if _, errOut, code := run(t, dir, "publish", "reload", "--port", port); code != 0 {
		t.Fatalf("publish reload --port %s: exit %d: %s", port, code, errOut)
	}
	if e := expect(t, events, "reload"); e.Data != `{"files":[]}` {
		t.Fatalf("reload data %q", e.Data)
	}
	// What an app does: a custom event, here through --url.
	out, errOut, code := run(t, dir, "publish", "custom-event", "--data", `{"a":1}`, "--url", d.url("/sse"))
	if code != 0 {
		t.Fatalf("publish --url: exit %d: %s", code, errOut)
	}
	if e := expect(t, events, "custom-event"); e.Data != `{"a":1}` || e.ID != strings.TrimSpace(out) {
		t.Fatalf("got %+v, publish printed %q", e, out)
	}
}

// TestDevSignalFile: under dev, the reload signal file reloads browsers as
// under serve, and is removed. While the app answers the reload skips the
// probe (probe: false); with the app down it is the standard reload,
// whose probe makes pages wait for the app.
func TestDevSignalFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := devApp(t)
	d := startDevCmd(t, dir, nil, "--proxy", app.URL, "--listen", "127.0.0.1:0")
	events := subscribe(t, d.url("/sse"))
	signalFile := filepath.Join(dir, "var/run/valksor-reload.signal")
	write := func(data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(signalFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(signalFile, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write(`{"files":["templates/base.html.twig"],"timestamp":1732700000.5}`)
	if e := expect(t, events, "reload"); e.Data != `{"files":["templates/base.html.twig"],"probe":false}` {
		t.Fatalf("signal file reload data %q", e.Data)
	}
	if _, err := os.Stat(signalFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("signal file not removed: %v", err)
	}

	app.Close()
	write("") // touch: an empty file reloads too
	if e := expect(t, events, "reload"); e.Data != `{"files":[]}` {
		t.Fatalf("signal file reload data with the app down %q", e.Data)
	}
	// The log line comes through a pipe, maybe after the event.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(d.stderr.String(), "reload signal file: reloading every browser") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say twice that the signal file reloaded:\n%s", d.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDevWatchesWorkingDir: dev --proxy alone watches its working
// directory, says so, and a save there reloads the subscribers.
func TestDevWatchesWorkingDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "page.html"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDevCmd(t, dir, nil, "--proxy", devApp(t).URL, "--listen", "127.0.0.1:0")
	d.waitLog("the watcher", `msg="watching for changes"`)
	log := d.stderr.String()
	if !strings.Contains(log, "no --watch or watch.paths given: watching the whole working directory") || !strings.Contains(log, "--watch DIR") {
		t.Errorf("the log does not say what dev watches and how to narrow it:\n%s", log)
	}
	events := subscribe(t, d.url("/sse"))
	if err := os.WriteFile(filepath.Join(dir, "page.html"), []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if e := expect(t, events, "reload"); e.Data != `{"files":["page.html"],"probe":false}` {
		t.Fatalf("reload data %q", e.Data)
	}
}

// TestMorphOff: dev.morph: false (and watch.morph: false, under dev and
// serve) puts "morph": false into the reloads of saved files, so that
// browsers reload instead of morphing.
func TestMorphOff(t *testing.T) {
	t.Parallel()
	save := func(t *testing.T, dir string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "page.html"), []byte("two"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, env := range []string{"VALKSOR_SSE_DEV_MORPH=false", "VALKSOR_SSE_WATCH_MORPH=false"} {
		t.Run("dev "+env, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			d := startDevCmd(t, dir, []string{env}, "--proxy", devApp(t).URL, "--listen", "127.0.0.1:0")
			d.waitLog("the watcher", `msg="watching for changes"`)
			events := subscribe(t, d.url("/sse"))
			save(t, dir)
			if e := expect(t, events, "reload"); e.Data != `{"files":["page.html"],"morph":false,"probe":false}` {
				t.Fatalf("reload data %q", e.Data)
			}
		})
	}
	t.Run("serve", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := startEnv(t, dir, []string{"VALKSOR_SSE_WATCH_MORPH=false"}, "--port", "0", "--watch", dir)
		events := subscribe(t, s.url())
		save(t, dir)
		if e := expect(t, events, "reload"); e.Data != `{"files":["page.html"],"morph":false}` {
			t.Fatalf("reload data %q", e.Data)
		}
	})
}

// TestDevRestartNeedsCmd: --restart GLOB names what restarts the app of
// --cmd; without --cmd it is a usage error that says so.
func TestDevRestartNeedsCmd(t *testing.T) {
	t.Parallel()
	_, errOut, code := run(t, t.TempDir(), "dev", "--proxy", "http://127.0.0.1:1", "--restart", "templates/**")
	if code != 2 || !strings.Contains(errOut, "--restart restarts the app that --cmd runs: give --cmd too") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// TestDevListenAddress: without --listen, --port (and --host) choose the
// proxy's address; with --listen they are a usage error.
func TestDevListenAddress(t *testing.T) {
	t.Parallel()
	app := devApp(t)

	t.Run("port", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		d := startDevCmd(t, t.TempDir(), nil, "--proxy", app.URL, "--port", strconv.Itoa(port))
		if d.port != port || (d.host != "127.0.0.1" && d.host != "[::1]") {
			t.Fatalf("dev --port %d listens on %s:%d, want localhost:%d (the host of dev.listen)", port, d.host, d.port, port)
		}
		resp, err := http.Get(d.url("/sse/healthz"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz on the --port address: %d", resp.StatusCode)
		}
	})

	t.Run("host and port", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		d := startDevCmd(t, t.TempDir(), nil, "--proxy", app.URL, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
		if d.port != port || d.host != "127.0.0.1" {
			t.Fatalf("dev --host 127.0.0.1 --port %d listens on %s:%d", port, d.host, d.port)
		}
	})

	t.Run("listen and port", func(t *testing.T) {
		t.Parallel()
		_, errOut, code := run(t, t.TempDir(), "dev", "--proxy", app.URL, "--listen", "127.0.0.1:0", "--port", "0")
		if code != 2 || !strings.Contains(errOut, "--listen and --host/--port both choose the proxy's address") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})

	t.Run("help", func(t *testing.T) {
		t.Parallel()
		_, errOut, code := run(t, t.TempDir(), "dev", "-h")
		for _, want := range []string{"SIGHUP here means the terminal went", "port of the proxy when --listen is not given", "publish reload --port", "signal_file"} {
			if code != 0 || !strings.Contains(errOut, want) {
				t.Errorf("dev -h (exit %d) does not say %q:\n%s", code, want, errOut)
			}
		}
	})
}

// TestDevSIGHUPStops: SIGHUP stops dev cleanly (the terminal went away),
// where serve would reload browsers.
func TestDevSIGHUPStops(t *testing.T) {
	t.Parallel()
	d := startDevCmd(t, t.TempDir(), nil, "--proxy", devApp(t).URL, "--listen", "127.0.0.1:0")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("dev still running 10s after SIGHUP:\n%s", d.stderr)
	}
	if d.err != nil || !strings.Contains(d.stderr.String(), `msg="shutting down" signal=hangup`) {
		t.Fatalf("dev after SIGHUP: %v\n%s", d.err, d.stderr)
	}
}

// TestDevJWTKeys: with JWT keys in the config, dev checks publishes as
// serve does (a publisher JWT; no token file is written), while a stream
// without a token still opens for public events, as the live-reload
// client needs, even with auth.anonymous_subscribe: false.
func TestDevJWTKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yaml := "valksor:\n  sse:\n    auth:\n      publisher_key: dev-test-secret-that-is-long-enough-0123456789\n      anonymous_subscribe: false\n"
	if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDevCmd(t, dir, nil, "--proxy", devApp(t).URL, "--listen", "127.0.0.1:0")
	if _, err := os.Stat(filepath.Join(dir, "var/run/valksor-sse.token")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dev wrote a token file with JWT keys configured (serve does not): %v", err)
	}
	events := subscribe(t, d.url("/sse")) // no token
	tok, errOut, code := run(t, dir, "token", "--publish", "*")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	port := strconv.Itoa(d.port)
	if _, errOut, code := run(t, dir, "publish", "reload", "--port", port, "--token", strings.TrimSpace(tok)); code != 0 {
		t.Fatalf("publish reload with a publisher JWT: exit %d: %s", code, errOut)
	}
	expect(t, events, "reload")
	if _, errOut, code := run(t, dir, "publish", "reload", "--port", port, "--token", "not-a-jwt"); code == 0 {
		t.Fatalf("publish with a bad token was accepted: %s", errOut)
	}
}
