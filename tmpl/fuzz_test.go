package tmpl_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/valksor/go-sse/tmpl"
)

// insertedOnce reports whether out is page with snippet inserted at one
// position.
func insertedOnce(page, snippet, out []byte) bool {
	if len(out) != len(page)+len(snippet) {
		return false
	}
	for i := 0; i <= len(page); i++ {
		if bytes.Equal(out[:i], page[:i]) &&
			bytes.Equal(out[i:i+len(snippet)], snippet) && bytes.Equal(out[i+len(snippet):], page[i:]) {
			return true
		}
		if i < len(page) && out[i] != page[i] {
			break // the prefix can no longer match
		}
	}
	return false
}

func FuzzInject(f *testing.F) {
	for _, s := range []string{
		"<html><head><title>t</title></head><body>x</body></html>",
		"<HEAD></HEAD ><body></BODY>",
		"<body><!-- </body> --></body>",
		"</head</head></body",
		`<script type="importmap">{"imports":{"valksorsse/sse":"/x.js"}}</script>`,
		"plain text",
		"\xef\xbb\xbf<!DOCTYPE html>\u0130</HEAD>",
	} {
		f.Add([]byte(s), "<!--snippet-->", "script-src 'nonce-x'")
	}
	r, err := tmpl.New(options(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, page []byte, snippet, csp string) {
		out := tmpl.InjectSnippet(page, []byte(snippet))
		if !insertedOnce(page, []byte(snippet), out) {
			t.Fatalf("InjectSnippet(%q, %q) = %q: not the page with the snippet inserted once", page, snippet, out)
		}
		_ = tmpl.CSPNonce([]string{csp})

		// Through the middleware: either untouched or the renderer's
		// snippet inserted once.
		h := r.Inject(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Security-Policy", csp)
			half := len(page) / 2
			w.Write(page[:half])
			w.Write(page[half:])
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		body := rec.Body.Bytes()
		if tmpl.HasClient(page) {
			if !bytes.Equal(body, page) {
				t.Fatalf("page with the client was changed: %q -> %q", page, body)
			}
			return
		}
		want, err := r.Snippet(tmpl.CSPNonce([]string{csp}))
		if err != nil {
			t.Fatal(err)
		}
		if !insertedOnce(page, []byte(want), body) {
			t.Fatalf("middleware output %q is not %q with the snippet inserted once", body, page)
		}
	})
}
