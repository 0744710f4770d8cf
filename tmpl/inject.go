package tmpl

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// maxInjectBody is the largest HTML body (after decompression) Inject
// buffers; larger responses are passed through untouched.
const maxInjectBody = 16 << 20

// Inject returns a handler that serves next and injects the SSE integration
// into its HTML responses, as described in the package documentation. When
// o.Enabled is false it returns next itself. It panics if o is invalid (see
// [New]), like [template.Must]; use [New] and [Renderer.Inject] to handle
// the error instead.
func Inject(next http.Handler, o Options) http.Handler {
	r, err := New(o)
	if err != nil {
		panic(err)
	}
	return r.Inject(next)
}

// Inject returns a handler that serves next and injects the output of
// [Renderer.Snippet] into its HTML responses, as described in the package
// documentation, or next itself when the renderer is disabled. The handler
// is safe for concurrent use.
func (r *Renderer) Inject(next http.Handler) http.Handler {
	if !r.o.Enabled {
		return next
	}
	return &injectHandler{r: r, next: next}
}

type injectHandler struct {
	r    *Renderer
	next http.Handler
}

// ServeHTTP serves next, injecting into HTML responses.
func (h *injectHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodHead {
		h.next.ServeHTTP(w, req)
		return
	}
	iw := &injectWriter{w: w, req: req, r: h.r}
	h.next.ServeHTTP(iw, req)
	iw.finish()
}

type writerMode uint8

const (
	undecided writerMode = iota
	passthrough
	buffering
	hijacked
)

// injectWriter holds back an HTML response to inject into it and passes
// anything else straight through.
type injectWriter struct {
	w      http.ResponseWriter
	req    *http.Request
	r      *Renderer
	mode   writerMode
	status int // set by the handler's WriteHeader; 0 for an implicit 200
	gzip   bool
	buf    bytes.Buffer
}

// Header returns the underlying writer's header map.
func (iw *injectWriter) Header() http.Header { return iw.w.Header() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (iw *injectWriter) Unwrap() http.ResponseWriter { return iw.w }

// WriteHeader records the status; it is sent once the response is known
// not to be HTML, or with the injected body.
func (iw *injectWriter) WriteHeader(code int) {
	switch iw.mode {
	case passthrough, hijacked:
		iw.w.WriteHeader(code)
		return
	case buffering:
		return // superfluous call
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		iw.w.WriteHeader(code) // informational; the final status follows
		return
	}
	if iw.status != 0 {
		return
	}
	iw.status = code
	iw.decide(nil, false)
}

// Write passes p through, or buffers it for an HTML response.
func (iw *injectWriter) Write(p []byte) (int, error) {
	if iw.mode == undecided {
		iw.decide(p, true)
	}
	if iw.mode != buffering {
		return iw.w.Write(p)
	}
	if iw.buf.Len()+len(p) > maxInjectBody {
		iw.giveUp()
		return iw.w.Write(p)
	}
	return iw.buf.Write(p)
}

// Flush flushes a response that is passed through; it does nothing for a
// buffered HTML response.
func (iw *injectWriter) Flush() {
	if iw.mode == undecided {
		iw.decide(nil, true)
	}
	if iw.mode == passthrough {
		_ = http.NewResponseController(iw.w).Flush()
	}
}

// Hijack hands the connection over, after which nothing is injected.
func (iw *injectWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(iw.w).Hijack()
	if err == nil {
		iw.mode = hijacked
	}
	return conn, rw, err
}

// decide chooses between buffering and passing through. first is the first
// chunk of the body; without it (have false) the decision may be put off
// until the first Write when the Content-Type is unset.
func (iw *injectWriter) decide(first []byte, have bool) {
	h := iw.w.Header()
	status := iw.status
	if status == 0 {
		status = http.StatusOK
	}
	html := false
	switch status {
	case http.StatusNoContent, http.StatusPartialContent, http.StatusNotModified:
	default:
		if h.Get("Content-Range") != "" {
			break
		}
		enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
		ct := h.Get("Content-Type")
		sniffed := false
		if ct == "" && enc == "" {
			if !have {
				return
			}
			ct, sniffed = http.DetectContentType(first), true
		}
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/html" {
			break
		}
		switch enc {
		case "", "identity":
			html = true
		case "gzip", "x-gzip":
			html, iw.gzip = true, true
		}
		if html && sniffed {
			h.Set("Content-Type", ct) // what net/http would have sent
		}
	}
	if html {
		iw.mode = buffering
		return
	}
	iw.mode = passthrough
	if iw.status != 0 {
		iw.w.WriteHeader(iw.status)
	}
}

// giveUp sends what was buffered untouched and passes the rest through.
func (iw *injectWriter) giveUp() {
	iw.mode = passthrough
	if iw.status != 0 {
		iw.w.WriteHeader(iw.status)
	}
	_, _ = iw.w.Write(iw.buf.Bytes())
	iw.buf = bytes.Buffer{}
}

// finish completes the response after the handler returned.
func (iw *injectWriter) finish() {
	switch iw.mode {
	case undecided:
		if iw.status != 0 {
			iw.w.WriteHeader(iw.status)
		}
	case buffering:
		iw.inject()
	}
}

func (iw *injectWriter) inject() {
	body := iw.buf.Bytes()
	page := body
	if iw.gzip {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			iw.giveUp()
			return
		}
		page, err = io.ReadAll(io.LimitReader(zr, maxInjectBody+1))
		if err != nil || len(page) > maxInjectBody {
			iw.giveUp()
			return
		}
	}
	if HasClient(page) {
		iw.giveUp()
		return
	}
	h := iw.w.Header()
	nonce := ""
	if iw.r.o.Nonce != nil {
		nonce = iw.r.o.Nonce(iw.req)
	}
	if nonce == "" {
		nonce = CSPNonce(h.Values("Content-Security-Policy"))
	}
	snippet, err := iw.r.Snippet(nonce)
	if err != nil {
		if iw.r.o.OnError != nil {
			iw.r.o.OnError(iw.req, err)
		}
		iw.giveUp()
		return
	}
	out := InjectSnippet(page, []byte(snippet))
	if iw.gzip {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(out)
		_ = zw.Close()
		out = z.Bytes()
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	h.Del("ETag")
	h.Del("Last-Modified")
	if iw.status != 0 {
		iw.w.WriteHeader(iw.status)
	}
	_, _ = iw.w.Write(out)
}

// asciiLower returns a copy of b with ASCII letters lower-cased; unlike
// bytes.ToLower it keeps every byte at its offset.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// isTagEnd reports whether the byte after a tag name ends it.
func isTagEnd(b []byte, i int) bool {
	if i >= len(b) {
		return false
	}
	switch b[i] {
	case '>', ' ', '\t', '\n', '\r', '\f', '/':
		return true
	}
	return false
}

// InjectSnippet returns page with snippet inserted before the first
// </head>, else before the last </body> (both case-insensitive), else at
// the end. page is not modified.
func InjectSnippet(page, snippet []byte) []byte {
	lower := asciiLower(page)
	at := len(page)
	found := false
	for off := 0; !found; {
		i := bytes.Index(lower[off:], []byte("</head"))
		if i < 0 {
			break
		}
		if isTagEnd(lower, off+i+6) {
			at, found = off+i, true
		}
		off += i + 6
	}
	for end := len(lower); !found; {
		i := bytes.LastIndex(lower[:end], []byte("</body"))
		if i < 0 {
			break
		}
		if isTagEnd(lower, i+6) {
			at, found = i, true
		}
		end = i
	}
	out := make([]byte, 0, len(page)+len(snippet))
	out = append(out, page[:at]...)
	out = append(out, snippet...)
	return append(out, page[at:]...)
}

// HasClient reports whether page already has a <script type="importmap">
// defining ClientEntry, in which case Inject leaves it alone.
func HasClient(page []byte) bool {
	lower := asciiLower(page)
	for off := 0; ; {
		i := bytes.Index(lower[off:], []byte("<script"))
		if i < 0 {
			return false
		}
		start := off + i + len("<script")
		off = start
		if !isTagEnd(lower, start) {
			continue
		}
		end := bytes.IndexByte(lower[start:], '>')
		if end < 0 {
			return false
		}
		tag := lower[start : start+end]
		body := lower[start+end+1:]
		if j := bytes.Index(body, []byte("</script")); j >= 0 {
			body = body[:j]
		}
		if bytes.Contains(tag, []byte("importmap")) &&
			(bytes.Contains(body, []byte(`"`+ClientEntry+`"`)) || bytes.Contains(body, []byte(`"valksorsse\/sse"`))) {
			return true
		}
	}
}

// CSPNonce returns the first 'nonce-…' source of the script-src-elem
// directive of the given Content-Security-Policy header values, else of
// script-src, else of default-src, or "" when there is none.
func CSPNonce(policies []string) string {
	for _, want := range []string{"script-src-elem", "script-src", "default-src"} {
		for _, header := range policies {
			for _, policy := range strings.Split(header, ",") {
				for _, directive := range strings.Split(policy, ";") {
					f := strings.Fields(directive)
					if len(f) == 0 || !strings.EqualFold(f[0], want) {
						continue
					}
					for _, src := range f[1:] {
						if len(src) > len("'nonce-'") && strings.HasPrefix(strings.ToLower(src), "'nonce-") && strings.HasSuffix(src, "'") {
							return src[len("'nonce-") : len(src)-1]
						}
					}
				}
			}
		}
	}
	return ""
}
