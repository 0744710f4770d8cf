package dev

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/valksor/go-sse/tmpl"
)

// maxInjectBody is the largest HTML body (after decompression) the proxy
// buffers to inject into; larger pages pass through untouched.
const maxInjectBody = 16 << 20

// overlayMarker is the attribute that marks the overlay's script element.
const overlayMarker = "data-valksor-sse-dev-overlay"

// ProxyOptions configures a [Proxy].
type ProxyOptions struct {
	// Renderer renders the client snippet (import map and module script,
	// see [tmpl.Renderer.Snippet]) injected into HTML responses and into
	// the page shown when the app is down. A disabled Renderer makes the
	// proxy inject nothing. When nil, a Renderer is built from Tmpl.
	Renderer *tmpl.Renderer

	// Tmpl configures the Renderer built with [tmpl.New] when Renderer is
	// nil; Enabled must then be true. Its Nonce function is not used: the
	// nonce must match the Content-Security-Policy the app sends, so it is
	// always taken from there.
	Tmpl tmpl.Options

	// Snippet returns the HTML injected right after the client snippet,
	// given the page's CSP nonce ("" when none). Nil means [OverlayTag]:
	// the overlay that shows a failed run's output. A page that already
	// carries data-valksor-sse-dev-overlay does not get it again.
	Snippet func(nonce string) string

	// State, when set, is consulted for the page shown when the app is
	// down: a failed run's error and output, or the news that the app is
	// starting, are shown there. Typically Runner.State.
	State func() State

	// Transport makes the requests to the app. Nil means a clone of
	// http.DefaultTransport with DisableCompression set, so that the
	// proxy forwards the browser's choice of encodings instead of adding
	// its own.
	Transport http.RoundTripper

	// Logger receives the proxy's messages: the app stopped answering,
	// answers again, a page could not be injected. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Proxy is an http.Handler that forwards every request to a development
// app (any language) and injects the SSE client and the dev overlay into
// its HTML responses, so that the pages reload when files change. Mount it
// as the catch-all of a mux that also serves the hub and the client assets
// under the SSE base path (/sse, /sse/client.js…).
//
// What passes through, and how:
//
//   - HTML (Content-Type text/html, or sniffed as HTML when absent) gets the
//     client snippet and the overlay before </head> (else before the last
//     </body>, else at the end), once: a page whose import map already
//     defines "valksorsse/sse" gets only the overlay. Content-Length is
//     recomputed; ETag, Last-Modified and Accept-Ranges are dropped.
//   - gzip-encoded HTML is decompressed, injected and compressed again.
//     Other encodings (br, zstd, deflate) are passed through byte for byte;
//     to get injectable pages the proxy asks the app for gzip only (when the
//     browser accepts it) or no encoding at all.
//   - Everything else — non-HTML, HEAD, 1xx, 204, 206, 304, HTML over 16
//     MiB — is passed through byte for byte, and flushed as it arrives
//     (FlushInterval -1), so text/event-stream and chunked responses stream.
//   - WebSocket and other upgrades (101 Switching Protocols) are spliced.
//   - A Location or Content-Location header that points at the app's
//     origin is rewritten to the origin the browser used; relative ones and
//     other origins are left alone. localhost, 127.0.0.0/8 and ::1 count as
//     the same host when the app is on a loopback address.
//   - Set-Cookie is passed through untouched, except that a Domain
//     attribute naming the app's host (or a parent domain of it) that the
//     browser's host does not match is removed: the cookie then becomes a
//     host-only cookie of the proxy's origin instead of being rejected.
//   - The request carries X-Forwarded-For, -Host and -Proto; its Host
//     header is the app's.
//
// When the app does not answer, the proxy serves a 502 page that names it,
// says why (connection refused, timed out…), includes the client snippet
// and the overlay, and reloads by itself when the server publishes a reload
// (see the package documentation for who does). A Proxy is safe for
// concurrent use.
type Proxy struct {
	target   *url.URL
	origin   string // scheme://host of the app, for messages
	rp       *httputil.ReverseProxy
	renderer *tmpl.Renderer
	extra    func(string) string
	state    func() State
	log      *slog.Logger
	down     atomic.Bool // the last request found the app not answering
}

// inboundKey is the context key under which the outbound request carries
// the browser's request.
type inboundKey struct{}

// NewProxy returns a Proxy to the app at target, an absolute http(s) URL of
// an origin such as http://localhost:8000 (a "/" path is allowed, others,
// a query, a fragment and user info are not). It fails when target is
// invalid, or when o has no Renderer and o.Tmpl is disabled or rejected by
// [tmpl.New].
func NewProxy(target *url.URL, o ProxyOptions) (*Proxy, error) {
	if target == nil {
		return nil, errors.New("dev: proxy target is nil")
	}
	if (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" ||
		target.User != nil || target.RawQuery != "" || target.Fragment != "" || (target.Path != "" && target.Path != "/") {
		return nil, fmt.Errorf("dev: invalid proxy target %q: want the app's origin, such as http://localhost:8000", target.String())
	}
	t := &url.URL{Scheme: target.Scheme, Host: target.Host}
	r := o.Renderer
	if r == nil {
		if !o.Tmpl.Enabled {
			return nil, errors.New("dev: ProxyOptions needs a Renderer, or Tmpl options with Enabled set")
		}
		var err error
		if r, err = tmpl.New(o.Tmpl); err != nil {
			return nil, fmt.Errorf("dev: %w", err)
		}
	}
	p := &Proxy{
		target:   t,
		origin:   t.String(),
		renderer: r,
		extra:    o.Snippet,
		state:    o.State,
		log:      o.Logger,
	}
	if p.extra == nil {
		p.extra = OverlayTag
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	tr := o.Transport
	if tr == nil {
		dt := http.DefaultTransport.(*http.Transport).Clone()
		dt.DisableCompression = true
		tr = dt
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      tr,
		FlushInterval:  -1,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.serveError,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// ServeHTTP forwards r to the app, as described on [Proxy].
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.rp.ServeHTTP(w, r)
}

// CloseIdleConnections closes the idle connections to the app, when the
// transport supports it. The Proxy stays usable.
func (p *Proxy) CloseIdleConnections() {
	if c, ok := p.rp.Transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// rewrite prepares the outbound request.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.target)
	pr.SetXForwarded()
	if acceptsGzip(pr.In.Header.Values("Accept-Encoding")) {
		pr.Out.Header.Set("Accept-Encoding", "gzip")
	} else {
		pr.Out.Header.Del("Accept-Encoding")
	}
	pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), inboundKey{}, pr.In))
}

// acceptsGzip reports whether Accept-Encoding values accept gzip (listed,
// or covered by "*", with a non-zero q).
func acceptsGzip(values []string) bool {
	gz, star := -1, -1
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			ok := 1
			for param := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(param, "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					if q, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil && q <= 0 {
						ok = 0
					}
				}
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip":
				gz = ok
			case "*":
				star = ok
			}
		}
	}
	return gz == 1 || (gz == -1 && star == 1)
}

// responseError marks errors of ModifyResponse, which are not the app
// being down.
type responseError struct{ err error }

func (e *responseError) Error() string { return e.err.Error() }
func (e *responseError) Unwrap() error { return e.err }

// modifyResponse rewrites the headers that name the app's origin and
// injects into HTML.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	if p.down.Swap(false) {
		p.log.Info("dev proxy: the app answers again", "app", p.origin)
	}
	if in, ok := resp.Request.Context().Value(inboundKey{}).(*http.Request); ok {
		p.rewriteLocation(resp.Header, in)
		p.rewriteCookies(resp.Header, in)
	}
	if err := p.inject(resp); err != nil {
		return &responseError{err}
	}
	return nil
}

// inject replaces the body of an HTML response with the injected page.
func (p *Proxy) inject(resp *http.Response) error {
	switch {
	case resp.Request.Method == http.MethodHead,
		resp.StatusCode < 200,
		resp.StatusCode == http.StatusNoContent,
		resp.StatusCode == http.StatusPartialContent,
		resp.StatusCode == http.StatusNotModified,
		resp.Header.Get("Content-Range") != "":
		return nil
	}
	gz := false
	switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		return nil // br, zstd, deflate…: cannot inject, pass through
	}
	body := resp.Body
	ct := resp.Header.Get("Content-Type")
	if ct == "" && !gz {
		first, err := readSome(body, 512)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the app's response: %w", err)
		}
		resp.Body = prepend(first, body)
		if ct = http.DetectContentType(first); !strings.HasPrefix(ct, "text/html") {
			return nil
		}
		resp.Header.Set("Content-Type", ct) // what the browser would have sniffed
		body = resp.Body
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/html" {
		return nil
	}

	raw, err := io.ReadAll(io.LimitReader(body, maxInjectBody+1))
	if err != nil {
		return fmt.Errorf("reading the app's HTML response: %w", err)
	}
	if len(raw) > maxInjectBody {
		resp.Body = prepend(raw, body)
		return nil
	}
	_ = body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw)) // untouched, unless injected below
	page := raw
	if gz {
		if page, err = gunzip(raw); err != nil {
			p.log.Warn("dev proxy: cannot decompress a gzip page; passing it through", "url", resp.Request.URL.String(), "err", err)
			return nil
		}
	}
	snippet := p.snippet(page, resp.Header)
	if snippet == "" {
		return nil
	}
	out := tmpl.InjectSnippet(page, []byte(snippet))
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(out)
		_ = zw.Close()
		out = z.Bytes()
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Del("ETag")
	resp.Header.Del("Last-Modified")
	resp.Header.Del("Accept-Ranges")
	return nil
}

// snippet returns what to inject into page: the client snippet unless the
// page has the client, then the overlay unless the page has it; "" when
// the renderer is disabled or fails.
func (p *Proxy) snippet(page []byte, h http.Header) string {
	nonce := tmpl.CSPNonce(h.Values("Content-Security-Policy"))
	s, err := p.renderer.Snippet(nonce)
	if err != nil {
		p.log.Warn("dev proxy: cannot render the client snippet; serving the page untouched", "err", err)
		return ""
	}
	if s == "" {
		return "" // disabled renderer
	}
	out := string(s)
	if tmpl.HasClient(page) {
		out = ""
	}
	if !bytes.Contains(page, []byte(overlayMarker)) {
		out += p.extra(nonce)
	}
	return out
}

// readSome returns the first bytes r yields (at most n), after one
// successful Read: it does not wait for n bytes.
func readSome(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		if k > 0 || err != nil {
			return buf[:k], err
		}
	}
}

// prepend returns a body that yields first, then the rest of body.
func prepend(first []byte, body io.ReadCloser) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(first), body), body}
}

// gunzip decompresses a gzip body of at most maxInjectBody bytes.
func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(io.LimitReader(zr, maxInjectBody+1))
	if err != nil {
		return nil, err
	}
	if len(page) > maxInjectBody {
		return nil, fmt.Errorf("more than %d bytes once decompressed", maxInjectBody)
	}
	return page, nil
}

// rewriteLocation points Location and Content-Location headers that name
// the app's origin at the origin the browser used.
func (p *Proxy) rewriteLocation(h http.Header, in *http.Request) {
	for _, key := range []string{"Location", "Content-Location"} {
		v := h.Get(key)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || u.Opaque != "" {
			continue // relative, or not a URL we understand
		}
		scheme := u.Scheme
		if scheme == "" {
			scheme = p.target.Scheme // protocol-relative: //host/path
		}
		if !strings.EqualFold(scheme, p.target.Scheme) || !p.isAppHost(u.Hostname(), portOr(u.Port(), scheme)) {
			continue
		}
		// Keep the rest of the value byte for byte: cut the authority off.
		rest := v
		if u.Scheme != "" {
			rest = rest[len(u.Scheme)+1:]
		}
		rest = strings.TrimPrefix(rest, "//")
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
		prefix := "//"
		if u.Scheme != "" {
			prefix = "http://"
			if in.TLS != nil {
				prefix = "https://"
			}
		}
		h.Set(key, prefix+in.Host+rest)
	}
}

// portOr returns port, or the default port of scheme.
func portOr(port, scheme string) string {
	if port != "" {
		return port
	}
	if strings.EqualFold(scheme, "https") {
		return "443"
	}
	return "80"
}

// isAppHost reports whether host:port is the app's address. Loopback names
// are taken to be one host when the app is on loopback.
func (p *Proxy) isAppHost(host, port string) bool {
	if port != portOr(p.target.Port(), p.target.Scheme) {
		return false
	}
	app := p.target.Hostname()
	return strings.EqualFold(host, app) || (isLoopback(host) && isLoopback(app))
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// rewriteCookies removes, from each Set-Cookie header, a Domain attribute
// that names the app's host but not the browser's: browsers reject such a
// cookie, while without Domain it is a host-only cookie of the proxy.
func (p *Proxy) rewriteCookies(h http.Header, in *http.Request) {
	cookies := h["Set-Cookie"]
	if len(cookies) == 0 {
		return
	}
	proxyHost := strings.ToLower(hostOnly(in.Host))
	appHost := strings.ToLower(p.target.Hostname())
	for i, c := range cookies {
		cookies[i] = dropForeignDomain(c, appHost, proxyHost)
	}
}

// hostOnly returns the host of a Host header value, without port or
// brackets.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// dropForeignDomain returns the Set-Cookie value line without the Domain
// attributes that domain-match appHost but not proxyHost; anything else is
// kept byte for byte.
func dropForeignDomain(line, appHost, proxyHost string) string {
	attrs := strings.Split(line, ";")
	kept := attrs[:1]
	for _, a := range attrs[1:] {
		name, value, _ := strings.Cut(a, "=")
		if strings.EqualFold(strings.TrimSpace(name), "domain") {
			d := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(value), "."))
			if d != "" && domainMatch(appHost, d) && !domainMatch(proxyHost, d) {
				continue
			}
		}
		kept = append(kept, a)
	}
	if len(kept) == len(attrs) {
		return line
	}
	return strings.Join(kept, ";")
}

// domainMatch reports whether host domain-matches the cookie domain d
// (RFC 6265, 5.1.3): equal, or a subdomain of d when host is a name.
func domainMatch(host, d string) bool {
	if host == d {
		return true
	}
	return net.ParseIP(host) == nil && strings.HasSuffix(host, "."+d)
}
