package tmpl_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/golden"

	"github.com/valksor/go-sse/tmpl"
)

// fetch GETs (or HEADs) url without transparent decompression.
func fetch(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip, br")
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func gzipBytes(b []byte) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// respond is a handler writing a fixed response.
func respond(status int, header map[string]string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if status != 0 {
			w.WriteHeader(status)
		}
		// Two writes, to exercise buffering.
		half := len(body) / 2
		w.Write(body[:half])
		w.Write(body[half:])
	})
}

func TestInject(t *testing.T) {
	r := newRenderer(t, options(t))
	snip := func(nonce string) string {
		s, err := r.Snippet(nonce)
		if err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	const html = "text/html; charset=utf-8"
	existing := `<html><head><script type="importmap">{"imports":{"valksorsse/sse":"/x.js"}}</script></head><body></body></html>`
	bigHTML := "<html><head></head>" + strings.Repeat("x", 17<<20)
	tests := []struct {
		name    string
		method  string
		status  int
		header  map[string]string
		body    string
		gzipped bool   // body is sent gzip-compressed
		want    string // expected (decompressed) body; "=" means unchanged
		wantHdr map[string]string
		noHdr   []string
	}{
		{name: "head tag", header: map[string]string{"Content-Type": html},
			body: "<html><head><title>t</title></head><body>x</body></html>",
			want: "<html><head><title>t</title>" + snip("") + "</head><body>x</body></html>"},
		{name: "head tag upper case with space", header: map[string]string{"Content-Type": "TEXT/HTML"},
			body: "<HTML><HEAD></HEAD ><BODY></BODY></HTML>",
			want: "<HTML><HEAD>" + snip("") + "</HEAD ><BODY></BODY></HTML>"},
		{name: "not a head tag", header: map[string]string{"Content-Type": html},
			body: "<header></header><p></headline></p></body>",
			want: "<header></header><p></headline></p>" + snip("") + "</body>"},
		{name: "body only, last one", header: map[string]string{"Content-Type": html},
			body: "<body><!-- </body> --></BODY>\n",
			want: "<body><!-- </body> -->" + snip("") + "</BODY>\n"},
		{name: "no tags", header: map[string]string{"Content-Type": html},
			body: "hello", want: "hello" + snip("")},
		{name: "empty html", header: map[string]string{"Content-Type": html},
			body: "", want: snip("")},
		{name: "sniffed html", body: "<!DOCTYPE html><html><head></head></html>",
			want:    "<!DOCTYPE html><html><head>" + snip("") + "</head></html>",
			wantHdr: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "status kept", status: http.StatusNotFound, header: map[string]string{"Content-Type": html},
			body: "<head></head>", want: "<head>" + snip("") + "</head>"},
		{name: "stale validators dropped", header: map[string]string{"Content-Type": html, "ETag": `"v1"`, "Last-Modified": "Mon, 02 Jan 2006 15:04:05 GMT", "Content-Length": "13"},
			body: "<head></head>", want: "<head>" + snip("") + "</head>", noHdr: []string{"ETag", "Last-Modified"}},
		{name: "gzip", header: map[string]string{"Content-Type": html, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
			body: "<html><head></head></html>", gzipped: true,
			want:    "<html><head>" + snip("") + "</head></html>",
			wantHdr: map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}},
		{name: "nonce from CSP header", header: map[string]string{"Content-Type": html,
			"Content-Security-Policy": "default-src 'self'; script-src 'self' 'nonce-cspN0nce' 'strict-dynamic'"},
			body: "<head></head>", want: "<head>" + snip("cspN0nce") + "</head>"},

		// Untouched.
		{name: "already has the client", header: map[string]string{"Content-Type": html}, body: existing, want: "="},
		{name: "json", header: map[string]string{"Content-Type": "application/json"}, body: `{"html":"</head>"}`, want: "="},
		{name: "sniffed text", body: "plain </head> text", want: "=", wantHdr: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{name: "xhtml", header: map[string]string{"Content-Type": "application/xhtml+xml"}, body: "<head></head>", want: "="},
		{name: "brotli", header: map[string]string{"Content-Type": html, "Content-Encoding": "br"}, body: "\x1b<head></head>", want: "="},
		{name: "gzip without type", header: map[string]string{"Content-Encoding": "gzip"}, body: "<head></head>", gzipped: true, want: "="},
		{name: "corrupt gzip", header: map[string]string{"Content-Type": html, "Content-Encoding": "gzip"}, body: "not gzip <head></head>", want: "="},
		{name: "no content", status: http.StatusNoContent, header: map[string]string{"Content-Type": html}, want: "="},
		{name: "not modified", status: http.StatusNotModified, header: map[string]string{"Content-Type": html, "ETag": `"v1"`}, want: "=",
			wantHdr: map[string]string{"ETag": `"v1"`}},
		{name: "partial content", status: http.StatusPartialContent, header: map[string]string{"Content-Type": html, "Content-Range": "bytes 0-5/100"}, body: "<head>", want: "="},
		{name: "head request", method: "HEAD", header: map[string]string{"Content-Type": html, "Content-Length": "13", "ETag": `"v1"`},
			want: "", wantHdr: map[string]string{"Content-Length": "13", "ETag": `"v1"`}},
		{name: "too large", header: map[string]string{"Content-Type": html}, body: bigHTML, want: "="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "too large" && testing.Short() {
				t.Skip("large body")
			}
			sent := []byte(tt.body)
			if tt.gzipped {
				sent = gzipBytes(sent)
			}
			srv := httptest.NewServer(r.Inject(respond(tt.status, tt.header, sent)))
			defer srv.Close()
			method := tt.method
			if method == "" {
				method = "GET"
			}
			resp, body := fetch(t, method, srv.URL)
			wantStatus := tt.status
			if wantStatus == 0 {
				wantStatus = 200
			}
			if resp.StatusCode != wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, wantStatus)
			}
			if tt.want == "=" {
				if !bytes.Equal(body, sent) {
					t.Errorf("body changed:\n got: %.200q\nwant: %.200q", body, sent)
				}
			} else {
				got := body
				if tt.gzipped {
					got = gunzip(t, body)
				}
				if string(got) != tt.want {
					t.Errorf("body:\n got: %q\nwant: %q", got, tt.want)
				}
				if method == "GET" && resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
					t.Errorf("Content-Length = %q, body has %d bytes", resp.Header.Get("Content-Length"), len(body))
				}
			}
			for k, v := range tt.wantHdr {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.noHdr {
				if got := resp.Header.Get(k); got != "" {
					t.Errorf("%s = %q, want none", k, got)
				}
			}
		})
	}
}

func TestInjectGolden(t *testing.T) {
	o := options(t)
	o.Nonce = func(r *http.Request) string { return r.URL.Query().Get("nonce") }
	h := tmpl.Inject(respond(0, map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "script-src 'nonce-fromHeader'",
	}, []byte("<!DOCTYPE html>\n<html>\n<head>\n<title>Demo</title>\n</head>\n<body><p>hi</p></body>\n</html>\n")), o)
	srv := httptest.NewServer(h)
	defer srv.Close()
	tests := []struct{ name, query, golden string }{
		{"nonce option wins", "?nonce=fromOption", "inject_nonce_option.html"},
		{"nonce from header", "", "inject_nonce_header.html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body := fetch(t, "GET", srv.URL+tt.query)
			golden.Check(t, tt.golden, body)
		})
	}
}

func TestInjectNoDoubleInjection(t *testing.T) {
	r := newRenderer(t, options(t))
	page := respond(0, map[string]string{"Content-Type": "text/html"}, []byte("<head></head><body></body>"))
	srv := httptest.NewServer(r.Inject(r.Inject(page)))
	defer srv.Close()
	_, body := fetch(t, "GET", srv.URL)
	if n := strings.Count(string(body), `<script type="importmap"`); n != 1 {
		t.Errorf("%d import maps:\n%s", n, body)
	}
	if !tmpl.HasClient(body) {
		t.Error("HasClient(injected page) = false")
	}
}

type plainHandler struct{ body string }

func (h *plainHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	io.WriteString(w, h.body)
}

func TestInjectDisabled(t *testing.T) {
	next := &plainHandler{"<head></head>"}
	h := tmpl.Inject(next, tmpl.Options{})
	if h != http.Handler(next) {
		t.Fatalf("Inject(disabled) = %T, want next itself", h)
	}
	r := newRenderer(t, tmpl.Options{})
	if h := r.Inject(next); h != http.Handler(next) {
		t.Fatalf("Renderer.Inject(disabled) = %T, want next itself", h)
	}
	if s, err := r.Snippet("n"); s != "" || err != nil {
		t.Errorf("Snippet(disabled) = %q, %v", s, err)
	}
}

func TestInjectStreamsNonHTML(t *testing.T) {
	r := newRenderer(t, options(t))
	release := make(chan struct{})
	h := r.Inject(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, "data: two\n\n")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	done := make(chan string)
	go func() {
		line, _ := br.ReadString('\n')
		done <- line
	}()
	select {
	case line := <-done:
		if line != "data: one\n" {
			t.Errorf("first line %q", line)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("first event not flushed through Inject")
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: two\n\n" {
		t.Errorf("rest %q", rest)
	}
}

func TestInjectHijack(t *testing.T) {
	r := newRenderer(t, options(t))
	h := r.Inject(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\nConnection: close\r\n\r\n<head>")
		rw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	if _, body := fetch(t, "GET", srv.URL); string(body) != "<head>" {
		t.Errorf("hijacked body %q", body)
	}
}

func TestInjectOnError(t *testing.T) {
	app := appFS()
	m := newMapper(t, app)
	o := tmpl.Options{Enabled: true, Mapper: m, ImportMap: importMap()}
	var called atomic.Int32
	var gotErr atomic.Value
	o.OnError = func(r *http.Request, err error) { called.Add(1); gotErr.Store(err) }
	srv := httptest.NewServer(tmpl.Inject(respond(0, map[string]string{"Content-Type": "text/html"}, []byte("<head></head>")), o))
	defer srv.Close()
	delete(app, "app.js")
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, body := fetch(t, "GET", srv.URL); string(body) != "<head></head>" {
		t.Errorf("page changed despite the error: %q", body)
	}
	if called.Load() != 1 {
		t.Fatalf("OnError called %d times", called.Load())
	}
	if err, _ := gotErr.Load().(error); err == nil || !strings.Contains(err.Error(), `import map entry "app"`) {
		t.Errorf("OnError got %v", err)
	}
}

func TestInjectWithMapperOnSameServer(t *testing.T) {
	// The injected import map resolves against the same server that serves
	// the assets; every URL in it must be fetchable with matching integrity.
	m := newMapper(t, appFS())
	r := newRenderer(t, tmpl.Options{Enabled: true, Mapper: m, ImportMap: importMap()})
	mux := http.NewServeMux()
	mux.Handle("/assets/", m)
	mux.Handle("/", r.Inject(respond(0, map[string]string{"Content-Type": "text/html"}, []byte("<head></head>"))))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, body := fetch(t, "GET", srv.URL)
	for _, a := range []string{"valksorsse/sse.js", "valksorsse/worker.js"} {
		asset, err := m.Lookup(a)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), `href="`+asset.PublicPath+`" integrity="`+asset.Integrity+`"`) {
			t.Errorf("no modulepreload for %s in\n%s", a, body)
		}
		resp, got := fetch(t, "GET", srv.URL+asset.PublicPath)
		if resp.StatusCode != 200 || !bytes.Equal(got, asset.Content()) {
			t.Errorf("GET %s = %d", asset.PublicPath, resp.StatusCode)
		}
	}
}

func TestCSPNonce(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"script-src", []string{"script-src 'self' 'nonce-abc'"}, "abc"},
		{"upper case", []string{"SCRIPT-SRC 'NONCE-abc'"}, "abc"},
		{"default-src fallback", []string{"default-src 'nonce-def'; img-src *"}, "def"},
		{"script-src wins over default-src", []string{"default-src 'nonce-def'; script-src 'nonce-scr'"}, "scr"},
		{"script-src-elem wins", []string{"script-src 'nonce-scr'; script-src-elem 'nonce-elem'"}, "elem"},
		{"style-src ignored", []string{"style-src 'nonce-sty'"}, ""},
		{"second header", []string{"img-src *", "script-src 'nonce-two'"}, "two"},
		{"comma-joined policies", []string{"img-src *, script-src 'nonce-c'"}, "c"},
		{"malformed", []string{"script-src 'nonce-", "script-src nonce-x"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tmpl.CSPNonce(tt.values); got != tt.want {
				t.Errorf("CSPNonce(%q) = %q, want %q", tt.values, got, tt.want)
			}
		})
	}
}

func TestHasClient(t *testing.T) {
	tests := []struct {
		name, page string
		want       bool
	}{
		{"import map", `<script type="importmap">{"imports":{"valksorsse/sse":"/a.js"}}</script>`, true},
		{"escaped slash", `<script type=importmap>{"imports":{"valksorsse\/sse":"/a.js"}}</script>`, true},
		{"upper case", `<SCRIPT TYPE="IMPORTMAP" nonce="x">{"imports":{"valksorsse/sse":"/a.js"}}</SCRIPT>`, true},
		{"other import map", `<script type="importmap">{"imports":{"app":"/a.js"}}</script>`, false},
		{"module script only", `<script type="module">import "valksorsse/sse";</script>`, false},
		{"in a later script", `<script type="importmap">{}</script><script>"valksorsse/sse"</script>`, false},
		{"scripts tag", `<scripts type="importmap">"valksorsse/sse"`, false},
		{"unterminated", `<script type="importmap"`, false},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tmpl.HasClient([]byte(tt.page)); got != tt.want {
				t.Errorf("HasClient = %v, want %v", got, tt.want)
			}
		})
	}
}
