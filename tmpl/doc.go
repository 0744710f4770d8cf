// Package tmpl is the html/template counterpart of the Valksor SSE Twig
// functions: it renders the import map and module script that load the SSE
// client (import-map name "valksorsse/sse", mapped by package assets), and
// the meta tags that tell the client where the SSE server is. It also
// provides a middleware that injects all of this into HTML pages, for
// applications that do not want to touch their templates.
//
// # Template functions
//
// [FuncMap] (or [Renderer.FuncMap]) provides, for html/template:
//
//	{{ valksor_sse_importmap_definition }}            import map + modulepreload links
//	{{ valksor_sse_importmap_definition .CSPNonce }}  the same with nonce="…"
//	{{ valksor_sse_importmap_scripts }}               <script type="module">import "valksorsse/sse";</script>
//	{{ valksor_sse_importmap_scripts "app" }}         … and import "app"; (any import map entry)
//	{{ valksor_sse_importmap_scripts "app" (valksor_sse_nonce .CSPNonce) }}
//	{{ valksor_sse_ping }}                            meta tags, only when the SSE server answers
//
// Nonce convention: valksor_sse_importmap_definition takes its optional
// nonce as a plain string, since it has no other argument. For
// valksor_sse_importmap_scripts plain strings (or a []string) are import map
// entry names, so its nonce must be marked as one: wrap it with the
// valksor_sse_nonce function, or pass a [Nonce] value from the template
// data. Both functions also accept a [Nonce] value.
//
// When [Options].Enabled is false every function renders "" (whatever its
// arguments) and [Inject] returns the wrapped handler itself, so production
// pages carry no development scripts.
//
// # Ping
//
// valksor_sse_ping renders <meta name="valksor-sse-port"> and
// <meta name="valksor-sse-path"> only when GET ServerURL+BasePath+"/healthz"
// answers 200. Unlike the PHP original, which makes a blocking HTTP call on
// every render, the result is cached for [Options].PingTTL and refreshed in
// the background by a single request: only renders before the very first
// check completes wait for it, and never longer than the HTTP client's
// timeout (300ms by default); after that renders never wait, and use the
// previous result while a refresh is under way.
//
// # Injection
//
// [Inject] wraps a handler and inserts the ping meta tags, the import map
// definition and the client module script before </head> (case-insensitive),
// else before the last </body>, else at the end of text/html responses.
// Non-HTML responses are streamed through byte for byte, with Flush passed
// on; the choice is made at the first Write (or Flush) from the
// Content-Type, sniffed with [http.DetectContentType] when unset. HTML
// responses are buffered (up to 16 MiB; larger ones are passed through
// untouched), so flushing an HTML response has no effect. The
// Content-Length is recomputed, and ETag and Last-Modified are removed from
// modified responses because they describe the original body. Responses to
// HEAD, 1xx/204/206/304 responses, pages that already define
// "valksorsse/sse" in an import map, and bodies with a Content-Encoding other
// than gzip (br, deflate, …) are left byte-identical. A gzip-encoded page is
// decompressed, injected and compressed again (it stays gzip-encoded). The
// CSP nonce is taken from [Options].Nonce, else from a 'nonce-…' source of
// the response's Content-Security-Policy header (script-src-elem, then
// script-src, then default-src).
package tmpl
