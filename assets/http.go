package assets

import (
	"bytes"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"
)

// contentTypes maps lower-case file extensions to the Content-Type they are
// served with. It is fixed rather than taken from the system MIME tables so
// that a file gets the same type on every machine.
var contentTypes = map[string]string{
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".xml":         "application/xml",
	".csv":         "text/csv; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/vnd.microsoft.icon",
	".bmp":         "image/bmp",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".eot":         "application/vnd.ms-fontobject",
	".wasm":        "application/wasm",
	".pdf":         "application/pdf",
	".mp3":         "audio/mpeg",
	".ogg":         "audio/ogg",
	".wav":         "audio/wav",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
}

// contentType returns the Content-Type for a file, by extension, falling
// back to content sniffing.
func contentType(name string, content []byte) string {
	if ct, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return ct
	}
	return http.DetectContentType(content)
}

// ServeHTTP serves the assets under the mapper's prefix; see the package
// documentation for the caching, CORS, ETag and 404 policies. Requests
// outside the prefix get 404, so the mapper is meant to be mounted on the
// prefix itself (mux.Handle("/assets/", m)). Safe for concurrent use.
func (m *Mapper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !strings.HasPrefix(p, m.prefix) {
		notFound(w, "assets: not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "assets: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	g := m.current()
	a := g.lookupPublic(p)
	if a == nil {
		if cur := g.byLogical[strings.TrimPrefix(p, m.prefix)]; cur != nil {
			notFound(w, fmt.Sprintf("assets: %s is not served under its logical name; use %s", p, cur.PublicPath))
			return
		}
		notFound(w, "assets: not found")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+a.Digest+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.content))
}

func notFound(w http.ResponseWriter, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, http.StatusNotFound)
}
