package cors_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/cors"
)

func TestAllowed(t *testing.T) {
	patterns := []string{"https://app.example.com", "https://*.example.org", "http://localhost:*", "http://[::1]:*"}
	tests := []struct {
		origin            string
		allowed, wildcard bool
	}{
		{"https://app.example.com", true, false},
		{"https://app.example.com:8443", false, false},
		{"http://app.example.com", false, false},
		{"https://a.example.org", true, false},
		{"https://a.b.example.org", true, false},
		{"https://evilexample.org", false, false},
		{"https://example.org", false, false},
		{"http://localhost:3000", true, false},
		{"http://localhost", true, false},
		{"http://localhost.evil.com:3000", false, false},
		{"http://[::1]:8080", true, false},
		{"null", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if a, w := cors.Allowed(patterns, tt.origin); a != tt.allowed || w != tt.wildcard {
			t.Errorf("Allowed(%q) = %v, %v; want %v, %v", tt.origin, a, w, tt.allowed, tt.wildcard)
		}
	}
	if a, w := cors.Allowed(append(patterns, "*"), "https://elsewhere.test"); !a || !w {
		t.Errorf("with *: Allowed = %v, %v; want true, true (wildcard)", a, w)
	}
	if a, w := cors.Allowed(append(patterns, "*"), "https://app.example.com"); !a || w {
		t.Errorf("with *: a listed origin = %v, %v; want true, false", a, w)
	}
}

// TestRefusalsAreLoggedOncePerOrigin: a refused origin is logged once,
// naming the origin and the setting that would allow it; the server's own
// origin and allowed ones are not logged; hostile variety is bounded.
func TestRefusalsAreLoggedOncePerOrigin(t *testing.T) {
	var log bytes.Buffer
	p := &cors.Policy{Origins: []string{"https://ok.test"}, Setting: "cors_origins", Logger: slog.New(slog.NewTextHandler(&log, nil))}
	do := func(origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "http://hub.test/sse", nil)
		r.Header.Set("Origin", origin)
		w := httptest.NewRecorder()
		if !p.Apply(w, r, func(http.ResponseWriter, string) { t.Fatal("refuse called for a GET") }) {
			t.Fatal("a GET did not go on")
		}
		return w
	}
	for range 3 {
		if w := do("https://page.test"); w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatal("a refused origin got Access-Control-Allow-Origin")
		}
	}
	do("https://ok.test")
	do("http://hub.test")
	if n := strings.Count(log.String(), "refused a cross-origin request"); n != 1 {
		t.Fatalf("%d log lines for one refused origin, want 1:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "origin=https://page.test") || !strings.Contains(log.String(), "cors_origins") {
		t.Fatalf("the line names neither the origin nor the setting:\n%s", log.String())
	}
	log.Reset()
	for i := range 1500 {
		do("https://" + strings.Repeat("x", i%40) + string(rune('a'+i%26)) + ".test/" + string(rune(i)))
	}
	if n := strings.Count(log.String(), "\n"); n > 1001 {
		t.Fatalf("%d log lines for hostile origins", n)
	}
}

// TestPreflight: an allowed origin's preflight gets the methods and
// headers; another's is refused through refuse.
func TestPreflight(t *testing.T) {
	p := &cors.Policy{Origins: []string{"https://ok.test"}, Expose: "X-A"}
	pre := func(origin string) (*httptest.ResponseRecorder, string) {
		r := httptest.NewRequest(http.MethodOptions, "http://hub.test/sse", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "GET")
		w := httptest.NewRecorder()
		var refused string
		if p.Apply(w, r, func(w http.ResponseWriter, msg string) { refused = msg; w.WriteHeader(403) }) {
			t.Fatal("a preflight went on to the endpoint")
		}
		return w, refused
	}
	w, refused := pre("https://ok.test")
	if w.Code != 204 || refused != "" || w.Header().Get("Access-Control-Allow-Methods") == "" || w.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed preflight: %d %v refused=%q", w.Code, w.Header(), refused)
	}
	if _, refused = pre("https://other.test"); !strings.Contains(refused, `"https://other.test" is not allowed`) {
		t.Fatalf("refusal %q", refused)
	}
}
