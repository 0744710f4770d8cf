package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/web"
)

func embedded(t *testing.T, name string) string {
	t.Helper()
	b, err := web.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func do(t *testing.T, h http.Handler, method, target string, header ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerServesTheModules(t *testing.T) {
	h := web.Handler("/sse")
	for path, file := range map[string]string{"/sse/client.js": "sse.js", "/sse/worker.js": "worker.js"} {
		t.Run(path, func(t *testing.T) {
			resp := do(t, h, http.MethodGet, path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			want := map[string]string{
				"Content-Type":                "text/javascript; charset=utf-8",
				"Cache-Control":               "max-age=300",
				"Access-Control-Allow-Origin": "*",
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			etag := resp.Header.Get("ETag")
			if len(etag) < 10 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
				t.Errorf("ETag %q is not a strong entity tag", etag)
			}
			if got := body(t, resp); got != embedded(t, file) {
				t.Errorf("body is not the embedded %s", file)
			}

			// A matching validator gets 304 without a body; a stale one the file.
			resp = do(t, h, http.MethodGet, path, "If-None-Match", etag)
			if resp.StatusCode != http.StatusNotModified || body(t, resp) != "" {
				t.Errorf("If-None-Match %s: status %d, want 304 with no body", etag, resp.StatusCode)
			}
			if got := resp.Header.Get("ETag"); got != etag {
				t.Errorf("304 ETag %q, want %q", got, etag)
			}
			resp = do(t, h, http.MethodGet, path, "If-None-Match", `"stale", `+etag)
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match list with the tag: status %d, want 304", resp.StatusCode)
			}
			resp = do(t, h, http.MethodGet, path, "If-None-Match", `"stale"`)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("stale If-None-Match: status %d, want 200", resp.StatusCode)
			}

			resp = do(t, h, http.MethodHead, path)
			if resp.StatusCode != http.StatusOK || body(t, resp) != "" || resp.Header.Get("ETag") != etag {
				t.Errorf("HEAD: status %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
			}
		})
	}
}

func TestHandlerETagsDiffer(t *testing.T) {
	h := web.Handler("/sse")
	a := do(t, h, http.MethodGet, "/sse/client.js").Header.Get("ETag")
	b := do(t, h, http.MethodGet, "/sse/worker.js").Header.Get("ETag")
	if a == b {
		t.Fatalf("client.js and worker.js share the ETag %s", a)
	}
}

func TestHandlerNotFound(t *testing.T) {
	h := web.Handler("/sse")
	for _, path := range []string{"/sse/sse.js", "/sse/", "/sse", "/client.js", "/other/client.js", "/sse/client.js/x", "/sse/demo.html"} {
		if resp := do(t, h, http.MethodGet, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestHandlerMethodNotAllowed(t *testing.T) {
	resp := do(t, web.Handler("/sse"), http.MethodPost, "/sse/client.js")
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestHandlerBasePath(t *testing.T) {
	for _, base := range []string{"/events", "/events/", "/a/b"} {
		h := web.Handler(base)
		path := strings.TrimRight(base, "/") + "/client.js"
		if resp := do(t, h, http.MethodGet, path); resp.StatusCode != http.StatusOK {
			t.Errorf("base %q: GET %s: status %d", base, path, resp.StatusCode)
		}
		if resp := do(t, h, http.MethodGet, "/sse/client.js"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("base %q: GET /sse/client.js: status %d, want 404", base, resp.StatusCode)
		}
	}
}

func TestDemoHandler(t *testing.T) {
	h := web.DemoHandler("/events")
	resp := do(t, h, http.MethodGet, "/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q", cc)
	}
	page := body(t, resp)
	for _, want := range []string{`<script type="module" src="/events/client.js"></script>`, `id="state"`, `id="conn"`, `id="ping"`, `id="rtt"`, `id="log"`} {
		if !strings.Contains(page, want) {
			t.Errorf("demo page lacks %s", want)
		}
	}
	etag := resp.Header.Get("ETag")
	if resp := do(t, h, http.MethodGet, "/", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
	}
	if resp := do(t, h, http.MethodPost, "/"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
	if other := do(t, web.DemoHandler("/sse"), http.MethodGet, "/").Header.Get("ETag"); other == etag {
		t.Errorf("demo pages for different base paths share the ETag %s", etag)
	}
}

// TestClientModuleShape checks the embedded module's contract with the
// server and the tests: its exports, the endpoints and the worker URL.
func TestClientModuleShape(t *testing.T) {
	js := embedded(t, "sse.js")
	for _, want := range []string{
		"export default client",
		"export const connect",
		"export class Stream",
		"export async function postPing",
		"'/worker.js'",
		"'/ping'",
		"lastEventID=",
		"['supports', 'css-update']", // else css-update arrives as a reload
		"win.sseClient ||= connect()",
		"'sse:open'", "'sse:close'", "'sse:message'", "'sse:reload'", "'sse:morph'", "'sse:page-error'",
		"export async function morph",
		"'" + web.RefreshHeader + "'",
	} {
		if !strings.Contains(js, want) {
			t.Errorf("sse.js lacks %s", want)
		}
	}
	if !strings.Contains(embedded(t, "worker.js"), "from './client.js'") {
		t.Error("worker.js does not import ./client.js, the URL Handler serves sse.js at")
	}
	// The client is loaded on every development page: keep it small. Pages
	// get it (and the worker) gzipped.
	if n := gzipped(t, js) + gzipped(t, embedded(t, "worker.js")); n >= 6<<10 {
		t.Errorf("sse.js and worker.js are %d bytes gzipped, over the 6 KiB budget", n)
	}
}

// gzipped is the size of s compressed with gzip at its best compression.
func gzipped(t *testing.T, s string) int {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Len()
}

func TestReloadEvent(t *testing.T) {
	for _, c := range []struct {
		files []string
		o     web.ReloadOptions
		want  string
	}{
		{nil, web.ReloadOptions{}, `{"files":[]}`},
		{[]string{"templates/a.html"}, web.ReloadOptions{NoProbe: true}, `{"files":["templates/a.html"],"probe":false}`},
		{[]string{"a.twig"}, web.ReloadOptions{NoMorph: true}, `{"files":["a.twig"],"morph":false}`},
		{[]string{"a.twig"}, web.ReloadOptions{NoProbe: true, NoMorph: true}, `{"files":["a.twig"],"morph":false,"probe":false}`},
		{nil, web.ReloadOptions{NoProbe: true, AppDownOnly: true}, `{"appDown":true,"files":[],"probe":false}`},
	} {
		e := web.ReloadEvent(c.files, c.o)
		b, err := json.Marshal(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != sse.TypeReload || string(b) != c.want {
			t.Errorf("ReloadEvent(%q, %+v) = %s %s, want reload %s", c.files, c.o, e.Type, b, c.want)
		}
	}
}

func ExampleHandler() {
	mux := http.NewServeMux()
	js := web.Handler("/sse")
	mux.Handle("/sse/client.js", js)
	mux.Handle("/sse/worker.js", js)
	mux.Handle("/{$}", web.DemoHandler("/sse"))
	// Pages then load the client with
	// <script type="module" src="http://localhost:8080/sse/client.js"></script>
}
