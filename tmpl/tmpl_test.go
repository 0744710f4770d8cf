package tmpl_test

import (
	"github.com/valksor/go-sse/internal/proctest"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/golden"

	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/tmpl"
)

const page = `<!DOCTYPE html>
<html><head>
{{ valksor_sse_ping }}
{{ valksor_sse_importmap_definition }}
</head><body>
{{ valksor_sse_importmap_scripts "app" }}
</body></html>
`

const pageNonce = `<!DOCTYPE html>
<html><head>
{{ valksor_sse_ping }}
{{ valksor_sse_importmap_definition .Nonce }}
</head><body>
{{ valksor_sse_importmap_scripts "app" (valksor_sse_nonce .Nonce) }}
{{ valksor_sse_importmap_scripts .Entries .TypedNonce }}
</body></html>
`

type pageData struct {
	Nonce      string
	TypedNonce tmpl.Nonce
	Entries    []string
}

func render(t *testing.T, fm template.FuncMap, text string, data any) string {
	t.Helper()
	tp, err := template.New("page").Funcs(fm).Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tp.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFuncMapGolden(t *testing.T) {
	stub := newSSEStub(t)
	cross := options(t)
	cross.ServerURL = "http://localhost:8080"
	cross.HTTPClient = &http.Client{Transport: redirectTransport{stub.srv.URL}, Timeout: time.Second}
	shim := cross
	shim.ImportMap.ShimURL = "https://ga.jspm.io/npm:es-module-shims@1.10.0/dist/es-module-shims.js"
	data := pageData{Nonce: "abc123", TypedNonce: "abc123", Entries: []string{"app", "valksorsse/sse"}}

	tests := []struct {
		name string
		opts tmpl.Options
		text string
	}{
		{"same_origin", options(t), page},
		{"same_origin_nonce", options(t), pageNonce},
		{"cross_origin", cross, page},
		{"cross_origin_nonce_shim", shim, pageNonce},
		{"disabled", tmpl.Options{}, page},
		{"disabled_nonce", tmpl.Options{ServerURL: "http://localhost:8080"}, pageNonce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm, err := tmpl.FuncMap(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "funcs_"+tt.name+".html", []byte(render(t, fm, tt.text, data)))
		})
	}
}

func TestNewErrors(t *testing.T) {
	m := newMapper(t, appFS())
	tests := []struct {
		name string
		mod  func(o *tmpl.Options)
		want string
	}{
		{"nil mapper", func(o *tmpl.Options) { o.Mapper = nil }, "tmpl: Options.Mapper is nil"},
		{"no client entry", func(o *tmpl.Options) { o.ImportMap.Entries = o.ImportMap.Entries[1:] }, `tmpl: Options.ImportMap has no "valksorsse/sse" entry`},
		{"unknown entry path", func(o *tmpl.Options) {
			o.ImportMap.Entries = append(o.ImportMap.Entries, assets.ImportEntry{Name: "x", Path: "x.js"})
		}, `tmpl: assets: import map entry "x": no asset with logical path "x.js"`},
		{"relative server URL", func(o *tmpl.Options) { o.ServerURL = "localhost:8080" }, `tmpl: invalid ServerURL "localhost:8080"`},
		{"server URL with query", func(o *tmpl.Options) { o.ServerURL = "http://h/?x" }, `tmpl: invalid ServerURL`},
		{"base path", func(o *tmpl.Options) { o.BasePath = "sse" }, `tmpl: invalid BasePath "sse"`},
		{"negative TTL", func(o *tmpl.Options) { o.PingTTL = -time.Second }, "tmpl: negative PingTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tmpl.Options{Enabled: true, Mapper: m, ImportMap: importMap()}
			tt.mod(&o)
			if _, err := tmpl.New(o); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("New() = %v, want %q", err, tt.want)
			}
			if _, err := tmpl.FuncMap(o); err == nil {
				t.Error("FuncMap() did not fail")
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Error("Inject() did not panic")
					}
				}()
				tmpl.Inject(http.NotFoundHandler(), o)
			}()
		})
	}
	t.Run("disabled needs nothing", func(t *testing.T) {
		if _, err := tmpl.New(tmpl.Options{ServerURL: "::bad"}); err != nil {
			t.Error(err)
		}
	})
}

func TestFuncArgErrors(t *testing.T) {
	fm, err := tmpl.FuncMap(options(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text, want string
	}{
		{"definition two args", `{{ valksor_sse_importmap_definition "a" "b" }}`, "2 arguments"},
		{"definition int", `{{ valksor_sse_importmap_definition 1 }}`, "argument of type int"},
		{"scripts unknown", `{{ valksor_sse_importmap_scripts "nope" }}`, `"nope" is not an entry of the import map`},
		{"scripts two nonces", `{{ valksor_sse_importmap_scripts (valksor_sse_nonce "a") (valksor_sse_nonce "b") }}`, "more than one nonce"},
		{"scripts int", `{{ valksor_sse_importmap_scripts 3 }}`, "argument of type int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := template.Must(template.New("x").Funcs(fm).Parse(tt.text))
			err := tp.Execute(&strings.Builder{}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("disabled ignores arguments", func(t *testing.T) {
		fm, _ := tmpl.FuncMap(tmpl.Options{})
		if got := render(t, fm, `{{ valksor_sse_importmap_scripts "nope" 3 }}{{ valksor_sse_importmap_definition 1 2 }}{{ valksor_sse_ping }}`, nil); got != "" {
			t.Errorf("disabled output %q", got)
		}
	})
}

func pingOptions(stub *sseStub, ttl time.Duration) tmpl.Options {
	return tmpl.Options{
		Enabled: true, ServerURL: stub.srv.URL, PingTTL: ttl,
		ImportMap: importMap(),
	}
}

func newRenderer(t *testing.T, o tmpl.Options) *tmpl.Renderer {
	t.Helper()
	if o.Mapper == nil {
		o.Mapper = newMapper(t, appFS())
	}
	r, err := tmpl.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPing(t *testing.T) {
	stub := newSSEStub(t)
	port := stub.srv.URL[strings.LastIndex(stub.srv.URL, ":")+1:]
	up := template.HTML(`<meta name="valksor-sse-port" content="` + port + `">` + "\n" + `<meta name="valksor-sse-path" content="/sse">`)
	tests := []struct {
		name   string
		status int
		want   template.HTML
	}{
		{"up", http.StatusOK, up},
		{"unavailable", http.StatusServiceUnavailable, ""},
		{"not found", http.StatusNotFound, ""},
		{"no content is not up", http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub.status.Store(int64(tt.status))
			stub.hits.Store(0)
			r := newRenderer(t, pingOptions(stub, time.Minute))
			if got := r.Ping(); got != tt.want {
				t.Errorf("Ping() = %q, want %q", got, tt.want)
			}
			if got := r.Ping(); got != tt.want {
				t.Errorf("second Ping() = %q, want %q", got, tt.want)
			}
			if n := stub.hits.Load(); n != 1 {
				t.Errorf("%d healthz requests, want 1", n)
			}
		})
	}
	stub.status.Store(http.StatusOK)

	t.Run("server down", func(t *testing.T) {
		down := newSSEStub(t)
		o := pingOptions(down, time.Minute)
		down.srv.Close()
		if got := newRenderer(t, o).Ping(); got != "" {
			t.Errorf("Ping() = %q with the server down", got)
		}
	})

	t.Run("same origin needs no check", func(t *testing.T) {
		r := newRenderer(t, tmpl.Options{Enabled: true, ImportMap: importMap(), BasePath: "/events/"})
		want := template.HTML(`<meta name="valksor-sse-port" content="">` + "\n" + `<meta name="valksor-sse-path" content="/events">`)
		if got := r.Ping(); got != want {
			t.Errorf("Ping() = %q, want %q", got, want)
		}
	})

	t.Run("default port", func(t *testing.T) {
		o := pingOptions(stub, time.Minute)
		o.ServerURL = "http://sse.example"
		o.HTTPClient = &http.Client{Transport: redirectTransport{stub.srv.URL}}
		if got := newRenderer(t, o).Ping(); !strings.Contains(string(got), `content="80"`) {
			t.Errorf("Ping() = %q, want port 80", got)
		}
	})
}

func TestPingSlowServerBoundsRender(t *testing.T) {
	stub := newSSEStub(t)
	stub.delay.Store(int64(3 * time.Second))
	o := pingOptions(stub, time.Minute)
	o.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
	r := newRenderer(t, o)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if got := r.Ping(); got != "" {
				t.Errorf("Ping() = %q for a server that does not answer in time", got)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("render blocked for %v", d)
			}
		}()
	}
	wg.Wait()
	start := time.Now()
	r.Ping()
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("render after the first check blocked for %v", d)
	}
	if n := stub.hits.Load(); n != 1 {
		t.Errorf("%d healthz requests, want 1", n)
	}
}

func TestPingCaching(t *testing.T) {
	stub := newSSEStub(t)
	const ttl = 300 * time.Millisecond
	r := newRenderer(t, pingOptions(stub, ttl))
	burst := func() {
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() { defer wg.Done(); r.Ping() }()
		}
		wg.Wait()
	}
	burst()
	if n := stub.hits.Load(); n != 1 {
		t.Fatalf("first burst: %d healthz requests, want 1", n)
	}
	burst()
	if n := stub.hits.Load(); n != 1 {
		t.Fatalf("second burst within TTL: %d healthz requests, want 1", n)
	}

	// After the TTL the server goes down: the next renders get the stale
	// (up) result without waiting while one background check runs.
	stub.status.Store(http.StatusServiceUnavailable)
	time.Sleep(ttl + 50*time.Millisecond)
	start := time.Now()
	if got := r.Ping(); got == "" {
		t.Error("stale result not used while revalidating")
	}
	burst()
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("renders after the TTL blocked for %v", d)
	}
	proctest.Await(t, 2*time.Second, "the down server to be noticed", func() bool { return r.Ping() == "" })
	if n := stub.hits.Load(); n != 2 {
		t.Errorf("after one TTL: %d healthz requests, want 2", n)
	}
}

func TestRendererMethods(t *testing.T) {
	r := newRenderer(t, options(t))
	s, err := r.Scripts("", "app", "app", "valksorsse/sse")
	if err != nil {
		t.Fatal(err)
	}
	if want := "<script type=\"module\">import \"valksorsse/sse\";\nimport \"app\";</script>"; string(s) != want {
		t.Errorf("Scripts() = %q, want %q", s, want)
	}
	def, err := r.Definition("n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(def), `<script type="importmap" nonce="n">`) {
		t.Errorf("Definition() = %q", def)
	}
	snip, err := r.Snippet("n")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "snippet_nonce.html", []byte(snip))
}
