package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// FS holds the embedded files: sse.js (the client module), worker.js (its
// SharedWorker) and demo.html (the demo page template).
//
//go:embed sse.js worker.js demo.html
var FS embed.FS

// ClientFS holds only the client module, sse.js, for an asset mapper
// namespace (the worker and the demo page are served by Handler and
// DemoHandler at stable URLs instead).
//
//go:embed sse.js
var ClientFS embed.FS

// asset is an embedded file ready to serve.
type asset struct {
	body []byte
	etag string
}

func load(name string) asset {
	b, err := FS.ReadFile(name)
	if err != nil {
		panic("web: embedded file missing: " + name)
	}
	return newAsset(b)
}

func newAsset(b []byte) asset {
	sum := sha256.Sum256(b)
	return asset{body: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
}

// The tabs (the client in sse.js) talk to the SharedWorker in worker.js
// over their MessagePort:
//
//	tab → worker  {t:'hello', url, base, types}  join the stream url
//	              {t:'listen', type}              also relay events of type
//	              {t:'ping', nonce}               POST base/ping for a pong
//	              {t:'bye'}                       the tab leaves (pagehide)
//	worker → tab  {t:'ev', type, data, id}        an event (data unparsed)
//	              {t:'down'}                      the connection was lost
//	              {t:'pingerr', nonce, error}     the ping could not be sent
//
// A tab that joins a connected stream first gets its connected event.
var (
	clientJS = load("sse.js")
	workerJS = load("worker.js")
	demoTmpl = template.Must(template.ParseFS(FS, "demo.html"))
)

// Handler serves the client module at basePath+"/client.js" and its
// SharedWorker at basePath+"/worker.js" (GET and HEAD), with Content-Type
// text/javascript, Cache-Control "max-age=300" (a page reload uses the
// cached client without asking: a new client reaches pages within five
// minutes of an upgrade), a strong ETag (answering 304 to a
// matching If-None-Match) and Access-Control-Allow-Origin: *, since module
// scripts are fetched in CORS mode and these files are public. Other paths
// get 404. basePath is the hub's base path, such as "/sse"; Register mounts
// the handler on both paths.
func Handler(basePath string) http.Handler {
	base := strings.TrimRight(basePath, "/")
	return &jsHandler{files: map[string]asset{
		base + "/client.js": clientJS,
		base + "/worker.js": workerJS,
	}}
}

// Register mounts Handler(basePath) on mux at basePath+"/client.js" and
// basePath+"/worker.js".
func Register(mux *http.ServeMux, basePath string) {
	h := Handler(basePath)
	base := strings.TrimRight(basePath, "/")
	mux.Handle(base+"/client.js", h)
	mux.Handle(base+"/worker.js", h)
}

type jsHandler struct {
	files map[string]asset
}

func (h *jsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	serve(w, r, a, "text/javascript; charset=utf-8", jsCacheControl)
}

// jsCacheControl lets a page reload use the cached client and worker
// without a round trip to the server, which would hold up the new page's
// DOMContentLoaded; after an upgrade the new files arrive within five
// minutes.
const jsCacheControl = "max-age=300"

// serve writes a with the given type and validators, for GET and HEAD.
func serve(w http.ResponseWriter, r *http.Request, a asset, contentType, cacheControl string) {
	hd := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "this is a static file: use GET", http.StatusMethodNotAllowed)
		return
	}
	hd.Set("Content-Type", contentType)
	hd.Set("Cache-Control", cacheControl)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// DemoHandler serves the demo page (GET and HEAD, whatever the path it is
// mounted on): it loads basePath+"/client.js" and shows the connection
// state, the connection id, a ping button with the round-trip time and a
// live log of the received events. The standalone server mounts it at /.
func DemoHandler(basePath string) http.Handler {
	var buf bytes.Buffer
	if err := demoTmpl.Execute(&buf, struct{ Base string }{strings.TrimRight(basePath, "/")}); err != nil {
		panic("web: demo page template: " + err.Error())
	}
	a := newAsset(buf.Bytes())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve(w, r, a, "text/html; charset=utf-8", "no-cache")
	})
}
