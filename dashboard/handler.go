package dashboard

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// files holds the page: the HTML template, its script and its stylesheet.
//
//go:embed page/index.html page/app.js page/app.css
var files embed.FS

var (
	pageTmpl = template.Must(template.ParseFS(files, "page/index.html"))
	appJS    = loadAsset("page/app.js")
	appCSS   = loadAsset("page/app.css")
)

// asset is an embedded file, also gzipped, with its ETag.
type asset struct {
	body, gz []byte
	etag     string
}

func loadAsset(name string) asset {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("dashboard: embedded file missing: " + name)
	}
	sum := sha256.Sum256(b)
	return asset{body: b, gz: gzipped(b), etag: base64.RawURLEncoding.EncodeToString(sum[:18])}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// acceptsGzip reports whether the request accepts a gzip-encoded answer.
func acceptsGzip(r *http.Request) bool {
	for _, e := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if name, q, _ := strings.Cut(strings.TrimSpace(e), ";"); strings.TrimSpace(name) == "gzip" {
			return strings.ReplaceAll(q, " ", "") != "q=0"
		}
	}
	return false
}

// contentSecurityPolicy allows the page only its own origin: its script,
// its stylesheet, the hub's client and SharedWorker, the event stream and
// the publish endpoint.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; worker-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pageData is what the page template renders.
type pageData struct {
	Base  string
	Path  string
	Topic string
	Init  initData
}

// initData is the page's starting state, embedded as JSON. A private
// dashboard embeds no numbers: the page is public, its data is not.
type initData struct {
	Node          string   `json:"node"`
	Base          string   `json:"base"`
	Topic         string   `json:"topic"`
	TokenRequired bool     `json:"tokenRequired"`
	Private       bool     `json:"private"`
	Samples       []Sample `json:"samples"`
	Tail          []Entry  `json:"tail"`
	Stats         *Stats   `json:"stats"`
}

// Register mounts the dashboard on mux at Path and below it. Call it after
// Attach.
func (d *Dashboard) Register(mux *http.ServeMux) {
	p := d.Path()
	mux.Handle(p, d)
	mux.Handle(p+"/", d)
}

// ServeHTTP serves the page at Path (and Path + "/"), its script at
// Path/app.js and its stylesheet at Path/app.css, for GET and HEAD. Other
// paths get 404. It answers 503 before Attach.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	h, path := d.hub, d.path
	d.mu.Unlock()
	if h == nil {
		http.Error(w, "dashboard: not attached to a hub yet", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard answers GET", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case path, path + "/":
		d.servePage(w, r, h, path)
	case path + "/app.js":
		serveAsset(w, r, appJS, "text/javascript; charset=utf-8")
	case path + "/app.css":
		serveAsset(w, r, appCSS, "text/css; charset=utf-8")
	default:
		http.NotFound(w, r)
	}
}

func (d *Dashboard) servePage(w http.ResponseWriter, r *http.Request, h Hub, path string) {
	base := strings.TrimRight(h.BasePath(), "/")
	data := pageData{
		Base:  base,
		Path:  path,
		Topic: Topic,
		Init: initData{
			Node:          d.node,
			Base:          base,
			Topic:         Topic,
			TokenRequired: d.opts.TokenRequired,
			Private:       d.opts.Private,
			Samples:       []Sample{},
			Tail:          []Entry{},
		},
	}
	if !d.opts.Private {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		st := d.snapshot(ctx, h)
		data.Init.Samples, _ = d.history()
		data.Init.Tail = d.recentTail()
		data.Init.Stats = &st
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		http.Error(w, "dashboard: render the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Add("Vary", "Accept-Encoding")
	body := buf.Bytes()
	if acceptsGzip(r) {
		body = gzipped(body)
		hd.Set("Content-Encoding", "gzip")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func serveAsset(w http.ResponseWriter, r *http.Request, a asset, contentType string) {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Add("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if acceptsGzip(r) {
		body, etag = a.gz, etag+"-gz"
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}
