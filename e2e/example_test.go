package e2e_test

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/valksor/go-sse/internal/proctest"
)

var (
	exampleOnce sync.Once
	exampleBin  string
	exampleErr  error
	// removeExample removes the example's binary; runTests calls it.
	removeExample = func() {}
)

// buildExample builds ./examples/app once, next to the valksor-sse binary.
func buildExample(t *testing.T) string {
	t.Helper()
	exampleOnce.Do(func() {
		exampleBin, removeExample, exampleErr = proctest.Build("./examples/app", "example-app", false)
	})
	if exampleErr != nil {
		t.Fatalf("build the example app: %v", exampleErr)
	}
	return exampleBin
}

var exampleListening = regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/`)

// startExample runs the example app as a user would (`go run ./examples/app`,
// here with --addr 127.0.0.1:0) and returns its URL once it listens. The
// process is killed when the test ends.
func startExample(t *testing.T) string {
	t.Helper()
	stderr := &syncBuffer{}
	cmd := exec.Command(buildExample(t), "--addr", "127.0.0.1:0")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		proctest.End(cmd.Process, done)
		if t.Failed() {
			t.Logf("example app stderr:\n%s", stderr)
		}
	})
	var m []string
	switch proctest.Poll(20*time.Second, done, func() bool { m = exampleListening.FindStringSubmatch(stderr.String()); return m != nil }) {
	case proctest.ErrStopped:
		t.Fatalf("the example app exited before listening:\n%s", stderr)
	case proctest.ErrTimeout:
		t.Fatalf("the example app is not listening after 20s:\n%s", stderr)
	}
	return m[1]
}

// openExample opens the example page in a new tab and waits until its
// client is connected and its custom-notification listener is active.
func openExample(t *testing.T, base string) *tab {
	t.Helper()
	tb := newTab(t)
	tb.navigate(base + "/")
	tb.waitFor("the page to show the connection", `window.sseClient && sseClient.isConnected() && document.getElementById('state').textContent === 'connected'`, 10*time.Second)
	tb.eval(listenBarrier)
	return tb
}

// TestExampleApp opens the example app in two tabs, submits the notify form
// in one (a message in its field, a click on its button): the notification
// appears in both, through the client. Then the reload button reloads both
// tabs, and the curl commands of examples/app/README.md, run from outside
// the browser, notify and reload again.
func TestExampleApp(t *testing.T) {
	needCommand(t, "curl")
	checkExampleCommands(t)
	base := startExample(t)
	a, b := openExample(t, base), openExample(t, base)

	const msg = "Deploy finished <ok>"
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	input := chromedp.CSS(`#notify input[name="message"]`)
	if err := chromedp.Do(ctx,
		chromedp.SetValue(input, msg),
		chromedp.Click(chromedp.CSS(`#notify button`)),
	); err != nil {
		t.Fatalf("submit the notify form: %v", err)
	}
	for name, tb := range map[string]*tab{"a": a, "b": b} {
		tb.waitFor("tab "+name+" to show the notification",
			`[...document.querySelectorAll('#notifications li.notification.info')].some((li) => li.textContent.endsWith('[info] Deploy finished <ok>'))`,
			10*time.Second)
	}
	if n := evalInto[int](a, `document.querySelectorAll('#notifications li').length`); n != 1 {
		t.Fatalf("%d notifications, want 1", n)
	}
	if e := evalInto[string](a, `document.getElementById('error').textContent`); e != "" {
		t.Fatalf("the page shows an error: %s", e)
	}

	// The reload button: every tab reloads.
	for _, tb := range []*tab{a, b} {
		tb.eval(`window.__marker = 1`)
	}
	a.eval(`document.querySelector('#reload button').click()`)
	for _, tb := range []*tab{a, b} {
		tb.waitFor("the reload", `window.__marker === undefined && performance.getEntriesByType('navigation')[0].type === 'reload' && window.sseClient && sseClient.isConnected()`, 15*time.Second)
	}

	// The README's curl commands, from outside the browser: a
	// notification, then a reload.
	curls := docCommands(t, docBlocks(t, "examples/app/README.md", 2)[1], "")
	if len(curls) != 2 {
		t.Fatalf("the README's curl block has the commands %q, want two", curls)
	}
	addr := strings.TrimPrefix(base, "http://")
	runDocCommands(t, t.TempDir(), curls[:1], nil, "localhost:8000", addr)
	b.waitFor("the notification sent with curl", `[...document.querySelectorAll('#notifications li.notification.info')].some((li) => li.textContent.endsWith('[info] Hello'))`, 10*time.Second)
	b.eval(`window.__marker = 2; ` + listenBarrier)
	runDocCommands(t, t.TempDir(), curls[1:], nil, "localhost:8000", addr)
	b.waitFor("the reload", `window.__marker === undefined && window.sseClient && sseClient.isConnected()`, 15*time.Second)
}

// checkExampleCommands checks that the commands of the Run block of
// examples/app/README.md are what startExample runs: the program of
// ./examples/app, with no flag but --addr (to which it gives a free port).
func checkExampleCommands(t *testing.T) {
	t.Helper()
	for _, c := range docCommands(t, docBlocks(t, "examples/app/README.md", 2)[0], "") {
		w := docWords(t, c)
		if len(w) < 3 || strings.Join(w[:3], " ") != "go run ./examples/app" || (len(w) > 3 && (w[3] != "--addr" || len(w) != 5)) {
			t.Fatalf("examples/app/README.md runs %q; the test runs the program of ./examples/app with --addr", c)
		}
	}
}
