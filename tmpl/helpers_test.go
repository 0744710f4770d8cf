package tmpl_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/tmpl"
)

func mfile(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// webFS stands in for web.FS, the SSE client.
func webFS() fstest.MapFS {
	return fstest.MapFS{
		"sse.js":    mfile("import { start } from './worker.js';\nstart();\n"),
		"worker.js": mfile("export function start() {}\n"),
	}
}

func appFS() fstest.MapFS {
	return fstest.MapFS{
		"app.js":  mfile("import './util.js';\n"),
		"util.js": mfile("export {};\n"),
	}
}

func newMapper(t testing.TB, app fstest.MapFS) *assets.Mapper {
	t.Helper()
	m, err := assets.New(assets.Source{FS: app}, assets.Source{Namespace: "valksorsse", FS: webFS()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func importMap() assets.ImportMap {
	return assets.ImportMap{Entries: []assets.ImportEntry{
		{Name: "valksorsse/sse", Path: "valksorsse/sse.js", Preload: true},
		{Name: "app", Path: "app.js"},
	}}
}

// options returns enabled, same-origin options (no ping request).
func options(t testing.TB) tmpl.Options {
	return tmpl.Options{Enabled: true, Mapper: newMapper(t, appFS()), ImportMap: importMap()}
}

// sseStub is a stand-in SSE server answering /sse/healthz.
type sseStub struct {
	srv    *httptest.Server
	hits   atomic.Int64
	status atomic.Int64
	delay  atomic.Int64 // nanoseconds
}

func newSSEStub(t *testing.T) *sseStub {
	s := &sseStub{}
	s.status.Store(http.StatusOK)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sse/healthz" {
			http.NotFound(w, r)
			return
		}
		s.hits.Add(1)
		if d := time.Duration(s.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(int(s.status.Load()))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// redirectTransport sends every request to target's host, so that options
// can name a fixed ServerURL (stable golden files) while a real listener
// answers.
type redirectTransport struct{ target string }

func (rt redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	u, err := url.Parse(rt.target)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
	return http.DefaultTransport.RoundTrip(r)
}
