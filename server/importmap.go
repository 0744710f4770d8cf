package server

import (
	"net/http"

	"github.com/valksor/go-sse/assets"
)

// registerImportMap serves the import map of the config next to the
// assets, for pages the server does not render (a PHP or Node app in
// development):
//
//	<prefix>importmap.html  the tags for a page's <head>: the import map and
//	                        a modulepreload link for each importmap_preload
//	                        entry (and what it imports)
//	<prefix>importmap.json  the import map itself, with integrity
//
// URLs point at this server (absolute, from the request's host and
// scheme), with the current digests, so a page on another origin can use
// them as they are. `valksor-sse assets compile` writes the same two files
// with relative URLs for production.
func registerImportMap(mux *http.ServeMux, mapper *assets.Mapper, im assets.ImportMap) {
	base := func(r *http.Request) string {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host
	}
	serve := func(w http.ResponseWriter, ctype string, body []byte, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		// Public URLs only, like the assets it names (which are served
		// to any origin): any page may read it.
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "no-cache") // digests change with the files
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	}
	mux.HandleFunc("GET "+mapper.Prefix()+"importmap.json", func(w http.ResponseWriter, r *http.Request) {
		b, err := mapper.ImportMapJSON(im, base(r))
		serve(w, "application/importmap+json", append(b, '\n'), err)
	})
	mux.HandleFunc("GET "+mapper.Prefix()+"importmap.html", func(w http.ResponseWriter, r *http.Request) {
		h, err := mapper.RenderImportMap(im, base(r), "")
		serve(w, "text/html; charset=utf-8", []byte(string(h)+"\n"), err)
	})
}
