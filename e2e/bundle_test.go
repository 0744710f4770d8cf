package e2e_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/proctest"
)

// originalClient behaves as the Valksor bundle's own sse.js, which pages
// of Symfony projects load through its import map: it finds the stream
// from the valksor-sse-port and valksor-sse-path meta tags (with a path,
// on the page's own origin), opens an EventSource, listens for reload
// (reloading the page 100 ms later, once) and ping (nothing) and nothing
// else, logs to console.debug, and gives up after ten failed attempts.
const originalClient = `
const portMeta = document.querySelector('meta[name="valksor-sse-port"]');
const pathMeta = document.querySelector('meta[name="valksor-sse-path"]');
const port = portMeta ? parseInt(portMeta.content, 10) : undefined;
const path = pathMeta ? pathMeta.content.trim() : '';
const endpoint = path
  ? (location.origin || location.protocol + '//' + location.host).replace(/\/$/, '') + path
  : (location.protocol === 'https:' ? 'https:' : 'http:') + '//' + location.hostname + ':' + port;
const log = (msg, ...args) => console.debug('[sse] ' + msg, ...args);
let scheduled = false, attempts = 0;
const source = new EventSource(endpoint, { withCredentials: false });
source.addEventListener('open', () => { log('connected to sse server at %s', endpoint); attempts = 0; });
source.addEventListener('error', () => {
  if (source.readyState !== EventSource.CLOSED) return;
  if (++attempts >= 10) source.close();
});
source.addEventListener('reload', (e) => {
  if (scheduled) return;
  scheduled = true;
  let detail = null;
  try { detail = JSON.parse(e.data); } catch {}
  log('change detected%s. Reloading', detail ? ': ' + JSON.stringify(detail) : '');
  setTimeout(() => location.reload(), 100);
});
source.addEventListener('ping', () => {});
addEventListener('beforeunload', () => source.close());
`

// TestOriginalClientReloadsOnStylesheet: a Symfony project keeps the
// bundle's config and its client. The page is served by the app, which
// passes /sse to valksor-sse serve --watch assets, started in the project
// with the bundle's config/packages/valksor.yaml. Saving a stylesheet
// sends css-update, which that client does not know; it gets a reload
// instead, and the page reloads.
func TestOriginalClientReloadsOnStylesheet(t *testing.T) {
	needBrowser(t)
	project := t.TempDir()
	port := freeTCPPort(t)
	writeFile(t, filepath.Join(project, "composer.json"), `{"name": "acme/app"}`)
	writeFile(t, filepath.Join(project, "config", "packages", "valksor.yaml"), fmt.Sprintf(`valksor:
    sse:
        bind: 127.0.0.1
        port: %d
        path: /sse
        domain: e2e.localhost
when@prod:
    valksor:
        sse:
            bind: 0.0.0.0
`, port))
	css := filepath.Join(project, "assets", "app.css")
	writeFile(t, css, `#box { color: rgb(255, 0, 0); }`)
	// An older time, so that the saved file's Last-Modified (whole
	// seconds) differs and the reload does not get 304 for it.
	if err := os.Chtimes(css, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(project, "index.html"), `<!doctype html>
<html><head>
<meta name="valksor-sse-port" content="3000">
<meta name="valksor-sse-path" content="/sse">
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/sse.js"></script>
</head><body><div id="box">styled</div></body></html>`)
	writeFile(t, filepath.Join(project, "sse.js"), originalClient)

	p := startProc(t, project, []string{"APP_ENV=dev"}, serveListening, "serve", "--watch", "assets")
	if p.port != port {
		t.Fatalf("the server listens on %d, want the file's port %d", p.port, port)
	}
	app := newSite(t, project, &server{t: t, dir: project, port: p.port})

	tb := newTab(t)
	tb.navigate(app.URL + "/index.html")
	proctest.Await(t, 10*time.Second, "the original client to connect", func() bool {
		logs := tb.logs.String()
		return strings.Contains(logs, "[sse] connected to sse server at") && strings.Contains(logs, app.URL+"/sse")
	})
	const color = `getComputedStyle(document.getElementById('box')).color`
	if c := evalInto[string](tb, color); c != "rgb(255, 0, 0)" {
		t.Fatalf("initial color %q", c)
	}
	tb.eval(`window.__marker = 1`)

	saveFile(t, css, `#box { color: rgb(0, 0, 255); }`)
	tb.waitFor("the page to reload with the new stylesheet",
		`window.__marker === undefined && performance.getEntriesByType('navigation')[0].type === 'reload' && `+color+` === 'rgb(0, 0, 255)'`, 15*time.Second)
	if !strings.Contains(p.stderr.String(), "action=css-update") {
		t.Errorf("the server did not send a css-update for the stylesheet:\n%s", p.stderr)
	}
}

// freeTCPPort returns a port free on 127.0.0.1 a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
