// Package assets is a Go counterpart of Symfony's AssetMapper: it maps the
// files of one or more file systems to content-digested public URLs, rewrites
// the relative references between them, serves them over HTTP with
// far-future caching, compiles them to a directory for production, and
// renders WHATWG import maps (with Subresource Integrity) for them.
//
// # Logical and public paths
//
// Every file of a [Source] gets a logical path: its path inside the source's
// file system, prefixed by the source's namespace ("valksorsse/sse.js" for
// sse.js in the "valksorsse" namespace, "app.js" for app.js in the root
// namespace ""). Dotfiles, dot directories and directories named
// node_modules are ignored. When two sources provide the same logical path,
// the source listed first wins, so an application can override a file of a
// component by listing its own directory first.
//
// The public path of a file is the configured prefix ("/assets/" by
// default) followed by its logical path with the first 8 hex digits of the
// SHA-256 of its served content inserted before the last extension:
// app.js becomes /assets/app-3f2a1b9c.js and LICENSE becomes
// /assets/LICENSE-0d1e2f3a. A name that already looks digested is digested
// again like any other.
//
// # Rewriting
//
// In .js and .mjs files, relative specifiers ("./x.js", "../y.js") of static
// imports, side-effect imports, export-from declarations, dynamic import()
// calls with a plain string literal, and new URL('./w.js', import.meta.url)
// are replaced by relative URLs of the digested targets. In .css files,
// url(…) (quoted or not) and @import "…" with relative URLs are rewritten the
// same way. Bare specifiers ("lit", "valksorsse/sse"), absolute and
// root-relative URLs, data: URLs and fragments are left alone. A reference to
// a file that does not exist, or whose path climbs out of the referring
// file's source, is left unchanged and reported by [Mapper.Warnings].
// Files whose logical path contains characters that cannot appear unescaped
// in these URLs (quotes, backquote, backslash, ?, #, %, <, >, {, }, |, ^ or
// control characters) are skipped with a warning.
//
// Rewritten URLs are relative to the referring file, so digests do not
// depend on the prefix, and the digest of a file covers its rewritten
// content: changing a file deep in the tree changes the digest of every file
// that (transitively) refers to it. This requires the references to form a
// directed acyclic graph. Import cycles are legal in ES modules and CSS
// cycles are ignored by browsers, but the digest of a file in a cycle would
// depend on itself, so [New] and [Mapper.Reload] reject cycles with an error
// naming them ("assets: import cycle a.js -> b.js -> a.js: …").
//
// # HTTP
//
// A [Mapper] is an [http.Handler] for the paths under its prefix. It serves
// each file under its digested public path with
// "Cache-Control: public, max-age=31536000, immutable", a strong ETag (the
// digest), "Access-Control-Allow-Origin: *" (module scripts loaded from
// another origin are fetched in CORS mode) and an explicit Content-Type,
// answers If-None-Match with 304 and supports HEAD and Range requests.
// Methods other than GET and HEAD get 405.
//
// A request for the undigested name of a file (/assets/app.js) gets a 404
// whose plain-text body names the current digested path ("use
// /assets/app-3f2a1b9c.js") and "Cache-Control: no-store". It is
// deliberately not redirected: a redirect from a mutable URL to an immutable
// one is easily cached by browsers and proxies, after which a page keeps
// loading stale code; templates must use the digested paths (see
// [Mapper.PublicPath] and the import map functions).
//
// # Development
//
// With [Options].AutoReload set, every lookup (including HTTP requests)
// checks, at most once per 50ms, whether a file was added, removed or
// changed (by size and modification time) and rescans all sources if so.
// The public paths of the previous generations stay servable, so a page
// loaded before a change can still fetch the assets it references.
package assets
