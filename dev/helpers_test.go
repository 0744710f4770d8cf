package dev_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/dev"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/tmpl"
)

// clientImport is the part of the client snippet that loads the client; a
// page must contain it exactly once.
const clientImport = `import "valksorsse/sse";`

// eventually polls cond every 10ms until it holds or d has passed.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	proctest.Await(t, d, what, cond)
}

// freeAddr returns a 127.0.0.1 address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// quietLogger discards everything.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newRenderer returns an enabled same-origin renderer over a stand-in
// client.
func newRenderer(t *testing.T) *tmpl.Renderer {
	t.Helper()
	m, err := assets.New(assets.Source{Namespace: "valksorsse", FS: fstest.MapFS{
		"sse.js": &fstest.MapFile{Data: []byte("window.sseClient = {addEventListener() {}};\n")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tmpl.New(tmpl.Options{
		Enabled:   true,
		Mapper:    m,
		ImportMap: assets.ImportMap{Entries: []assets.ImportEntry{{Name: tmpl.ClientEntry, Path: "valksorsse/sse.js"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// proxyServer runs a Proxy to target on a 127.0.0.1 listener.
type proxyServer struct {
	*httptest.Server
	proxy  *dev.Proxy
	client *http.Client // no compression, no redirects, no keep-alive leftovers
}

func startProxy(t *testing.T, target string, o dev.ProxyOptions) *proxyServer {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if o.Renderer == nil {
		o.Renderer = newRenderer(t)
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	p, err := dev.NewProxy(u, o)
	if err != nil {
		t.Fatal(err)
	}
	ps := &proxyServer{Server: httptest.NewServer(p), proxy: p}
	tr := &http.Transport{DisableCompression: true}
	ps.client = &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ps.Close()
		p.CloseIdleConnections()
	})
	return ps
}

// get makes a request through the proxy and returns the response with its
// body read.
func (ps *proxyServer) do(t *testing.T, method, path string, edit func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ps.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	resp, err := ps.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp, body
}

// port returns the port of a URL such as http://127.0.0.1:1234.
func port(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// syncBuffer is a buffer the test reads while a process or logger writes.
type syncBuffer = proctest.Buffer

// recorder collects the states a Runner reports and checks that OnState
// is never called concurrently.
type recorder struct {
	t        *testing.T
	mu       sync.Mutex
	states   []dev.State
	inFlight int
}

func (r *recorder) onState(s dev.State) {
	r.mu.Lock()
	r.inFlight++
	if r.inFlight > 1 {
		r.t.Errorf("OnState called concurrently")
	}
	r.states = append(r.states, s)
	r.mu.Unlock()
	time.Sleep(time.Millisecond) // widen the window for overlapping calls
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
}

// phases returns the phases reported so far, space separated.
func (r *recorder) phases() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var p []string
	for _, s := range r.states {
		p = append(p, string(s.Phase))
	}
	return strings.Join(p, " ")
}

// last returns the last state reported.
func (r *recorder) last() dev.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.states) == 0 {
		return dev.State{}
	}
	return r.states[len(r.states)-1]
}

// tmplEnabledWithoutMapper returns options tmpl.New rejects.
func tmplEnabledWithoutMapper() tmpl.Options { return tmpl.Options{Enabled: true} }
