package assets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"strings"
)

// ImportMap describes an import map to render with [Mapper.ImportMapJSON]
// or [Mapper.RenderImportMap].
type ImportMap struct {
	// Entries maps module specifiers to assets or URLs.
	Entries []ImportEntry
	// ShimURL, when not empty, is the URL of the es-module-shims polyfill,
	// loaded with <script async> for browsers without import map support.
	ShimURL string
}

// ImportEntry is one specifier of an [ImportMap].
type ImportEntry struct {
	// Name is the module specifier, such as "valksorsse/sse" or "app".
	Name string
	// Path is the logical path of an asset ("valksorsse/sse.js"), or an
	// absolute http(s) URL (or protocol-relative "//host/…"), which is used
	// verbatim and gets no integrity.
	Path string
	// Preload adds a <link rel="modulepreload"> for the entry and the
	// modules it statically imports.
	Preload bool
}

// resolvedImportMap is an import map with URLs resolved.
type resolvedImportMap struct {
	Imports   map[string]string `json:"imports"`
	Integrity map[string]string `json:"integrity,omitempty"`

	preloads    []preload
	crossOrigin bool
}

type preload struct {
	url, integrity string
	crossOrigin    bool
}

func isAbsoluteURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "//")
}

func (m *Mapper) resolveImportMap(im ImportMap, baseURL string) (*resolvedImportMap, error) {
	base := strings.TrimSuffix(baseURL, "/")
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("assets: invalid import map base URL %q: want \"\" or an absolute http(s) URL such as \"http://localhost:8080\"", baseURL)
		}
	}
	g := m.current()
	res := &resolvedImportMap{
		Imports:     make(map[string]string, len(im.Entries)),
		Integrity:   make(map[string]string),
		crossOrigin: base != "",
	}
	preloaded := make(map[string]bool)
	addPreload := func(u, integrity string, cross bool) {
		if !preloaded[u] {
			preloaded[u] = true
			res.preloads = append(res.preloads, preload{url: u, integrity: integrity, crossOrigin: cross})
		}
	}
	for _, e := range im.Entries {
		if e.Name == "" {
			return nil, fmt.Errorf("assets: import map entry with path %q has an empty name", e.Path)
		}
		if _, dup := res.Imports[e.Name]; dup {
			return nil, fmt.Errorf("assets: import map entry %q is listed twice", e.Name)
		}
		if isAbsoluteURL(e.Path) {
			res.Imports[e.Name] = e.Path
			if e.Preload {
				addPreload(e.Path, "", true)
			}
			continue
		}
		a := g.byLogical[e.Path]
		if a == nil {
			return nil, fmt.Errorf("assets: import map entry %q: no asset with logical path %q", e.Name, e.Path)
		}
		u := base + a.PublicPath
		res.Imports[e.Name] = u
		res.Integrity[u] = a.Integrity
		if e.Preload {
			addPreload(u, a.Integrity, base != "")
		}
		// Modules reached through relative imports are fetched by their
		// resolved URLs, which the integrity section covers too.
		for _, l := range g.deepDeps(e.Path, func(k refKind) bool { return k == refStatic || k == refDynamic }) {
			d := g.byLogical[l]
			res.Integrity[base+d.PublicPath] = d.Integrity
		}
		if e.Preload {
			for _, l := range g.deepDeps(e.Path, func(k refKind) bool { return k == refStatic }) {
				d := g.byLogical[l]
				addPreload(base+d.PublicPath, d.Integrity, base != "")
			}
		}
	}
	return res, nil
}

// ImportMapJSON returns the import map for im as indented JSON, in the
// WHATWG format: {"imports": {name: url}, "integrity": {url: "sha384-…"}}.
// URLs are the digested public paths ("/assets/app-3f2a1b9c.js"), prefixed
// with baseURL when it is not empty (an absolute http(s) URL such as
// "http://localhost:8080", for pages on another origin). The integrity
// section covers every mapped entry and the modules it imports through
// relative specifiers, keyed by their URLs as resolved; entries given as
// absolute URLs get none. The error, starting with "assets:", names the entry
// when an entry path is not a known asset, and reports empty or duplicate
// names and an invalid baseURL. '<', '>' and '&' are escaped as \u003c and
// so on, so the JSON can be embedded in HTML as is. Safe for concurrent use.
func (m *Mapper) ImportMapJSON(im ImportMap, baseURL string) ([]byte, error) {
	res, err := m.resolveImportMap(im, baseURL)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(res, "", "  ")
}

// RenderImportMap returns the HTML that defines the import map for im (see
// [Mapper.ImportMapJSON] for baseURL and errors): the es-module-shims
// <script async> when im.ShimURL is set, the <script type="importmap">, and a
// <link rel="modulepreload"> with integrity for every preloaded entry and the
// modules it statically imports. Links get crossorigin="anonymous" when
// baseURL is not empty (the modules come from another origin). When nonce is
// not empty every element gets nonce="…" (CSP applies script-src, and the
// element's nonce, to module preloads too). The JSON is escaped so that no
// path can close the script element. Safe for concurrent use.
func (m *Mapper) RenderImportMap(im ImportMap, baseURL, nonce string) (template.HTML, error) {
	res, err := m.resolveImportMap(im, baseURL)
	if err != nil {
		return "", err
	}
	js, err := json.Marshal(res) // escapes <, >, &, U+2028 and U+2029
	if err != nil {
		return "", err
	}
	var nonceAttr string
	if nonce != "" {
		nonceAttr = ` nonce="` + html.EscapeString(nonce) + `"`
	}
	var b bytes.Buffer
	if im.ShimURL != "" {
		fmt.Fprintf(&b, "<script async src=\"%s\"%s></script>\n", html.EscapeString(im.ShimURL), nonceAttr)
	}
	fmt.Fprintf(&b, "<script type=\"importmap\"%s>%s</script>", nonceAttr, js)
	for _, p := range res.preloads {
		fmt.Fprintf(&b, "\n<link rel=\"modulepreload\" href=\"%s\"", html.EscapeString(p.url))
		if p.integrity != "" {
			fmt.Fprintf(&b, " integrity=\"%s\"", p.integrity)
		}
		if p.crossOrigin {
			b.WriteString(` crossorigin="anonymous"`)
		}
		b.WriteString(nonceAttr + ">")
	}
	return template.HTML(b.String()), nil
}
