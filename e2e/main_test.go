package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/valksor/go-sse/internal/proctest"
)

var (
	// bin is the valksor-sse binary built once for these tests.
	bin string
	// browser is the chromedp context of the shared Chromium; nil when it
	// could not be started, with the reason in browserErr.
	browser    context.Context
	browserErr error
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	var remove func()
	var err error
	bin, remove, err = proctest.Build("./cmd/valksor-sse", "valksor-sse", false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build valksor-sse:", err)
		return 1
	}
	defer remove()
	defer func() {
		if removeExample != nil {
			removeExample()
		}
	}()
	stop := startBrowser(filepath.Join(filepath.Dir(bin), "profile"))
	defer stop()
	return m.Run()
}

// chromiumPath finds the browser: Debian's /usr/bin/chromium, else a
// chromium on PATH.
func chromiumPath() (string, error) {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium at /usr/bin/chromium or on PATH (apt-get install chromium)")
}

// startBrowser starts the Chromium that every test shares, each in its own
// tabs. It returns the function that stops it.
func startBrowser(profile string) (stop func()) {
	path, err := chromiumPath()
	if err != nil {
		browserErr = err
		return func() {}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(30 * time.Second):
		err = errors.New("chromium did not start within 30s")
	}
	if err != nil {
		cancel()
		cancelAlloc()
		browserErr = fmt.Errorf("start %s: %w", path, err)
		return func() {}
	}
	browser = ctx
	return func() {
		cancel()
		cancelAlloc()
	}
}

// needBrowser skips the test when there is no browser, or fails it under CI
// (CI=true), which must never skip the browser tests.
func needBrowser(t *testing.T) {
	t.Helper()
	if browser != nil {
		return
	}
	msg := "headless Chromium is not available: " + browserErr.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// syncBuffer is a buffer the test reads while a process or logger writes.
type syncBuffer = proctest.Buffer

// server is a running valksor-sse process.
type server struct {
	t      *testing.T
	dir    string
	port   int
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

// listening matches the line valksor-sse prints once it listens; its
// third group is the port.
var listening = proctest.Listening

// startServer runs `valksor-sse serve --port port` in dir (port 0 picks a
// free one) and waits until it listens. The process is killed when the test
// ends.
func startServer(t *testing.T, dir string, port int) *server {
	t.Helper()
	s := &server{t: t, dir: dir, stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--port", strconv.Itoa(port))
	s.cmd.Dir = dir
	s.cmd.Env = cleanEnv()
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		proctest.End(s.cmd.Process, s.done)
		if t.Failed() {
			t.Logf("valksor-sse (port %d) stderr:\n%s", s.port, s.stderr)
		}
	})
	s.awaitListening()
	return s
}

// awaitListening waits until the server says it listens, and notes its port.
func (s *server) awaitListening() {
	s.t.Helper()
	var m []string
	switch proctest.Poll(20*time.Second, s.done, func() bool { m = listening.FindStringSubmatch(s.stderr.String()); return m != nil }) {
	case proctest.ErrStopped:
		s.t.Fatalf("valksor-sse exited before listening:\n%s", s.stderr)
	case proctest.ErrTimeout:
		s.t.Fatalf("valksor-sse not listening after 20s:\n%s", s.stderr)
	}
	s.port, _ = strconv.Atoi(m[3])
}

// cleanEnv is the environment without the caller's VALKSOR_SSE_* variables.
func cleanEnv() []string { return proctest.Env() }

// url is the server's URL for path.
func (s *server) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", s.port, path) }

// stop sends sig and waits for the process to exit.
func (s *server) stop(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatalf("valksor-sse still running 20s after %v", sig)
	}
}

// publish runs `valksor-sse publish args... --port P` in the server's
// directory, as a user would, and fails the test if it fails.
func (s *server) publish(args ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"publish"}, append(args, "--port", strconv.Itoa(s.port))...)...)
	cmd.Dir = s.dir
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("valksor-sse publish %q: %v\n%s", args, err, out)
	}
}

// connections reads the number of open streams from the health endpoint,
// which shows them only to the publish token: the one the server wrote to
// its token file (token_file) on its first start.
func (s *server) connections() int {
	s.t.Helper()
	token, err := os.ReadFile(filepath.Join(s.dir, "var", "run", "valksor-sse.token"))
	if err != nil {
		s.t.Fatalf("the server's publish token: %v", err)
	}
	req, err := http.NewRequest(http.MethodGet, s.url("/sse/healthz"), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Status      string `json:"status"`
		Connections *int   `json:"connections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Connections == nil {
		s.t.Fatalf("healthz: %v (status %q)", err, h.Status)
	}
	return *h.Connections
}

// tab is a browser tab of the shared Chromium.
type tab struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	logs   *syncBuffer
}

// newTab opens a tab; it is closed when the test ends. The page's console
// output and uncaught exceptions are logged if the test fails.
func newTab(t *testing.T) *tab {
	t.Helper()
	needBrowser(t)
	ctx, cancel := chromedp.NewContext(browser)
	tb := &tab{t: t, ctx: ctx, cancel: cancel, logs: &syncBuffer{}}
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			fmt.Fprintf(tb.logs, "console.%s: %s\n", ev.Type, strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				desc = d.Exception.Description
			}
			fmt.Fprintf(tb.logs, "uncaught: %s (%s:%d)\n", desc, d.URL, d.LineNumber)
		}
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tab console:\n%s", tb.logs)
		}
		tb.close()
	})
	return tb
}

// close closes the tab (the page gets pagehide). It may be called twice.
func (tb *tab) close() {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	_ = chromedp.Cancel(ctx)
	tb.cancel()
}

// navigate loads url and waits for its load event.
func (tb *tab) navigate(url string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		tb.t.Fatalf("navigate to %s: %v", url, err)
	}
}

// evalInto evaluates expr in the page, awaiting a returned promise (up to
// 15s), and returns the result decoded as T.
func evalInto[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// eval evaluates expr and awaits a returned promise, ignoring its value.
func (tb *tab) eval(expr string) {
	tb.t.Helper()
	evalInto[chromedp.Void](tb, expr)
}

// waitFor polls the page until expr is truthy, failing the test after
// within. Errors while polling (such as during a reload) count as false.
func (tb *tab) waitFor(what, expr string, within time.Duration) {
	tb.t.Helper()
	js := "(() => { try { return !!(" + expr + ") } catch { return false } })()"
	var err error
	if proctest.Poll(within, nil, func() bool {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		defer cancel()
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		return err == nil && ok
	}) != nil {
		tb.t.Fatalf("waited %v for %s (%s); last error: %v", within, what, expr, err)
	}
}

// openDemo opens the server's demo page in a new tab and waits until the
// client is connected.
func openDemo(t *testing.T, s *server) *tab {
	t.Helper()
	tb := newTab(t)
	tb.navigate(s.url("/"))
	tb.waitFor("the client to connect", "window.sseClient && sseClient.isConnected()", 10*time.Second)
	return tb
}

// site is a web server on another origin (127.0.0.1, another port). It
// serves the files of dir; with an upstream it also proxies /sse and below
// to that valksor-sse server. It can answer 503 to HEAD requests (the
// reload probe) and to new event streams, and cut the open streams.
type site struct {
	*httptest.Server
	t     *testing.T
	proxy *httputil.ReverseProxy

	mu         sync.Mutex
	pageDown   bool // HEAD answers 503
	heads      int  // HEAD requests answered 503
	refuse     bool // new streams answer 503
	refused    int  // streams answered 503
	noWorker   bool // the worker script answers 404
	streamURLs []string
	open       map[*http.Request]context.CancelFunc
}

func newSite(t *testing.T, dir string, upstream *server) *site {
	t.Helper()
	s := &site{t: t, open: map[*http.Request]context.CancelFunc{}}
	if upstream != nil {
		u, err := url.Parse(upstream.url(""))
		if err != nil {
			t.Fatal(err)
		}
		s.proxy = httputil.NewSingleHostReverseProxy(u)
		s.proxy.FlushInterval = -1
		s.proxy.ErrorLog = log.New(io.Discard, "", 0)
	}
	files := http.FileServer(http.Dir(dir))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		switch {
		case s.proxy != nil && r.URL.Path == "/sse" && r.Method == http.MethodGet:
			s.stream(w, r)
		case r.URL.Path == "/sse/worker.js" && get(s, func(s *site) bool { return s.noWorker }):
			http.NotFound(w, r)
		case s.proxy != nil && strings.HasPrefix(r.URL.Path, "/sse/"):
			s.proxy.ServeHTTP(w, r)
		case r.Method == http.MethodHead && s.down():
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			files.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) down() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pageDown {
		s.heads++
	}
	return s.pageDown
}

func (s *site) stream(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s.mu.Lock()
	s.streamURLs = append(s.streamURLs, r.URL.RequestURI())
	if s.refuse {
		s.refused++
		s.mu.Unlock()
		http.Error(w, "refused by the test", http.StatusServiceUnavailable)
		return
	}
	s.open[r] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.open, r)
		s.mu.Unlock()
	}()
	s.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// set changes the site's state under its lock.
func (s *site) set(f func(s *site)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// get reads the site's state under its lock.
func get[T any](s *site, f func(s *site) T) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s)
}

// waitUntil polls cond until it holds, failing the test after within.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	proctest.Await(t, within, what, cond)
}
