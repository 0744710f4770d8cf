package mercure

import (
	"strings"
	"testing"
)

// urlPatternCases are checked against this package's matcher here and
// against Chromium's URLPattern in the e2e tests.
var urlPatternCases = []struct {
	pattern, topic string
	want           bool
}{
	{"https://example.com/books/:id", "https://example.com/books/7", true},
	{"https://example.com/books/:id", "https://example.com/books/7/reviews", false},
	{"https://example.com/books/:id", "https://example.com/books/", false},
	{"https://example.com/books/:id", "https://EXAMPLE.com/books/7", true},
	{"https://example.com/books/:id", "http://example.com/books/7", false},
	{"https://example.com/books/:id", "https://example.com:443/books/7", true},
	{"https://example.com/books/:id", "https://example.com:8443/books/7", false},
	{"https://example.com/books/:id", "https://example.com/Books/7", false},
	{"https://example.com/books/:id?", "https://example.com/books", true},
	{"https://example.com/books/:id?", "https://example.com/books/7", true},
	{"https://example.com/books/:id(\\d+)", "https://example.com/books/7", true},
	{"https://example.com/books/:id(\\d+)", "https://example.com/books/x", false},
	{"https://example.com/books/*", "https://example.com/books/7/reviews/2", true},
	{"https://example.com/books/*", "https://example.com/authors/1", false},
	{"https://example.com/books/:id*", "https://example.com/books", true},
	{"https://example.com/books/:id+", "https://example.com/books/1/2", true},
	{"https://example.com/books/:id+", "https://example.com/books", false},
	{"https://example.com/books{/:id}?", "https://example.com/books", true},
	{"https://example.com/books/:id.json", "https://example.com/books/7.json", true},
	{"https://:tenant.example.com/feed", "https://acme.example.com/feed", true},
	{"https://:tenant.example.com/feed", "https://a.b.example.com/feed", false},
	{"https://*.example.com/feed", "https://a.b.example.com/feed", true},
	{"http{s}?://example.com/feed", "http://example.com/feed", true},
	{"http{s}?://example.com/feed", "https://example.com/feed", true},
	{"https://example.com/search?q=:q", "https://example.com/search?q=go", true},
	{"https://example.com/search?*", "https://example.com/search?a=1&b=2", true},
	{"https://example.com/books/:id", "https://example.com/books/7?x=1", true},
	{"https://example.com/books/1?", "https://example.com/books/1?x=1", false},
	{"https://example.com/books/1?", "https://example.com/books/1", true},
	{"https://example.com/books/:id#*", "https://example.com/books/7#top", true},
	{"https://example.com:8080/x", "https://example.com:8080/x", true},
	{"https://example.com:8080/x", "https://example.com/x", false},
	{"https://example.com/a\\:b", "https://example.com/a:b", true},
	{"https://example.com", "https://example.com/", true},
	// Patterns and topics are canonicalized as browsers do: non-ASCII
	// characters are percent-encoded, hosts are IDNA-encoded, dot
	// segments are removed.
	{"https://example.com/café/:id", "https://example.com/caf%C3%A9/1", true},
	{"https://example.com/caf%C3%A9/:id", "https://example.com/café/1", true},
	{"https://bücher.example/:id", "https://xn--bcher-kva.example/1", true},
	{"https://example.com/books/:id", "https://example.com/a/../books/1", true},
	{"https://example.com/a/../books/:id", "https://example.com/books/1", true},
	{"https://example.com/books/:id", "https://example.com/books/./1", true},
}

func TestMercureURLPatternMatch(t *testing.T) {
	for _, tt := range urlPatternCases {
		p, err := CompileURLPattern(tt.pattern, "https://hub.example/.well-known/mercure")
		if err != nil {
			t.Errorf("CompileURLPattern(%q): %v", tt.pattern, err)
			continue
		}
		if got := p.Match(tt.topic); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
	}
}

func TestMercureURLPatternRelative(t *testing.T) {
	const base = "https://hub.example/.well-known/mercure"
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"/.well-known/mercure/subscriptions/exact/:match/:sub", "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Ffoo/urn%3Auuid%3Aab", true},
		{"/.well-known/mercure/subscriptions/exact/:match/:sub", "https://hub.example/.well-known/mercure/subscriptions/exact/a/b", true},
		{"/.well-known/mercure/subscriptions/exact/:match/:sub", "https://other.example/.well-known/mercure/subscriptions/exact/a/b", false},
		{"/.well-known/mercure/subscriptions/*", "/.well-known/mercure/subscriptions/urlpattern/a/b", true},
		{"/books/:id", "books/7", false}, // relative to the hub's directory: /.well-known/books/7
		{"/books/:id", "/books/7", true},
		{"/books/:id", "/.well-known/../books/7", true},
	}
	for _, tt := range tests {
		p, err := CompileURLPattern(tt.pattern, base)
		if err != nil {
			t.Errorf("CompileURLPattern(%q): %v", tt.pattern, err)
			continue
		}
		if got := p.Match(tt.topic); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
	}
}

func TestMercureURLPatternErrors(t *testing.T) {
	for _, bad := range []string{"https://example.com/(", "https://example.com/()", "https://example.com/{a", "https://example.com/a}", "https://example.com/{a{b}}", "https://example.com/(?=x)", "https://example.com/a\\", "\xff"} {
		if _, err := CompileURLPattern(bad, "https://h/"); err == nil {
			t.Errorf("CompileURLPattern(%q) succeeded", bad)
		}
	}
	if _, err := CompileURLPattern("/a", "relative"); err == nil {
		t.Error("a relative base was accepted")
	}
	if _, err := CompileURLPattern("/a", ""); err == nil {
		t.Error("a relative pattern without a base was accepted")
	}
	p, err := CompileURLPattern("https://example.com/:id", "")
	if err != nil || !p.Match("https://example.com/1") || p.Match("/1") {
		t.Errorf("an absolute pattern without a base: %v", err)
	}
}

// TestMercureURLPatternGroupLimit refuses patterns whose matching would be
// costly: more than 16 groups and wildcards in one part. Escaped
// characters are not groups.
func TestMercureURLPatternGroupLimit(t *testing.T) {
	const base = "https://hub.example/.well-known/mercure"
	for _, ok := range []string{
		"https://example.com/" + strings.Repeat("*", 16),
		"https://example.com/" + strings.Repeat("(a)", 16),
		"https://example.com/" + strings.Repeat("(.*)", 16), // a regular expression group counts once
		"https://example.com/" + strings.Repeat("\\*", 100),
		"https://example.com/" + strings.Repeat("\\(a\\)", 100),
		"https://:a.:b.:c.example.com/:d/:e/:f/*?:g#:h",
	} {
		if _, err := CompileURLPattern(ok, base); err != nil {
			t.Errorf("%.40q: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"https://example.com/" + strings.Repeat("*", 17),
		"https://example.com/" + strings.Repeat("(.*)", 1000),
		"https://example.com/" + strings.Repeat("*", 4000),
		"https://" + strings.Repeat("*.", 17) + "example.com/",
	} {
		if _, err := CompileURLPattern(bad, base); err == nil || !strings.Contains(err.Error(), "the limit is 16") {
			t.Errorf("%.40q: %v, want a refusal naming the limit", bad, err)
		}
	}
}
