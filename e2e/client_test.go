package e2e_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listenBarrier is JS that returns a promise settled once listeners added
// before it are active: in shared-worker mode the worker handles the
// tab's messages in order, so a ping answered means the listen was seen.
const listenBarrier = `sseClient.ping()`

// TestDemoPageConnectsAndPings opens the demo page: the client connects,
// shows its connection id, and ping resolves to a round-trip time.
func TestDemoPageConnectsAndPings(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	tb := openDemo(t, srv)

	rtt := evalInto[float64](tb, `sseClient.ping()`)
	if rtt <= 0 || rtt > 5000 {
		t.Fatalf("ping resolved to %v ms, want a round-trip time", rtt)
	}
	id := evalInto[string](tb, `sseClient.connectionId`)
	if len(id) < 8 {
		t.Fatalf("connectionId = %q", id)
	}
	tb.waitFor("the page to show the connection id",
		`document.getElementById('conn').textContent === sseClient.connectionId && document.getElementById('state').textContent === 'connected'`,
		5*time.Second)
	// Importing the module again, even from another URL, gives the same client.
	same := evalInto[bool](tb, `Promise.all([import('/sse/client.js'), import('/sse/client.js?again')]).then(
		([a, b]) => a.default === window.sseClient && b.default === window.sseClient && typeof b.connect === 'function')`)
	if !same {
		t.Fatal("a second import created another client")
	}
	// The demo page's button does the same through the UI.
	tb.eval(`document.getElementById('ping').click()`)
	tb.waitFor("the ping button to show the RTT", `/round trip [0-9.]+ ms/.test(document.getElementById('rtt').textContent)`, 5*time.Second)
}

// TestCustomEvent publishes a custom event with the CLI; a listener added
// with sseClient.addEventListener gets it with its data parsed.
func TestCustomEvent(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	tb := openDemo(t, srv)

	tb.eval(`window.__got = new Promise((ok) => sseClient.addEventListener('custom-event', ok)); ` + listenBarrier)
	srv.publish("--type", "custom-event", "--data", `{"a":1}`)

	type event struct {
		Type string         `json:"type"`
		Data map[string]int `json:"data"`
		Raw  string         `json:"raw"`
		ID   string         `json:"id"`
	}
	got := evalInto[event](tb, `window.__got.then((e) => ({type: e.type, data: e.data, raw: e.raw, id: e.id}))`)
	if got.Type != "custom-event" || got.Data["a"] != 1 || got.Raw != `{"a":1}` || got.ID == "" {
		t.Fatalf("listener got %+v, want custom-event with data {a: 1} and an id", got)
	}
	if last := evalInto[string](tb, `sseClient.lastEventId`); last != got.ID {
		t.Fatalf("lastEventId = %q, want the event's id %q", last, got.ID)
	}
}

// TestReload publishes reload: the page reloads, unless a sse:reload
// listener prevents it.
func TestReload(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)

	t.Run("reloads", func(t *testing.T) {
		tb := openDemo(t, srv)
		tb.eval(`window.__marker = 1; ` + listenBarrier)
		srv.publish("reload")
		tb.waitFor("the page to load again",
			`window.__marker === undefined && performance.getEntriesByType('navigation')[0].type === 'reload' && window.sseClient && sseClient.isConnected()`,
			15*time.Second)
	})

	t.Run("prevented", func(t *testing.T) {
		tb := openDemo(t, srv)
		tb.eval(`window.__marker = 1; window.__prevented = 0;
			addEventListener('sse:reload', (e) => { e.preventDefault(); window.__prevented++; });
			window.__after = new Promise((ok) => sseClient.addEventListener('after-reload', ok));
			` + listenBarrier)
		srv.publish("reload")
		tb.waitFor("sse:reload to be dispatched", `window.__prevented === 1`, 10*time.Second)
		// An event published after the reload arrives in the same document.
		srv.publish("--type", "after-reload", "--data", `{}`)
		same := evalInto[bool](tb, `window.__after.then(() => window.__marker === 1 && performance.getEntriesByType('navigation')[0].type === 'navigate')`)
		if !same {
			t.Fatal("the page reloaded although sse:reload was prevented")
		}
	})

	// A reload that would morph (it names a page) is prevented the same
	// way: the page is not even fetched.
	t.Run("prevented morph", func(t *testing.T) {
		tb := openDemo(t, srv)
		tb.eval(`window.__marker = 1; window.__prevented = 0; window.__morphs = 0;
			addEventListener('sse:reload', (e) => { e.preventDefault(); window.__prevented++; });
			addEventListener('sse:morph', () => window.__morphs++);
			window.__after = new Promise((ok) => sseClient.addEventListener('after-reload', ok));
			` + listenBarrier)
		srv.publish("reload", "--data", `{"files":["templates/index.html"]}`)
		tb.waitFor("sse:reload to be dispatched", `window.__prevented === 1`, 10*time.Second)
		srv.publish("--type", "after-reload", "--data", `{}`)
		fetches := evalInto[int](tb, `window.__after.then(() => window.__marker === 1 && window.__morphs === 0 ?
			performance.getEntriesByType('resource').filter((r) => r.name === location.href).length : -1)`)
		if fetches != 0 {
			t.Fatalf("after a prevented sse:reload the page was fetched %d times (-1: it was reloaded or morphed)", fetches)
		}
	})
}

// TestCSSUpdateCrossOrigin serves a page and its digested stylesheet from
// another origin; the page loads the client from the valksor-sse server
// (meta tags for discovery, one EventSource per tab since the stream is
// cross-origin). A css-update swaps the stylesheet without a reload; one
// naming an unknown file reloads the page.
func TestCSSUpdateCrossOrigin(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)

	site := t.TempDir()
	css := filepath.Join(site, "css", "app-3f2a1b9c.css")
	write := func(path, s string) { writeFile(t, path, s) }
	write(css, `#box { color: rgb(255, 0, 0); }`)
	write(filepath.Join(site, "other.css"), `body { margin: 0; }`)
	write(filepath.Join(site, "index.html"), fmt.Sprintf(`<!doctype html>
<html><head>
<meta name="valksor-sse-port" content="%d">
<meta name="valksor-sse-path" content="/sse">
<link rel="stylesheet" href="/other.css">
<link rel="stylesheet" href="/css/app-3f2a1b9c.css">
<script type="module" src="%s"></script>
</head><body><div id="box">styled</div></body></html>`, srv.port, srv.url("/sse/client.js")))
	ts := newSite(t, site, nil)

	tb := newTab(t)
	tb.navigate(ts.URL + "/index.html")
	tb.waitFor("the client to connect cross-origin", `window.sseClient && sseClient.isConnected()`, 10*time.Second)
	const color = `getComputedStyle(document.getElementById('box')).color`
	if c := evalInto[string](tb, color); c != "rgb(255, 0, 0)" {
		t.Fatalf("initial color %q", c)
	}
	if u := evalInto[string](tb, `sseClient.url`); !strings.HasPrefix(u, srv.url("/sse")) {
		t.Fatalf("client discovered %q, want the server %s", u, srv.url("/sse"))
	}
	// Ping works cross-origin too (POST with CORS).
	if rtt := evalInto[float64](tb, `sseClient.ping()`); rtt <= 0 {
		t.Fatalf("ping = %v", rtt)
	}
	// Record whether the page is ever left without the loaded stylesheet.
	tb.eval(`window.__marker = 1; window.__bare = 0;
		new MutationObserver(() => {
			const links = [...document.querySelectorAll('link[href*="app-3f2a1b9c.css"]')];
			if (!links.some((l) => l.sheet)) window.__bare++;
		}).observe(document.head, {childList: true})`)

	write(css, `#box { color: rgb(0, 0, 255); }`)
	srv.publish("css-update", "--data", `{"files":["assets/css/app.css"]}`)
	tb.waitFor("the new stylesheet to apply", color+` === 'rgb(0, 0, 255)'`, 10*time.Second)
	tb.waitFor("the old link to be removed",
		`document.querySelectorAll('link[href*="app-3f2a1b9c.css"]').length === 1 && document.querySelector('link[href*="app-3f2a1b9c.css"]').href.includes('v=')`,
		5*time.Second)
	if !evalInto[bool](tb, `window.__marker === 1 && performance.getEntriesByType('navigation')[0].type === 'navigate'`) {
		t.Fatal("the page reloaded on css-update")
	}
	if bare := evalInto[int](tb, `window.__bare`); bare != 0 {
		t.Fatalf("the page was without the stylesheet %d times during the swap", bare)
	}
	if n := evalInto[int](tb, `document.querySelectorAll('link[href="/other.css"]').length`); n != 1 {
		t.Fatalf("the other stylesheet was touched: %d links", n)
	}
	if n := srv.connections(); n != 1 {
		t.Fatalf("healthz connections = %d, want 1", n)
	}

	// A file that matches no stylesheet falls back to a reload.
	srv.publish("css-update", "--data", `{"files":["assets/css/missing.css"]}`)
	tb.waitFor("the fallback reload", `window.__marker === undefined && performance.getEntriesByType('navigation')[0].type === 'reload'`, 15*time.Second)
}

// TestReconnectAfterRestart stops the server and starts it again on the
// same port: the client reconnects by itself, sse:open fires again, and
// an event published after the restart arrives exactly once.
func TestReconnectAfterRestart(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			srv := startServer(t, dir, 0)
			tb := openDemo(t, srv)
			tb.eval(`window.__opens = 0; window.__closes = 0; window.__got = 0; window.__fence = 0;
				addEventListener('sse:open', () => window.__opens++);
				addEventListener('sse:close', () => window.__closes++);
				sseClient.addEventListener('after-restart', () => window.__got++);
				sseClient.addEventListener('fence', () => window.__fence++);
				` + listenBarrier)

			srv.stop(sig)
			tb.waitFor("the client to notice the server is gone", `!sseClient.isConnected() && window.__closes === 1`, 10*time.Second)
			srv = startServer(t, dir, srv.port)
			tb.waitFor("the client to reconnect", `sseClient.isConnected() && window.__opens === 1`, 20*time.Second)

			srv.publish("--type", "after-restart", "--data", `{"n":1}`)
			tb.waitFor("the event published after the restart", `window.__got === 1`, 10*time.Second)
			srv.publish("--type", "fence", "--data", `{}`)
			tb.waitFor("the fence event", `window.__fence === 1`, 10*time.Second)
			counts := evalInto[[]int](tb, `[window.__got, window.__opens, window.__closes]`)
			if counts[0] != 1 || counts[1] != 1 || counts[2] != 1 {
				t.Fatalf("after-restart events %d, opens %d, closes %d; want 1 each", counts[0], counts[1], counts[2])
			}
		})
	}
}

// TestTabsShareOneConnection opens the demo page in eight tabs of one
// origin: they share one stream through the SharedWorker, and all of them
// receive a published event.
func TestTabsShareOneConnection(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	tabs := make([]*tab, 8)
	for i := range tabs {
		tabs[i] = openDemo(t, srv)
		tabs[i].eval(`window.__got = []; sseClient.addEventListener('fanout', (e) => window.__got.push(e.data)); ` + listenBarrier)
	}
	if n := srv.connections(); n != 1 {
		t.Fatalf("healthz connections = %d with %d tabs open, want 1 shared stream", n, len(tabs))
	}
	ids := map[string]bool{}
	for _, tb := range tabs {
		ids[evalInto[string](tb, `sseClient.connectionId`)] = true
	}
	if len(ids) != 1 {
		t.Fatalf("tabs report %d connection ids, want 1: %v", len(ids), ids)
	}

	srv.publish("--type", "fanout", "--data", `{"x":1}`)
	for i, tb := range tabs {
		tb.waitFor(fmt.Sprintf("tab %d to get the event", i), `window.__got.length === 1`, 10*time.Second)
	}
	for i, tb := range tabs {
		raw := evalInto[[]byte](tb, `window.__got`)
		if string(raw) != `[{"x":1}]` {
			t.Fatalf("tab %d got %s", i, raw)
		}
	}

	// Tabs that leave do not take the shared stream from those that stay.
	for _, tb := range tabs[1:] {
		tb.close()
	}
	srv.publish("--type", "fanout", "--data", `{"x":2}`)
	tabs[0].waitFor("the last tab to get the next event", `window.__got.length === 2`, 10*time.Second)
	if n := srv.connections(); n != 1 {
		t.Fatalf("healthz connections = %d after 7 tabs left, want 1", n)
	}
}

// writeFile writes s to path, creating its directory.
func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// markedPage opens a page of another site that loads the client of a new
// server, waits until it is connected and marks its window (the mark is
// gone once the page reloaded).
func markedPage(t *testing.T) (*server, *site, *tab) {
	t.Helper()
	srv := startServer(t, t.TempDir(), 0)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), fmt.Sprintf(`<!doctype html>
<meta name="valksor-sse-url" content="%s">
<script type="module" src="%s"></script>
<p>page</p>`, srv.url("/sse"), srv.url("/sse/client.js")))
	page := newSite(t, dir, nil)
	tb := newTab(t)
	tb.navigate(page.URL + "/index.html")
	tb.waitFor("the client to connect", `window.sseClient && sseClient.isConnected()`, 10*time.Second)
	tb.eval(`window.__marker = 1`)
	return srv, page, tb
}

// TestReloadWaitsForThePage publishes reload while the page's own server
// answers 503: the client keeps probing it with HEAD and reloads only once
// it answers.
func TestReloadWaitsForThePage(t *testing.T) {
	srv, page, tb := markedPage(t)
	page.set(func(s *site) { s.pageDown = true })
	srv.publish("reload")
	waitUntil(t, "the client to probe the page twice", 10*time.Second, func() bool {
		return get(page, func(s *site) int { return s.heads }) >= 2
	})
	if !evalInto[bool](tb, `window.__marker === 1`) {
		t.Fatal("the page reloaded while its server answered 503")
	}
	page.set(func(s *site) { s.pageDown = false })
	tb.waitFor("the reload once the page answers",
		`window.__marker === undefined && performance.getEntriesByType('navigation')[0].type === 'reload'`, 15*time.Second)
}

// TestReloadWithoutProbe: a reload event with "probe": false (what the dev
// proxy sends when it knows the app answers) reloads at once, without the
// HEAD probe, here even though the page's server would answer it 503.
func TestReloadWithoutProbe(t *testing.T) {
	srv, page, tb := markedPage(t)
	page.set(func(s *site) { s.pageDown = true })
	srv.publish("reload", "--data", `{"files":["index.html"],"probe":false,"morph":false}`)
	tb.waitFor("the reload", `window.__marker === undefined && performance.getEntriesByType('navigation')[0].type === 'reload'`, 10*time.Second)
	if n := get(page, func(s *site) int { return s.heads }); n != 0 {
		t.Errorf("the client probed the page %d times before a reload with probe: false", n)
	}
}

// TestResumeAfterRefusal cuts the stream and answers 503 to the browser's
// own reconnection, after which EventSource gives up for good: the client
// opens a new EventSource with ?lastEventID=<last id> and gets the event
// published meanwhile, exactly once. The page and the stream are proxied
// through one origin, so this runs in shared-worker mode.
func TestResumeAfterRefusal(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), `<!doctype html>
<script type="module" src="/sse/client.js"></script>
<p>proxied</p>`)
	proxy := newSite(t, dir, srv)

	tb := newTab(t)
	tb.navigate(proxy.URL + "/index.html")
	tb.waitFor("the client to connect", `window.sseClient && sseClient.isConnected()`, 10*time.Second)
	tb.eval(`window.__got = []; window.__opens = 0;
		addEventListener('sse:open', () => window.__opens++);
		sseClient.addEventListener('numbered', (e) => window.__got.push(e.data.n));
		` + listenBarrier)
	srv.publish("--type", "numbered", "--data", `{"n":1}`)
	tb.waitFor("event 1", `window.__got.length === 1`, 10*time.Second)
	lastID := evalInto[string](tb, `sseClient.lastEventId`)

	proxy.set(func(s *site) {
		s.refuse = true
		for _, cancel := range s.open {
			cancel()
		}
	})
	tb.waitFor("the client to notice the cut", `!sseClient.isConnected()`, 10*time.Second)
	waitUntil(t, "the browser's reconnection to be refused", 15*time.Second, func() bool {
		return get(proxy, func(s *site) int { return s.refused }) >= 1
	})
	srv.publish("--type", "numbered", "--data", `{"n":2}`)
	proxy.set(func(s *site) { s.refuse = false })

	tb.waitFor("event 2, replayed after the resume", `window.__got.length === 2 && window.__opens === 1`, 20*time.Second)
	srv.publish("--type", "numbered", "--data", `{"n":3}`)
	tb.waitFor("event 3", `window.__got.length === 3`, 10*time.Second)
	if got := evalInto[[]int](tb, `window.__got`); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("events %v, want [1 2 3] exactly once each", got)
	}
	urls := get(proxy, func(s *site) []string { return append([]string(nil), s.streamURLs...) })
	want := "lastEventID=" + url.QueryEscape(lastID)
	if last := urls[len(urls)-1]; !strings.Contains(last, want) {
		t.Fatalf("the resumed stream was %s, want %s in it (all: %q)", last, want, urls)
	}
}

// TestWorkerMissingFallsBack serves a same-origin page whose server has no
// worker script (an application that mounts the hub but not web.Handler's
// worker.js): the client falls back to its own EventSource.
func TestWorkerMissingFallsBack(t *testing.T) {
	srv := startServer(t, t.TempDir(), 0)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), `<!doctype html>
<script type="module" src="/sse/client.js"></script>
<p>no worker</p>`)
	proxy := newSite(t, dir, srv)
	proxy.set(func(s *site) { s.noWorker = true })

	tb := newTab(t)
	tb.navigate(proxy.URL + "/index.html")
	tb.waitFor("the client to connect without the worker", `window.sseClient && sseClient.isConnected()`, 10*time.Second)
	tb.eval(`window.__got = new Promise((ok) => sseClient.addEventListener('direct', ok)); ` + listenBarrier)
	srv.publish("--type", "direct", "--data", `{"ok":true}`)
	if !evalInto[bool](tb, `window.__got.then((e) => e.data.ok)`) {
		t.Fatal("the event did not arrive")
	}
	if n := srv.connections(); n != 1 {
		t.Fatalf("healthz connections = %d, want 1", n)
	}
}
