package e2e_test

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/chromedp"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/web"
)

// assetSite is an application that embeds the hub and serves a page whose
// import map (rendered by assets.Mapper.RenderImportMap) loads the client
// and an app module with a relative import. One asset can be tampered
// with: its response gets a byte appended after the import map was
// rendered, as a compromised CDN or proxy might do.
type assetSite struct {
	*httptest.Server
	mapper   *assets.Mapper
	tampered string       // public path of the tampered asset, "" for none
	served   []byte       // the tampered asset's bytes as served
	hits     atomic.Int32 // requests for the tampered asset
}

// The app's modules: app.js imports ./lib/answer.js by a relative path,
// which the import map's integrity section must cover too.
var integrityAppFS = fstest.MapFS{
	"app.js":        {Data: []byte("import { answer } from './lib/answer.js';\nwindow.__app = answer;\n")},
	"lib/answer.js": {Data: []byte("export const answer = 42;\n")},
}

// integrityPage is the page; each module script records its error event,
// which the browser fires when the script's module graph fails to load.
const integrityPage = `<!doctype html>
<html><head>
<script>window.__failed = [];</script>
%s
</head><body>
<script type="module" onerror="window.__failed.push('client')">import "valksorsse/sse";</script>
<script type="module" onerror="window.__failed.push('app')">import "app";</script>
</body></html>`

// newAssetSite starts the site; tamper is the logical path of the asset to
// alter ("" for none), preload adds modulepreload links (which carry the
// integrity too). It is stopped when the test ends.
func newAssetSite(t *testing.T, tamper string, preload bool) *assetSite {
	t.Helper()
	hub, err := sse.New()
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := assets.New(
		assets.Source{Namespace: "valksorsse", FS: web.ClientFS},
		assets.Source{FS: integrityAppFS},
	)
	if err != nil {
		t.Fatal(err)
	}
	s := &assetSite{mapper: mapper}
	if tamper != "" {
		a, err := mapper.Lookup(tamper)
		if err != nil {
			t.Fatal(err)
		}
		s.tampered, s.served = a.PublicPath, append(a.Content(), '\n')
	}
	importMap, err := mapper.RenderImportMap(assets.ImportMap{Entries: []assets.ImportEntry{
		{Name: "valksorsse/sse", Path: "valksorsse/sse.js", Preload: preload},
		{Name: "app", Path: "app.js", Preload: preload},
	}}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf(integrityPage, importMap)

	mux := http.NewServeMux()
	hub.Register(mux)
	js := web.Handler("/sse")
	mux.Handle("/sse/client.js", js)
	mux.Handle("/sse/worker.js", js)
	mux.Handle("/assets/", s.tamper(mapper))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		s.Close()
	})
	return s
}

// tamper serves next, appending a newline to the body of the tampered
// asset: harmless JavaScript, but no longer the bytes the import map's
// integrity describes.
func (s *assetSite) tamper(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tampered == "" || r.URL.Path != s.tampered {
			next.ServeHTTP(w, r)
			return
		}
		s.hits.Add(1)
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			body = append(body, '\n')
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// httpGet fetches u from Go and returns its body, failing the test unless
// the answer is 200.
func httpGet(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

var importMapScript = regexp.MustCompile(`<script type="importmap">(.*?)</script>`)

// pageImportMap reads the import map of the page at u.
func pageImportMap(t *testing.T, u string) (imports, integrity map[string]string) {
	t.Helper()
	m := importMapScript.FindSubmatch(httpGet(t, u))
	if m == nil {
		t.Fatalf("no import map in %s", u)
	}
	var im struct {
		Imports   map[string]string `json:"imports"`
		Integrity map[string]string `json:"integrity"`
	}
	if err := json.Unmarshal(m[1], &im); err != nil {
		t.Fatalf("import map of %s: %v", u, err)
	}
	return im.Imports, im.Integrity
}

// sri is the Subresource Integrity metadata of b: sha384-base64(SHA-384).
func sri(b []byte) string {
	sum := sha512.Sum384(b)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// TestImportMapIntegrity checks that every integrity hash of the rendered
// import map matches the bytes served under its URL (computed here, from
// Go), and that the browser, which enforces these hashes, loads the client
// (it connects) and the app module with its relative import.
func TestImportMapIntegrity(t *testing.T) {
	site := newAssetSite(t, "", true)
	imports, integrity := pageImportMap(t, site.URL+"/")

	answer, err := site.mapper.PublicPath("lib/answer.js")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{imports["valksorsse/sse"], imports["app"], answer}
	if len(integrity) != len(want) {
		t.Fatalf("integrity has %d URLs, want %d (%q): %v", len(integrity), len(want), want, integrity)
	}
	for _, u := range want {
		if integrity[u] == "" {
			t.Fatalf("no integrity for %s: %v", u, integrity)
		}
	}
	for u, hash := range integrity {
		if got := sri(httpGet(t, site.URL+u)); got != hash {
			t.Errorf("%s: served bytes hash to %s, the import map says %s", u, got, hash)
		}
	}

	tb := newTab(t)
	tb.navigate(site.URL + "/")
	tb.waitFor("the client to connect", `window.sseClient && sseClient.isConnected()`, 10*time.Second)
	tb.waitFor("the app module to run", `window.__app === 42`, 10*time.Second)
	if failed := evalInto[[]string](tb, `window.__failed`); len(failed) != 0 {
		t.Fatalf("module scripts failed: %v", failed)
	}
	// The browser saw the same integrity map.
	var inPage map[string]string
	raw := evalInto[string](tb, `JSON.stringify(JSON.parse(document.querySelector('script[type=importmap]').textContent).integrity)`)
	if err := json.Unmarshal([]byte(raw), &inPage); err != nil || fmt.Sprint(inPage) != fmt.Sprint(integrity) {
		t.Fatalf("the page's integrity map %s (%v) differs from %v", raw, err, integrity)
	}
}

// TestTamperedModuleRefused alters one module's bytes after the import map
// was rendered: the browser refuses that module (and only the module graph
// that needs it) and reports an integrity failure on the console. Without
// modulepreload links, the import map's integrity section alone does it.
func TestTamperedModuleRefused(t *testing.T) {
	tests := []struct {
		name    string
		tamper  string // logical path
		preload bool
		refused string // the module script whose graph fails
		check   string // JS that holds once the other script ran
	}{
		{"client", "valksorsse/sse.js", true, "client", `window.__app === 42 && window.sseClient === undefined`},
		{"client without preload", "valksorsse/sse.js", false, "client", `window.__app === 42 && window.sseClient === undefined`},
		{"relative import", "lib/answer.js", true, "app", `window.__app === undefined && window.sseClient && sseClient.isConnected()`},
		{"relative import without preload", "lib/answer.js", false, "app", `window.__app === undefined && window.sseClient && sseClient.isConnected()`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newAssetSite(t, tt.tamper, tt.preload)
			tb := newTab(t)

			ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
			defer cancel()
			console := chromedp.Console(ctx) // subscribed now, read after the navigation
			tb.navigate(site.URL + "/")

			// The browser's own message, from the network stack.
			var msg string
			for m, err := range console {
				if err != nil {
					t.Fatalf("no integrity error on the console: %v", err)
				}
				if strings.Contains(m.Text, "integrity") && strings.Contains(m.Text, site.tampered) {
					msg = m.Text
					break
				}
			}
			// It names the hash of the bytes served, not the expected one.
			computed := strings.TrimPrefix(sri(site.served), "sha384-")
			if !strings.Contains(msg, "blocked") || !strings.Contains(msg, computed) {
				t.Errorf("integrity message %q does not say the resource with hash %s was blocked", msg, computed)
			}

			// The module script that needs the tampered file fired error
			// and did not run; the other one ran.
			tb.waitFor("the error event of the "+tt.refused+" script", `window.__failed.includes('`+tt.refused+`')`, 10*time.Second)
			tb.waitFor("the other module script to run", tt.check, 10*time.Second)
			if failed := evalInto[[]string](tb, `window.__failed`); len(failed) != 1 {
				t.Fatalf("failed scripts %v, want only %s", failed, tt.refused)
			}
			if n := site.hits.Load(); n == 0 {
				t.Fatalf("the browser never requested %s", site.tampered)
			}
		})
	}
}
