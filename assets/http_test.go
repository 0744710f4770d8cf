package assets_test

import (
	"github.com/valksor/go-sse/internal/proctest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/valksor/go-sse/assets"
)

func do(t *testing.T, method, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestServeHTTP(t *testing.T) {
	m := newMapper(t)
	srv := httptest.NewServer(m)
	defer srv.Close()
	app := mustLookup(t, m, "app.js")
	etag := `"` + app.Digest + `"`

	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		status     int
		body       string // exact when not empty; "-" for an empty body
		bodyHas    string
		wantHeader map[string]string
	}{
		{name: "get", method: "GET", path: app.PublicPath, status: 200, body: string(app.Content()),
			wantHeader: map[string]string{
				"Content-Type":                "text/javascript; charset=utf-8",
				"Cache-Control":               "public, max-age=31536000, immutable",
				"ETag":                        etag,
				"Access-Control-Allow-Origin": "*",
				"X-Content-Type-Options":      "nosniff",
			}},
		{name: "head", method: "HEAD", path: app.PublicPath, status: 200, body: "-",
			wantHeader: map[string]string{"ETag": etag, "Content-Length": strconv.Itoa(len(app.Content())), "Content-Type": "text/javascript; charset=utf-8"}},
		{name: "if-none-match", method: "GET", path: app.PublicPath, header: map[string]string{"If-None-Match": etag}, status: 304, body: "-",
			wantHeader: map[string]string{"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"}},
		{name: "if-none-match list", method: "GET", path: app.PublicPath, header: map[string]string{"If-None-Match": `"x", ` + etag}, status: 304, body: "-"},
		{name: "if-none-match weak", method: "GET", path: app.PublicPath, header: map[string]string{"If-None-Match": "W/" + etag}, status: 304, body: "-"},
		{name: "if-none-match star", method: "HEAD", path: app.PublicPath, header: map[string]string{"If-None-Match": "*"}, status: 304, body: "-"},
		{name: "if-none-match other", method: "GET", path: app.PublicPath, header: map[string]string{"If-None-Match": `"00000000"`}, status: 200, body: string(app.Content())},
		{name: "range", method: "GET", path: app.PublicPath, header: map[string]string{"Range": "bytes=0-5"}, status: 206, body: string(app.Content()[:6])},
		{name: "post", method: "POST", path: app.PublicPath, status: 405, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "delete unknown", method: "DELETE", path: "/assets/nope", status: 405},
		{name: "undigested", method: "GET", path: "/assets/app.js", status: 404,
			body:       "assets: /assets/app.js is not served under its logical name; use " + app.PublicPath + "\n",
			wantHeader: map[string]string{"Cache-Control": "no-store"}},
		{name: "undigested namespaced", method: "GET", path: "/assets/valksorsse/sse.js", status: 404,
			bodyHas: "use " + mustLookup(t, m, "valksorsse/sse.js").PublicPath},
		{name: "unknown", method: "GET", path: "/assets/app-00000000.js", status: 404, body: "assets: not found\n"},
		{name: "outside prefix", method: "GET", path: "/other/app.js", status: 404},
		{name: "ignored dotfile", method: "GET", path: "/assets/.hidden.js", status: 404, body: "assets: not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, srv.URL+tt.path, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			switch {
			case tt.body == "-" && body != "":
				t.Errorf("body = %q, want none", body)
			case tt.body != "" && tt.body != "-" && body != tt.body:
				t.Errorf("body = %q, want %q", body, tt.body)
			case tt.bodyHas != "" && !strings.Contains(body, tt.bodyHas):
				t.Errorf("body = %q, want it to contain %q", body, tt.bodyHas)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestContentTypes(t *testing.T) {
	fsys := fstest.MapFS{
		"a.js": file("x"), "a.mjs": file("x"), "a.css": file("x"), "a.json": file("{}"), "a.svg": file("<svg/>"),
		"a.png": &fstest.MapFile{Data: pngBytes}, "a.woff2": file("wOF2"), "a.txt": file("x"), "a.map": file("{}"),
		"a.WEBP": file("x"), "unknown.bin": &fstest.MapFile{Data: []byte{0, 1, 2}}, "sniffed": file("<!DOCTYPE html><p>"),
	}
	m := newMapper(t, assets.Source{FS: fsys})
	srv := httptest.NewServer(m)
	defer srv.Close()
	tests := []struct{ logical, want string }{
		{"a.js", "text/javascript; charset=utf-8"},
		{"a.mjs", "text/javascript; charset=utf-8"},
		{"a.css", "text/css; charset=utf-8"},
		{"a.json", "application/json"},
		{"a.map", "application/json"},
		{"a.svg", "image/svg+xml"},
		{"a.png", "image/png"},
		{"a.woff2", "font/woff2"},
		{"a.txt", "text/plain; charset=utf-8"},
		{"a.WEBP", "image/webp"},
		{"unknown.bin", "application/octet-stream"},
		{"sniffed", "text/html; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.logical, func(t *testing.T) {
			a := mustLookup(t, m, tt.logical)
			if a.ContentType != tt.want {
				t.Errorf("Asset.ContentType = %q, want %q", a.ContentType, tt.want)
			}
			resp, _ := do(t, "GET", srv.URL+a.PublicPath, nil)
			if got := resp.Header.Get("Content-Type"); got != tt.want {
				t.Errorf("Content-Type = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCustomPrefix(t *testing.T) {
	m, err := assets.NewWithOptions(assets.Options{Prefix: "/static/v1/"}, assets.Source{FS: appFS()})
	if err != nil {
		t.Fatal(err)
	}
	if m.Prefix() != "/static/v1/" {
		t.Errorf("Prefix() = %q", m.Prefix())
	}
	a := mustLookup(t, m, "lib/util.js")
	if !strings.HasPrefix(a.PublicPath, "/static/v1/lib/util-") {
		t.Errorf("PublicPath = %s", a.PublicPath)
	}
	// Rewritten references are relative, so the prefix does not change digests.
	if d := mustLookup(t, newMapper(t), "app.js").Digest; d != mustLookup(t, m, "app.js").Digest {
		t.Errorf("digest depends on the prefix")
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	if resp, _ := do(t, "GET", srv.URL+a.PublicPath, nil); resp.StatusCode != 200 {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

// waitFor polls cond until it holds or a second passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	proctest.Await(t, 2*time.Second, what, cond)
}

func TestAutoReload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app.js", "import './lib/dep.js';\n")
	write("lib/dep.js", "export const v = 1;\n")
	m, err := assets.NewWithOptions(assets.Options{AutoReload: true}, assets.Source{FS: os.DirFS(dir)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	oldApp := mustLookup(t, m, "app.js")
	oldDep := mustLookup(t, m, "lib/dep.js")

	write("lib/dep.js", "export const v = 22;\n") // different size: no mtime granularity issue
	var newApp assets.Asset
	waitFor(t, "the change to be picked up", func() bool {
		newApp = mustLookup(t, m, "app.js")
		return newApp.PublicPath != oldApp.PublicPath
	})
	newDep := mustLookup(t, m, "lib/dep.js")
	if newDep.PublicPath == oldDep.PublicPath {
		t.Fatal("dependency digest did not change")
	}

	tests := []struct {
		name, path, body string
	}{
		{"new referrer", newApp.PublicPath, string(newApp.Content())},
		{"new dependency", newDep.PublicPath, "export const v = 22;\n"},
		{"old referrer still servable", oldApp.PublicPath, string(oldApp.Content())},
		{"old dependency still servable", oldDep.PublicPath, "export const v = 1;\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "GET", srv.URL+tt.path, nil)
			if resp.StatusCode != 200 || body != tt.body {
				t.Errorf("GET %s = %d %q, want 200 %q", tt.path, resp.StatusCode, body, tt.body)
			}
		})
	}

	t.Run("new file over HTTP", func(t *testing.T) {
		write("late.css", "a{}")
		// Only HTTP requests here: they trigger the rescan too.
		waitFor(t, "the new file", func() bool {
			_, body := do(t, "GET", srv.URL+"/assets/late.css", nil)
			return strings.Contains(body, "use /assets/late-")
		})
	})

	t.Run("cycle keeps serving", func(t *testing.T) {
		write("lib/dep.js", "import '../app.js';\n")
		waitFor(t, "the failed reload", func() bool {
			w := m.Warnings()
			return len(w) > 0 && strings.Contains(w[0], "import cycle")
		})
		if got := mustLookup(t, m, "app.js").PublicPath; got != newApp.PublicPath {
			t.Errorf("after a failed reload app.js = %s, want %s", got, newApp.PublicPath)
		}
	})
}

func TestRetainedGenerations(t *testing.T) {
	fsys := fstest.MapFS{"a.js": file("v0")}
	m := newMapper(t, assets.Source{FS: fsys})
	srv := httptest.NewServer(m)
	defer srv.Close()
	var paths []string
	for i := range 7 {
		fsys["a.js"] = file("v" + strconv.Itoa(i+1))
		paths = append(paths, mustLookup(t, m, "a.js").PublicPath)
		if err := m.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	paths = append(paths, mustLookup(t, m, "a.js").PublicPath)
	// paths[7] is current; the four generations before it stay servable.
	for i, p := range paths {
		want := 404
		if i >= len(paths)-5 {
			want = 200
		}
		if resp, _ := do(t, "GET", srv.URL+p, nil); resp.StatusCode != want {
			t.Errorf("generation %d (%s): status %d, want %d", i, p, resp.StatusCode, want)
		}
	}
}
