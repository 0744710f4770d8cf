package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportMapFromServer: a page of another app (another origin) puts the
// running server's /assets/importmap.html in its <head>, as a PHP or Node
// app would in development: the configured entry "app" and the client
// resolve through it (absolute URLs on the server, integrity, the preloaded
// entry as a modulepreload link), app's relative import is digested, and
// the client connects.
func TestImportMapFromServer(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "valksor.yaml"), "valksor:\n  sse:\n    assets: [assets]\n    importmap: [\"app=app.js\"]\n    importmap_preload: [app]\n")
	writeFile(t, filepath.Join(dir, "assets", "app.js"), "import { greet } from './lib.js';\nimport 'valksorsse/sse';\nwindow.__app = greet('import map');\n")
	writeFile(t, filepath.Join(dir, "assets", "lib.js"), "export const greet = (s) => 'hello ' + s;\n")
	srv := startServer(t, dir, 0)

	resp, err := http.Get(srv.url("/assets/importmap.html"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tags := string(b)
	if resp.StatusCode != 200 || !strings.Contains(tags, `<script type="importmap">`) ||
		!strings.Contains(tags, `<link rel="modulepreload" href="`+srv.url("/assets/app-")) || !strings.Contains(tags, `crossorigin="anonymous"`) {
		t.Fatalf("GET /assets/importmap.html: %d\n%s", resp.StatusCode, tags)
	}

	req, _ := http.NewRequest(http.MethodGet, srv.url("/assets/importmap.json"), nil)
	req.Header.Set("Origin", "https://app.example.com") // not in cors_origins: public all the same
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var im struct {
		Imports   map[string]string `json:"imports"`
		Integrity map[string]string `json:"integrity"`
	}
	err = json.NewDecoder(resp.Body).Decode(&im)
	resp.Body.Close()
	if err != nil || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.HasPrefix(im.Imports["app"], srv.url("/assets/app-")) || im.Integrity[im.Imports["app"]] == "" || im.Imports["valksorsse/sse"] == "" {
		t.Fatalf("GET /assets/importmap.json from another origin: %v, ACAO %q, %+v", err, resp.Header.Get("Access-Control-Allow-Origin"), im)
	}

	site := t.TempDir()
	writeFile(t, filepath.Join(site, "index.html"), "<!doctype html>\n<html><head><meta charset=\"utf-8\">\n"+tags+
		"<script type=\"module\">import 'app';</script>\n</head><body><p>an app page</p></body></html>\n")
	page := newSite(t, site, nil)
	tb := newTab(t)
	tb.navigate(page.URL + "/index.html")
	tb.waitFor("the app module through the import map", `window.__app === 'hello import map'`, 10*time.Second)
	tb.waitFor("the client to connect", `window.sseClient && sseClient.isConnected()`, 10*time.Second)
	if u := evalInto[string](tb, `sseClient.url`); u != srv.url("/sse") {
		t.Errorf("the client talks to %s, want %s", u, srv.url("/sse"))
	}
}
