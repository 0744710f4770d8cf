package e2e_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPythonExample follows examples/python/README.md: the command of its
// "Run it" block (the same binary and flags, with the app on a free port
// instead of 8000 and the proxy on a free one instead of 3000) in a copy
// of the example, then its "What to try" list in Chromium: a saved
// template morphs the page (the text typed into the form stays), a saved
// stylesheet is swapped in place, a saved app.py restarts the app and the
// page shows what it now renders, and the form posts through the proxy.
func TestPythonExample(t *testing.T) {
	needChromium(t)
	needCommand(t, "python3")
	dir := copyExample(t, "python")
	cmds := docCommands(t, docBlocks(t, "examples/python/README.md", 1)[0], "examples/python")
	if len(cmds) != 1 {
		t.Fatalf("the Run it block has the commands %q, want one", cmds)
	}
	_, appPort, _ := net.SplitHostPort(freeAddr(t))
	env, args := valksorCommand(t, cmds[0], "8000", appPort)
	// The proxy listens on dev.listen, localhost:3000 by default: here on
	// a free port.
	dev := startProc(t, dir, append(env, "VALKSOR_SSE_DEV_LISTEN=127.0.0.1:0"), devListening, args...)
	dev.waitLog("the app to answer", `msg="app ready"`, 30*time.Second)
	dev.waitLog("the watcher to start", "watching for changes", 10*time.Second)

	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	const greeting = `document.getElementById('greeting').textContent`
	const color = `getComputedStyle(document.getElementById('greeting')).color`
	const note = `document.querySelector('input[name=note]').value`
	if got := mustEval[string](p, greeting); got != "Hello from Python" {
		t.Fatalf("the page shows %q", got)
	}
	if got := mustEval[string](p, color); got != "rgb(20, 90, 160)" {
		t.Fatalf("the heading's colour is %s, want static/app.css's rgb(20, 90, 160)", got)
	}

	// 1. Type into the field, save the template: the page morphs, and
	// keeps what was typed.
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input[name=note]`), "half-typed note")); err != nil {
		t.Fatalf("type into the field: %v", err)
	}
	before := p.state().now()
	editFile(t, filepath.Join(dir, "templates", "index.html"), "this page changes in place.", "this page changed in place.")
	p.waitFor("the saved template", `document.getElementById('hint').textContent.includes('changed in place')`, 15*time.Second)
	s := p.state()
	if s.loadsSince(before) != 0 || len(s.morphsSince(before)) == 0 {
		t.Errorf("after the template's save: %d loads, %d morphs; want the page morphed, not reloaded", s.loadsSince(before), len(s.morphsSince(before)))
	}
	if got := mustEval[string](p, note); got != "half-typed note" {
		t.Errorf("the field holds %q after the morph, want what was typed", got)
	}

	// 2. Save the stylesheet: swapped in place, no reload, no morph.
	before = p.state().now()
	editFile(t, filepath.Join(dir, "static", "app.css"), "rgb(20, 90, 160)", "rgb(160, 40, 20)")
	p.waitFor("the saved stylesheet", color+` === 'rgb(160, 40, 20)'`, 15*time.Second)
	if s := p.state(); s.loadsSince(before) != 0 || len(s.morphsSince(before)) != 0 {
		t.Errorf("after the stylesheet's save: %d loads, %d morphs; want the stylesheet swapped in place", s.loadsSince(before), len(s.morphsSince(before)))
	}

	// 3. Save app.py: dev restarts the app, then the page shows what the
	// new app renders.
	editFile(t, filepath.Join(dir, "app.py"), `GREETING = "Hello from Python"`, `GREETING = "Hello again from Python"`)
	p.waitFor("the greeting of the restarted app", greeting+` === 'Hello again from Python'`, 30*time.Second)
	if n := dev.count(`msg="app starting"`); n != 2 {
		t.Errorf("the app started %d times, want twice (a restart for app.py)", n)
	}
	p.connected()

	// 4. The form posts to the app through the proxy, which follows the
	// app's redirect back to the page.
	ctx, cancel = context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`input[name=note]`), "buy milk"),
		chromedp.Click(chromedp.CSS(`form button`)),
	); err != nil {
		t.Fatalf("submit the form: %v", err)
	}
	p.waitFor("the new note", `[...document.querySelectorAll('#notes li')].some((li) => li.textContent === 'buy milk')`, 15*time.Second)
	if !strings.HasPrefix(mustEval[string](p, `location.href`), dev.url("/")) {
		t.Errorf("the page left the proxy: %s", mustEval[string](p, `location.href`))
	}
}
