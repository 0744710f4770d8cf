package mercure

import "testing"

func TestMercureTemplateMatch(t *testing.T) {
	tests := []struct {
		template, topic string
		want            bool
	}{
		{"https://example.com/books/{id}", "https://example.com/books/1", true},
		{"https://example.com/books/{id}", "https://example.com/books/", true}, // an undefined variable expands to nothing
		{"https://example.com/books/{id}", "https://example.com/books/1/reviews", false},
		{"https://example.com/books/{id}", "https://example.com/authors/1", false},
		{"https://example.com/books/{id}", "https://example.com/books/{id}", true}, // the template itself
		{"https://example.com/books/{id}", "https://example.com/books/a%20b", true},
		{"https://example.com/books/{id}", "https://example.com/books/a b", false},
		{"https://example.com/{+path}", "https://example.com/a/b/c", true},
		{"https://example.com{/seg*}", "https://example.com/a/b", true},
		{"https://example.com{/seg}", "https://example.com/a/b", false},
		{"https://example.com/search{?q,lang}", "https://example.com/search?q=go&lang=fr", true},
		{"https://example.com/search{?q,lang}", "https://example.com/search?q=go", true},
		{"https://example.com/search{?q}", "https://example.com/search?x=go", false},
		{"https://example.com/search{?q}{&lang}", "https://example.com/search?q=go&lang=fr", true},
		{"https://example.com/map{;x,y}", "https://example.com/map;x=1;y=2", true},
		{"https://example.com/map{;x,y}", "https://example.com/map;x", true},
		{"https://example.com/page{#section}", "https://example.com/page#a/b", true},
		{"https://example.com/{name:3}", "https://example.com/abc", true},
		{"https://example.com/{name:3}", "https://example.com/abcd", false},
		{"https://example.com/file{.ext}", "https://example.com/file.json", true},
		{"https://example.com/{list}", "https://example.com/a,b,c", true},
		{"/.well-known/mercure/subscriptions/{topic}/{subscriber}", "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2Ffoo/urn%3Auuid%3Aab-12", true},
		{"/.well-known/mercure/subscriptions/{topic}/{subscriber}", "/.well-known/mercure/subscriptions", false},
		{"books", "books", true},
		{"books", "books/1", false},
		{"a.b", "aXb", false}, // literals are not regular expressions
	}
	for _, tt := range tests {
		tpl, err := CompileTemplate(tt.template)
		if err != nil {
			t.Errorf("CompileTemplate(%q): %v", tt.template, err)
			continue
		}
		if got := tpl.Match(tt.topic); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.template, tt.topic, got, tt.want)
		}
	}
}

func TestMercureTemplateErrors(t *testing.T) {
	for _, bad := range []string{"a{", "a}", "{}", "{=x}", "{x:0}", "{x:10000}", "{.}", "{x..y}", "{a{b}}", "{x y}", "\xff{x}"} {
		if _, err := CompileTemplate(bad); err == nil {
			t.Errorf("CompileTemplate(%q) succeeded", bad)
		}
	}
	// A topic selector that is not a template matches only itself.
	s, err := NewSelector(MatchTopic, "a{", "https://h/")
	if err != nil || !s.Match("a{") || s.Match("a") || !s.exactOnly() {
		t.Errorf("selector a{: %v %v", s, err)
	}
}

func TestMercureSelectorWildcard(t *testing.T) {
	for _, typ := range []MatchType{MatchTopic, MatchExact, MatchURLPattern} {
		s, err := NewSelector(typ, "*", "https://hub.example/.well-known/mercure")
		if err != nil || !s.Match("anything") || !s.Match("") || s.exactOnly() {
			t.Errorf("%s *: %v", typ, err)
		}
	}
	s, _ := NewSelector(MatchExact, "https://example.com/{id}", "https://h/")
	if s.Match("https://example.com/1") || !s.Match("https://example.com/{id}") {
		t.Error("an Exact selector is not a template")
	}
	for _, bad := range []string{"", "a\x00b", "a\u0085b", "a\x7fb", string(make([]byte, maxSelectorLen+1))} {
		if _, err := NewSelector(MatchExact, bad, "https://h/"); err == nil {
			t.Errorf("NewSelector(%q) succeeded", bad)
		}
	}
}

func TestMercureEscapeVar(t *testing.T) {
	if got, want := escapeVar("https://example.com/{sel}%20é"), "https%3A%2F%2Fexample.com%2F%7Bsel%7D%2520%C3%A9"; got != want {
		t.Errorf("escapeVar = %q, want %q", got, want)
	}
}
