package e2e_test

// The dev loop, proxy side: "valksor-sse dev --proxy URL" in front of a
// backend the test starts (Go, and Python's http.server), "--cmd" with a
// Go app that the test breaks and fixes, and the failure cases (the app
// not answering, the command exiting at once).

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/proctest"
)

// startDev runs "valksor-sse dev --listen 127.0.0.1:0 args..." in dir with
// env added, and a publish token of its own, and waits until the proxy
// listens and the watcher runs (the --watch paths, or dir without them).
func startDev(tb testing.TB, dir string, env []string, args ...string) *proc {
	tb.Helper()
	token := randomHex(16)
	env = append(slices.Clone(env), "VALKSOR_SSE_PUBLISH_TOKEN="+token)
	p := startProc(tb, dir, env, devListening, append([]string{"dev", "--listen", "127.0.0.1:0"}, args...)...)
	p.token = token
	p.waitLog("the watcher to start", "watching for changes", 10*time.Second)
	return p
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fetchSHA is JS that fetches a URL in the page and resolves to the hex
// SHA-256 of the body as received.
func fetchSHA(path string) string {
	return `fetch(` + strconv.Quote(path) + `, {cache: 'no-store'}).then((r) => r.arrayBuffer()).then((b) => crypto.subtle.digest('SHA-256', b))
	  .then((d) => [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, '0')).join(''))`
}

// getBody GETs u without following redirects.
func getBody(tb testing.TB, u string) (*http.Response, []byte) {
	tb.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	return resp, b
}

// checkInjected checks that the page has the client once, through the
// proxy's own origin, and the overlay once.
func checkInjected(t *testing.T, p *ptab, dev *proc) {
	t.Helper()
	if u := mustEval[string](p, `sseClient.url`); u != dev.url("/sse") {
		t.Errorf("the client talks to %s, want the proxy's %s", u, dev.url("/sse"))
	}
	if n := mustEval[int](p, `document.querySelectorAll('script[data-valksor-sse-dev-overlay]').length`); n != 1 {
		t.Errorf("%d overlay scripts in the page, want 1", n)
	}
	if n := mustEval[int](p, `[...document.querySelectorAll('script[type=importmap]')].filter((s) => s.textContent.includes('valksorsse/sse')).length`); n != 1 {
		t.Errorf("%d import maps with the client, want 1", n)
	}
}

// TestDevProxyGoBackend: dev --proxy in front of a Go backend. The HTML
// page gets the client (connected through the proxy, events arrive), a
// non-HTML response is byte for byte the backend's, a cookie the backend
// sets is in document.cookie, and a redirect to the backend's absolute URL
// stays on the proxy's origin.
func TestDevProxyGoBackend(t *testing.T) {
	needChromium(t)
	blob := make([]byte, 100<<10)
	_, _ = rand.Read(blob)
	const notes = "<html><head></head><body>plain text that looks like HTML</body></html>\n"
	html := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>go backend</title></head>\n<body>%s</body></html>\n", body)
	}
	var app *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "e2e_session", Value: "s3cr3t-42", Path: "/"})
		html(w, `<h1 id="who">go backend</h1>`)
	})
	mux.HandleFunc("GET /data.bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(blob)
	})
	mux.HandleFunc("GET /notes.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, notes)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "e2e_login", Value: "yes", Path: "/"})
		http.Redirect(w, r, app.URL+"/landing", http.StatusFound) // the app's own absolute URL
	})
	mux.HandleFunc("GET /landing", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<h1 id="who">landing</h1>`)
	})
	app = httptest.NewServer(mux)
	t.Cleanup(app.Close)

	dev := startDev(t, t.TempDir(), nil, "--proxy", app.URL)
	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	checkInjected(t, p, dev)
	if who := mustEval[string](p, `document.getElementById('who').textContent`); who != "go backend" {
		t.Errorf("the page shows %q", who)
	}
	p.settle(dev.publish) // an event published on the dev hub reaches the page

	if c := mustEval[string](p, `document.cookie`); !strings.Contains(c, "e2e_session=s3cr3t-42") {
		t.Errorf("document.cookie = %q, want the backend's e2e_session", c)
	}

	// Non-HTML: byte for byte, in the browser and from Go.
	if got := mustEval[string](p, fetchSHA("/data.bin")); got != sha256Hex(blob) {
		t.Errorf("the browser got /data.bin with SHA-256 %s, want %s", got, sha256Hex(blob))
	}
	if got := mustEval[string](p, `fetch('/notes.txt', {cache: 'no-store'}).then((r) => r.text())`); got != notes {
		t.Errorf("the browser got /notes.txt = %q, want %q", got, notes)
	}
	resp, body := getBody(t, dev.url("/data.bin"))
	if !bytes.Equal(body, blob) || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("GET /data.bin through the proxy: %d bytes, Content-Type %q; want the backend's %d bytes", len(body), resp.Header.Get("Content-Type"), len(blob))
	}
	if _, body := getBody(t, dev.url("/notes.txt")); string(body) != notes {
		t.Errorf("GET /notes.txt through the proxy: %q", body)
	}

	// The redirect names the app's origin; the browser stays on the proxy.
	resp, _ = getBody(t, dev.url("/login"))
	if loc := resp.Header.Get("Location"); loc != dev.url("/landing") {
		t.Errorf("GET /login through the proxy: Location %q, want %q", loc, dev.url("/landing"))
	}
	p.navigate(dev.url("/login"))
	p.waitFor("the landing page on the proxy's origin", `location.href === `+strconv.Quote(dev.url("/landing"))+` && document.getElementById('who').textContent === 'landing'`, 10*time.Second)
	p.connected()
	if c := mustEval[string](p, `document.cookie`); !strings.Contains(c, "e2e_login=yes") || !strings.Contains(c, "e2e_session=s3cr3t-42") {
		t.Errorf("document.cookie = %q after the redirect, want e2e_login and e2e_session", c)
	}
}

// TestDevProxyPythonBackend: the same through a backend that is not Go,
// python3 -m http.server: the page gets the client, a binary file is byte
// for byte the file, and the directory redirect (/sub → /sub/) stays on
// the proxy. (http.server sets no cookies; the Go backend covers them.)
func TestDevProxyPythonBackend(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	blob := make([]byte, 200<<10)
	_, _ = rand.Read(blob)
	saveFile(t, filepath.Join(dir, "index.html"), "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>python</title></head>\n<body><h1 id=\"who\">served by python</h1></body></html>\n")
	saveFile(t, filepath.Join(dir, "sub", "index.html"), "<!doctype html>\n<html><head><title>sub</title></head><body><h1 id=\"who\">python sub</h1></body></html>\n")
	if err := os.WriteFile(filepath.Join(dir, "blob.bin"), blob, 0o644); err != nil {
		t.Fatal(err)
	}
	app := proctest.Python(t, dir)
	dev := startDev(t, t.TempDir(), nil, "--proxy", app)

	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	checkInjected(t, p, dev)
	if who := mustEval[string](p, `document.getElementById('who').textContent`); who != "served by python" {
		t.Errorf("the page shows %q", who)
	}
	p.settle(dev.publish)
	if got := mustEval[string](p, fetchSHA("/blob.bin")); got != sha256Hex(blob) {
		t.Errorf("the browser got /blob.bin with SHA-256 %s, want %s", got, sha256Hex(blob))
	}
	if _, body := getBody(t, dev.url("/blob.bin")); !bytes.Equal(body, blob) {
		t.Errorf("GET /blob.bin through the proxy: %d bytes differ from the file's %d", len(body), len(blob))
	}

	p.navigate(dev.url("/sub"))
	p.waitFor("the redirect to /sub/ on the proxy", `location.href === `+strconv.Quote(dev.url("/sub/"))+` && document.getElementById('who').textContent === 'python sub'`, 10*time.Second)
	p.connected()
	checkInjected(t, p, dev)
}

// killGroups kills, at the end of the test, the process groups listed in
// file (one id a line) that still have a live member: app runs that the
// dev command did not stop. Zombies (waiting for init to reap them) do
// not count.
func killGroups(t *testing.T, file string) {
	t.Cleanup(func() {
		b, _ := os.ReadFile(file)
		for f := range strings.FieldsSeq(string(b)) {
			if id, err := strconv.Atoi(f); err == nil && id > 1 {
				if live := liveMembers(id); len(live) > 0 {
					t.Errorf("app process group %d outlived valksor-sse dev (live members %v); killing it", id, live)
					signalGroup(id, syscall.SIGKILL)
				}
			}
		}
	})
}

// liveMembers lists the processes of group pgid that are not zombies,
// from /proc.
func liveMembers(pgid int) []string {
	names, _ := filepath.Glob("/proc/[0-9]*/stat")
	var live []string
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) || f[0] == "Z" || f[0] == "X" {
			continue
		}
		live = append(live, string(b[:i+1]))
	}
	return live
}

// TestDevRestartOverlay: dev --cmd "go run ." --watch DIR with a small Go
// app. A syntax error in its source shows the overlay with the compiler's
// message over the page (no reload); the fix removes the overlay and
// morphs the page once, into the new version (its title and body), only
// after the app answers.
func TestDevRestartOverlay(t *testing.T) {
	needChromium(t)
	src, err := os.ReadFile(filepath.Join("testdata", "devloop", "app", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	const v1 = `const version = "v1"`
	if !bytes.Contains(src, []byte(v1)) {
		t.Fatalf("testdata/devloop/app/main.go has no %s line", v1)
	}
	dir := t.TempDir()
	saveFile(t, filepath.Join(dir, "go.mod"), "module devapp\n\ngo 1.26\n")
	mainGo := filepath.Join(dir, "main.go")
	saveFile(t, mainGo, string(src))
	appAddr := freeAddr(t)
	pgids := filepath.Join(t.TempDir(), "pgids")
	killGroups(t, pgids) // runs after the dev command has been stopped

	dev := startDev(t, dir, []string{"DEVAPP_ADDR=" + appAddr, "DEVAPP_PGID_FILE=" + pgids, "GOTOOLCHAIN=local"},
		"--proxy", "http://"+appAddr, "--cmd", "go run .", "--watch", dir)
	p := newPage(t)
	p.navigate(dev.url("/")) // the 502 page while it compiles, which reloads when it answers; or the app
	p.waitFor("the app's first version", `document.getElementById('version').textContent === 'devapp v1'`, 60*time.Second)
	p.connected()
	first := p.state()
	base := first.now()
	t.Logf("documents before the first answer, then the app: %+v", first.Docs)

	// Break it.
	start := time.Now()
	saveFile(t, mainGo, strings.Replace(string(src), v1, `const version = = "v2"`, 1))
	s := p.waitState("the overlay with the compiler error", 60*time.Second, func(s pageState) bool {
		n := len(s.Overlay)
		return n > 0 && s.Overlay[n-1].Shown && strings.Contains(s.Overlay[n-1].Text, "syntax error")
	})
	t.Logf("save → overlay: %v", time.Since(start).Round(time.Millisecond))
	text := mustEval[string](p, `document.getElementById('valksor-sse-dev-overlay').shadowRoot.querySelector('pre').textContent`)
	if !strings.Contains(text, "main.go:") || !strings.Contains(text, "syntax error") {
		t.Errorf("the overlay's output does not show the compiler error:\n%s", text)
	}
	t.Logf("overlay output: %q", text)
	if s.updatesSince(base) != 0 || len(s.reloadsSince(base)) != 0 {
		t.Errorf("the failed build changed the page (%d loads, %d morphs, reloads %q)", s.loadsSince(base), len(s.morphsSince(base)), s.reloadsSince(base))
	}

	// Fix it.
	start = time.Now()
	saveFile(t, mainGo, strings.Replace(string(src), v1, `const version = "v2"`, 1))
	p.waitState("the fixed app in the page", 60*time.Second, func(s pageState) bool {
		return s.updatesSince(base) > 0 && strings.Contains(s.view().Text, "devapp v2")
	})
	t.Logf("save → the fixed app in the page: %v", time.Since(start).Round(time.Millisecond))
	s = p.settle(dev.publish)
	checkMorphed(t, s, base, "devapp v2", "main.go")
	if v := s.view(); v.Title != "devapp v2" {
		t.Errorf("after the fix the page is titled %q, want the fixed app's", v.Title)
	}
	var seq []bool
	for _, o := range s.Overlay {
		if o.Load == base.loads {
			seq = append(seq, o.Shown)
		}
	}
	if !slices.Equal(seq, []bool{true, false}) {
		t.Errorf("the overlay of the broken page went %v, want shown then hidden", seq)
	}
	if mustEval[bool](p, `!!document.getElementById('valksor-sse-dev-overlay')`) {
		t.Error("the morphed page shows the overlay")
	}
}

// listenOn serves h on addr (which must be free) until the test ends or
// the returned server is closed.
func listenOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// appUp is the app that comes up late.
var appUp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>late app</title></head><body><h1 id=\"who\">the app is up</h1></body></html>\n")
})

// checkDownPage checks that the tab shows the proxy's 502 page, connected.
func checkDownPage(t *testing.T, p *ptab, appAddr string) pageState {
	t.Helper()
	p.connected()
	s := p.state()
	d := s.lastDoc()
	if d.Status != http.StatusBadGateway || !strings.Contains(d.Title, "The app is not answering") ||
		!strings.Contains(d.Text, "http://"+appAddr+" is not answering (connection refused)") {
		t.Errorf("the tab shows %+v; want the 502 page naming the app and why", d)
	}
	t.Logf("502 page: %s", d.Text)
	return s
}

// TestDevProxyAppDownThenUp: the app is not running when the browser opens
// the proxy: it gets the 502 page. What happens when the app comes up:
//
//   - without --watch (and without --cmd, so without a runner) the proxy
//     notices the failed request, asks the app until it answers, and then
//     reloads the page by itself;
//   - with --watch, a save while the app is down makes the page wait
//     (probing with HEAD) and reload into the app once it answers, once:
//     the proxy's own "the app is back" reload is for pages still showing
//     the 502 page;
//   - with two tabs, one showing the app and one the 502 page, only the
//     502 page reloads when the app comes back.
func TestDevProxyAppDownThenUp(t *testing.T) {
	needChromium(t)
	t.Run("no watch", func(t *testing.T) {
		appAddr := freeAddr(t)
		dev := startDev(t, t.TempDir(), nil, "--proxy", "http://"+appAddr)
		p := newPage(t)
		p.navigate(dev.url("/"))
		base := checkDownPage(t, p, appAddr).now()

		listenOn(t, appAddr, appUp)
		if _, body := getBody(t, dev.url("/")); !strings.Contains(string(body), "the app is up") {
			t.Fatalf("the proxy does not reach the app yet: %s", body)
		}
		s := p.waitState("the app's page", 10*time.Second, func(s pageState) bool { return s.lastDoc().Text == "the app is up" })
		s = p.settle(dev.publish)
		if s.loadsSince(base) != 1 || s.lastDoc().Status != http.StatusOK {
			t.Errorf("%d loads, last document %+v; want one reload into the app", s.loadsSince(base), s.lastDoc())
		}
	})

	t.Run("watch", func(t *testing.T) {
		appAddr := freeAddr(t)
		src := t.TempDir()
		saveFile(t, filepath.Join(src, "page.html"), "one")
		dev := startDev(t, t.TempDir(), nil, "--proxy", "http://"+appAddr, "--watch", src)
		p := newPage(t)
		p.navigate(dev.url("/"))
		base := checkDownPage(t, p, appAddr).now()

		saveFile(t, filepath.Join(src, "page.html"), "two")
		p.waitState("the reload event on the 502 page", 10*time.Second, func(s pageState) bool { return len(s.reloadsSince(base)) > 0 })
		listenOn(t, appAddr, appUp)
		start := time.Now()
		p.waitState("the reload into the app", 15*time.Second, func(s pageState) bool { return s.lastDoc().Text == "the app is up" })
		t.Logf("app up → its page in the tab: %v (the client probes with backoff)", time.Since(start).Round(time.Millisecond))
		s := p.settle(dev.publish)
		checkReloaded(t, s, base, "the app is up", "page.html")
		if d := s.lastDoc(); d.Status != http.StatusOK {
			t.Errorf("last document %+v", d)
		}
	})

	t.Run("two tabs", func(t *testing.T) {
		appAddr := freeAddr(t)
		first := listenOn(t, appAddr, appUp)
		dev := startDev(t, t.TempDir(), nil, "--proxy", "http://"+appAddr)
		onApp := newPage(t)
		onApp.navigate(dev.url("/"))
		onApp.connected()
		appBase := onApp.waitState("the app's page", 10*time.Second, func(s pageState) bool { return s.lastDoc().Text == "the app is up" }).now()

		first.Close()
		onDown := newPage(t)
		onDown.navigate(dev.url("/"))
		downBase := checkDownPage(t, onDown, appAddr).now()

		listenOn(t, appAddr, appUp)
		onDown.waitState("the 502 page reloading into the app", 10*time.Second, func(s pageState) bool { return s.lastDoc().Text == "the app is up" })
		s := onDown.settle(dev.publish)
		if s.loadsSince(downBase) != 1 || s.lastDoc().Status != http.StatusOK {
			t.Errorf("the 502 tab: %d loads, last document %+v; want one reload into the app", s.loadsSince(downBase), s.lastDoc())
		}
		// The marker follows the proxy's reload on the stream, and the
		// client handles events in order: had the tab on the app taken
		// that reload, its sse:reload would be recorded by now.
		s = onApp.settle(dev.publish)
		if r := s.reloadsSince(appBase); len(r) != 0 || s.loadsSince(appBase) != 0 {
			t.Errorf("the tab showing the app took %d reloads (%v) and %d loads when the app came back; want none", len(r), r, s.loadsSince(appBase))
		}
	})
}

// TestDevProxyReloadsWithoutProbe: with the app answering, a save makes
// the dev proxy send its reload with probe: false, so the page reloads
// without a HEAD request first (one browser round trip less per save).
// The app down is TestDevProxyAppDownThenUp's "watch" case: there the page
// probes and waits.
func TestDevProxyReloadsWithoutProbe(t *testing.T) {
	needChromium(t)
	src := t.TempDir()
	saveFile(t, filepath.Join(src, "page.html"), "one")
	var mu sync.Mutex
	heads := 0
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			mu.Lock()
			heads++
			mu.Unlock()
		}
		b, _ := os.ReadFile(filepath.Join(src, "page.html"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>app</title></head><body>%s</body></html>", b)
	}))
	t.Cleanup(app.Close)
	// dev.morph: false, for a reload (a morph has no probe either; see
	// TestDevMorphKeepsState).
	dev := startDev(t, t.TempDir(), []string{"VALKSOR_SSE_DEV_MORPH=false"}, "--proxy", app.URL, "--watch", src)
	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	base := p.state().now()

	saveFile(t, filepath.Join(src, "page.html"), "two")
	p.waitState("the reload", 10*time.Second, func(s pageState) bool { return s.view().Text == "two" })
	s := p.settle(dev.publish)
	checkReloaded(t, s, base, "two", "page.html")
	mu.Lock()
	defer mu.Unlock()
	if heads != 0 {
		t.Errorf("the app got %d HEAD requests; the proxy knew it answered, so the page should not probe", heads)
	}
}

// TestDevCmdExitsAtOnce: dev --cmd false. The command fails at once; the
// log says so clearly, and the proxy keeps running and shows the failure
// on its 502 page.
func TestDevCmdExitsAtOnce(t *testing.T) {
	needChromium(t)
	appAddr := freeAddr(t)
	dev := startDev(t, t.TempDir(), nil, "--proxy", "http://"+appAddr, "--cmd", "false")
	dev.waitLog("the failure", `msg="app did not start`, 15*time.Second)
	for l := range strings.SplitSeq(dev.stderr.String(), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			t.Logf("stderr: %s", l)
		}
	}
	want := "app command exited with status 1 before answering on http://" + appAddr
	if !strings.Contains(dev.stderr.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, dev.stderr)
	}
	resp, _ := getBody(t, dev.url("/sse/healthz"))
	if resp.StatusCode != http.StatusOK || !dev.running() {
		t.Fatalf("healthz %d, running %v", resp.StatusCode, dev.running())
	}
	resp, body := getBody(t, dev.url("/"))
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), want) {
		t.Errorf("GET / through the proxy: %d\n%s\nwant the 502 page with the failure", resp.StatusCode, body)
	}

	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	if d := p.state().lastDoc(); d.Status != http.StatusBadGateway || !strings.Contains(d.Text, want) {
		t.Errorf("the tab shows %+v; want the 502 page with the failure", d)
	}
}
