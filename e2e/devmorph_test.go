package e2e_test

// Saving a page or template morphs the open page in place: what the user
// had on screen survives. Through "valksor-sse dev" in front of a backend
// that is not Go, with the fallback cases (each reloads, once), a page that
// answers 500, and dev --cmd with templates read per request or at start.

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/web"
)

// statePage is a page with state to lose: a form, enough content to
// scroll, and a paragraph the tests edit.
func statePage(edit string) string {
	return `<!doctype html>
<html><head><meta charset="utf-8"><title>state</title>
<style>.tall { height: 3000px; background: linear-gradient(#fff, #ccc); }</style>
</head><body>
<form id="f"><label>Name <input id="name" name="name"></label><textarea id="note"></textarea></form>
<details id="more"><summary>More</summary><p>hidden</p></details>
<p id="edit">` + edit + `</p>
<div class="tall"></div>
<p id="bottom">bottom</p>
</body></html>
`
}

// TestDevMorphKeepsState: dev --proxy in front of python3 -m http.server.
// The user types into an input, opens a <details>, scrolls, and a script
// sets a variable; saving the page's HTML shows the edit with nothing
// reloaded and all of that in place.
func TestDevMorphKeepsState(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "index.html")
	saveFile(t, page, statePage("version one"))
	app := proctest.Python(t, dir)
	dev := startDev(t, t.TempDir(), nil, "--proxy", app, "--watch", dir)
	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()

	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#name")), chromedp.SendKeys(chromedp.CSS("#name"), "typed by hand"),
		chromedp.SendKeys(chromedp.CSS("#name"), kb.ArrowLeft+kb.ArrowLeft)); err != nil {
		t.Fatalf("type into the input: %v", err)
	}
	mustEval[bool](p, `document.getElementById('more').open = true`)
	mustEval[int](p, `window.scrollTo(0, 1234), window.scrollY`)
	mustEval[string](p, `window.__marker = 'still here'`)
	before := mustEval[[]int](p, `[window.scrollY, document.getElementById('name').selectionStart]`)
	base := p.state().now()

	saveFile(t, page, strings.Replace(statePage("version two"), `<p id="bottom">`, `<p id="added">added</p><p id="bottom">`, 1))
	p.waitFor("the edit in the page", `document.getElementById('edit').textContent === 'version two' && !!document.getElementById('added')`, 10*time.Second)
	s := p.settle(dev.publish)
	checkMorphed(t, s, base, "version two", "index.html")

	type after struct {
		Marker  string `json:"marker"`
		Value   string `json:"value"`
		Focused bool   `json:"focused"`
		Caret   int    `json:"caret"`
		Open    bool   `json:"open"`
		ScrollY int    `json:"scrollY"`
	}
	got := mustEval[after](p, `({marker: String(window.__marker), value: document.getElementById('name').value,
		focused: document.activeElement === document.getElementById('name'), caret: document.getElementById('name').selectionStart,
		open: document.getElementById('more').open, scrollY: Math.round(window.scrollY)})`)
	want := after{Marker: "still here", Value: "typed by hand", Focused: true, Caret: before[1], Open: true, ScrollY: before[0]}
	if got != want {
		t.Errorf("after the morph the page has %+v, want %+v", got, want)
	}
	if before[1] != len("typed by hand")-2 {
		t.Errorf("the caret was at %d before the morph; the test meant to put it 2 from the end", before[1])
	}
}

// morphApp is a Go app whose page is the file page.html of its directory
// (read at each request), and /app.js its script. A page starting with
// "plain:" is sent as text/plain, one starting with "404:" with status
// 404. It counts the GETs of the page that carry web.RefreshHeader.
type morphApp struct {
	*httptest.Server
	dir string

	mu       sync.Mutex
	refreshs int
}

func newMorphApp(t *testing.T) *morphApp {
	t.Helper()
	a := &morphApp{dir: t.TempDir()}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/app.js" {
			w.Header().Set("Content-Type", "text/javascript")
			http.ServeFile(w, r, filepath.Join(a.dir, "app.js"))
			return
		}
		if r.Header.Get(web.RefreshHeader) == "1" {
			a.mu.Lock()
			a.refreshs++
			a.mu.Unlock()
		}
		b, err := os.ReadFile(filepath.Join(a.dir, "page.html"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		ct, status := "text/html; charset=utf-8", http.StatusOK
		if text, ok := strings.CutPrefix(string(b), "plain:"); ok {
			ct, b = "text/plain; charset=utf-8", []byte(text)
		}
		if text, ok := strings.CutPrefix(string(b), "404:"); ok {
			status, b = http.StatusNotFound, []byte(text)
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}))
	t.Cleanup(a.Close)
	return a
}

// refreshCount is the number of refresh GETs so far.
func (a *morphApp) refreshCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refreshs
}

// fallbackPage is a page with a head script, a module script in the body
// and a hook that makes DOM insertions throw once window.__breakMorph is
// set.
func fallbackPage(html, head, text, module string) string {
	return `<!doctype html>
<html` + html + `><head><meta charset="utf-8"><title>fallback</title>
<script src="/app.js"></script>` + head + `
<script>
for (const m of ['insertBefore', 'moveBefore']) {
  const orig = Element.prototype[m] || Node.prototype[m];
  if (!orig) continue;
  Element.prototype[m] = function (...a) { if (window.__breakMorph) throw new Error('broken on purpose'); return orig.apply(this, a); };
}
</script>
</head><body>
<p id="tpl">` + text + `</p>
<script type="module">window.__module = '` + module + `';</script>
</body></html>
`
}

// TestDevMorphFallbacks: each change a morph cannot redo reloads the page
// instead, once; a plain page edit next to it morphs (and its fetch is a
// single GET with the refresh header). dev.morph: false is
// TestDevProxyReloadsWithoutProbe; a cancelled sse:reload is TestReload.
func TestDevMorphFallbacks(t *testing.T) {
	needChromium(t)
	app := newMorphApp(t)
	saveFile(t, filepath.Join(app.dir, "app.js"), "window.__app = 1;\n")
	saveFile(t, filepath.Join(app.dir, "page.html"), fallbackPage("", "", "start", "m1"))
	dev := startDev(t, t.TempDir(), nil, "--proxy", app.URL, "--watch", app.dir)
	p := newPage(t)

	cases := []struct {
		name  string
		start string // the page before the change
		setup string // JS run before the change
		file  string // file saved (in the app's directory)
		data  string // its new content
		text  string // what the page shows after
		morph bool
	}{
		{"a body edit morphs", fallbackPage("", "", "one", "m1"), "", "page.html", fallbackPage("", "", "two", "m1"), "two", true},
		{"a changed head script", fallbackPage("", "", "one", "m1"), "", "page.html", fallbackPage("", `<script>window.__x = 2</script>`, "two", "m1"), "two", false},
		{"a changed module script", fallbackPage("", "", "one", "m1"), "", "page.html", fallbackPage("", "", "two", "m2"), "two", false},
		{"a changed import map", fallbackPage("", "", "one", "m1"), "", "page.html", fallbackPage("", `<script type="importmap">{"imports":{"x":"/x.js"}}</script>`, "two", "m1"), "two", false},
		{"an answer that is not 200", fallbackPage("", "", "one", "m1"), "", "page.html", "404:" + fallbackPage("", "", "two", "m1"), "two", false},
		{"an answer that is not HTML", fallbackPage("", "", "one", "m1"), "", "page.html", "plain:two", "two", false},
		{"a morph that throws", fallbackPage("", "", "one", "m1"), "window.__breakMorph = true", "page.html", fallbackPage("", "", "two", "m1") + "<p>new</p>", "two", false},
		{`<html data-valksor-morph="false">`, fallbackPage(` data-valksor-morph="false"`, "", "one", "m1"), "", "page.html", fallbackPage(` data-valksor-morph="false"`, "", "two", "m1"), "two", false},
		{"a saved script", fallbackPage("", "", "two", "m1"), "", "app.js", "window.__app = 2;\n", "two", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := p.in(t)
			// No page listens while the page of this case is saved.
			p.navigate("about:blank")
			batches := dev.batches()
			saveFile(t, filepath.Join(app.dir, "page.html"), c.start)
			waitUntil(t, "the watcher to send the save", 10*time.Second, func() bool { return dev.batches() > batches })
			p.navigate(dev.url("/"))
			p.connected()
			p.waitFor("the page and its module", `window.__module === 'm1'`, 10*time.Second)
			mustEval[string](p, `window.__marker = 'kept'`)
			if c.setup != "" {
				mustEval[bool](p, c.setup)
			}
			base := p.state().now()
			refreshs := app.refreshCount()
			saveFile(t, filepath.Join(app.dir, c.file), c.data)
			p.waitState("the page to change", 10*time.Second, func(s pageState) bool { return s.updatesSince(base) > 0 })
			if strings.HasPrefix(c.data, "plain:") {
				// A text page has no client to settle with: its document
				// is the one reload.
				s := p.waitState("the text page", 10*time.Second, func(s pageState) bool { return s.view().Text == c.text })
				if s.loadsSince(base) != 1 || len(s.morphsSince(base)) != 0 {
					t.Errorf("%d loads and %d morphs since the change; want one reload", s.loadsSince(base), len(s.morphsSince(base)))
				}
				return
			}
			s := p.settle(dev.publish)
			if c.morph {
				checkMorphed(t, s, base, c.text, c.file)
				if n := app.refreshCount() - refreshs; n != 1 {
					t.Errorf("the app got %d refresh GETs (%s: 1) for one morph, want 1", n, web.RefreshHeader)
				}
				if m := mustEval[string](p, `String(window.__marker)`); m != "kept" {
					t.Errorf("window.__marker = %q after the morph", m)
				}
				return
			}
			checkReloaded(t, s, base, c.text, c.file)
			if m := mustEval[string](p, `String(window.__marker)`); m != "undefined" {
				t.Errorf("window.__marker = %q: the page was not reloaded", m)
			}
		})
	}
}

// TestDevMorphPageError: a template that is half written, or a page that
// answers 500, shows the dev overlay with the error over the page as it
// was (no reload); the next good save morphs the page back and removes
// the overlay.
func TestDevMorphPageError(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	tplFile := filepath.Join(dir, "page.tmpl")
	saveFile(t, tplFile, `<p id="tpl">{{.Greeting}}, one</p>`)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As an app that parses its templates at each request does.
		tpl, err := template.ParseFiles(tplFile)
		if err != nil {
			http.Error(w, "template error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		var b strings.Builder
		if err := tpl.Execute(&b, map[string]string{"Greeting": "hello"}); err != nil {
			http.Error(w, "render error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>errors</title></head><body><main>%s</main></body></html>", b.String())
	}))
	t.Cleanup(app.Close)
	dev := startDev(t, t.TempDir(), nil, "--proxy", app.URL, "--watch", dir)
	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	mustEval[string](p, `window.__marker = 'kept'`)
	base := p.state().now()

	overlay := `(document.getElementById('valksor-sse-dev-overlay')?.shadowRoot?.textContent || '')`
	for i, bad := range []struct{ name, tpl, says string }{
		{"half-written template", `<p id="tpl">{{if .Greeting}}{{.Greeting}}, two</p>`, "template error: "},
		{"a page answering 500", `<p id="tpl">{{template "missing"}}</p>`, `render error: `},
	} {
		t.Run(bad.name, func(t *testing.T) {
			p := p.in(t)
			saveFile(t, tplFile, bad.tpl)
			p.waitFor("the overlay with the error", overlay+`.includes('the page answered 500')`, 10*time.Second)
			text := mustEval[string](p, overlay)
			if !strings.Contains(text, bad.says) {
				t.Errorf("the overlay says %q, want %q in it", text, bad.says)
			}
			s := p.settle(dev.publish)
			if s.loadsSince(base) != 0 || len(s.morphsSince(base)) != i {
				t.Errorf("%d loads and %d morphs since the start; the error must leave the page as it was", s.loadsSince(base), len(s.morphsSince(base)))
			}

			good := fmt.Sprintf(`<p id="tpl">{{.Greeting}}, fixed %d</p>`, i)
			saveFile(t, tplFile, good)
			want := fmt.Sprintf("hello, fixed %d", i)
			p.waitFor("the fixed page", `document.getElementById('tpl').textContent === '`+want+`'`, 10*time.Second)
			p.waitFor("the overlay to go", `!document.getElementById('valksor-sse-dev-overlay')`, 5*time.Second)
			s = p.settle(dev.publish)
			if s.loadsSince(base) != 0 || len(s.morphsSince(base)) != i+1 {
				t.Errorf("%d loads and %d morphs since the start; want the fix to morph the page", s.loadsSince(base), len(s.morphsSince(base)))
			}
			if m := mustEval[string](p, `String(window.__marker)`); m != "kept" {
				t.Errorf("window.__marker = %q: the page was replaced", m)
			}
		})
	}
}

// TestDevCmdTemplates: dev --cmd with a Go app whose page shows a
// template. Read at each request (the default), a template save morphs
// the page at once, without a restart; read at start, --restart
// 'templates/**' restarts the app and morphs the page once it answers.
func TestDevCmdTemplates(t *testing.T) {
	needChromium(t)
	src, err := os.ReadFile(filepath.Join("testdata", "devloop", "app", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		atStart string
		args    []string
		restart bool
	}{
		{"read per request", "", nil, false},
		{"read at start, --restart", "1", []string{"--restart", "templates/**"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			saveFile(t, filepath.Join(dir, "go.mod"), "module devapp\n\ngo 1.26\n")
			saveFile(t, filepath.Join(dir, "main.go"), string(src))
			tpl := filepath.Join(dir, "templates", "page.html")
			saveFile(t, tpl, `<p id="tpl">template one</p>`)
			appAddr := freeAddr(t)
			pgids := filepath.Join(t.TempDir(), "pgids")
			killGroups(t, pgids)
			env := []string{"DEVAPP_ADDR=" + appAddr, "DEVAPP_PGID_FILE=" + pgids, "GOTOOLCHAIN=local", "DEVAPP_TEMPLATE=" + tpl, "DEVAPP_TEMPLATE_AT_START=" + c.atStart}
			dev := startDev(t, dir, env, append([]string{"--proxy", "http://" + appAddr, "--cmd", "go run .", "--watch", dir}, c.args...)...)
			p := newPage(t)
			p.navigate(dev.url("/"))
			p.waitFor("the app's page", `document.getElementById('tpl')?.textContent === 'template one'`, 60*time.Second)
			p.connected()
			mustEval[string](p, `window.__marker = 'kept'`)
			started := mustEval[string](p, `document.body.dataset.started`)
			runs := dev.count(`msg="app starting"`)
			base := p.state().now()

			saveFile(t, tpl, `<p id="tpl">template two</p>`)
			p.waitState("the page to change", 60*time.Second, func(s pageState) bool { return s.updatesSince(base) > 0 })
			s := p.settle(dev.publish)
			checkMorphed(t, s, base, "template two", "templates/page.html")
			if m := mustEval[string](p, `String(window.__marker)`); m != "kept" {
				t.Errorf("window.__marker = %q after the morph", m)
			}
			restarted := dev.count(`msg="app starting"`) > runs
			nowStarted := mustEval[string](p, `document.body.dataset.started`)
			if restarted != c.restart || (nowStarted != started) != c.restart {
				t.Errorf("restarted: %v (the page's start time %s → %s), want %v", restarted, started, nowStarted, c.restart)
			}
		})
	}
}

// TestDevMorphCSPNonce: an app whose Content-Security-Policy allows
// scripts by a nonce that changes with every answer. The proxy gives the
// injected scripts that nonce; the morph compares scripts without it, so a
// body edit still morphs, and the app's inline script does not run again.
func TestDevMorphCSPNonce(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "body.html")
	saveFile(t, page, `<p id="tpl">nonce one</p>`)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := os.ReadFile(page)
		nonce := randomHex(12)
		w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+nonce+"'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>csp</title>
<script nonce="%s">window.__runs = (window.__runs || 0) + 1;</script></head><body>%s</body></html>`, nonce, body)
	}))
	t.Cleanup(app.Close)
	dev := startDev(t, t.TempDir(), nil, "--proxy", app.URL, "--watch", dir)
	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	mustEval[string](p, `window.__marker = 'kept'`)
	base := p.state().now()

	saveFile(t, page, `<p id="tpl">nonce two</p>`)
	p.waitState("the page to change", 10*time.Second, func(s pageState) bool { return s.updatesSince(base) > 0 })
	checkMorphed(t, p.settle(dev.publish), base, "nonce two", "body.html")
	if got := mustEval[string](p, `window.__marker + ' ' + window.__runs`); got != "kept 1" {
		t.Errorf("marker and runs of the inline script: %q, want \"kept 1\"", got)
	}
}
