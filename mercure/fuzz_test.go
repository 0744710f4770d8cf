package mercure

import (
	"strings"
	"testing"
)

// FuzzMercureTemplate compiles arbitrary templates and matches arbitrary topics:
// nothing panics, every template matches itself, and a template without
// expressions matches nothing else.
func FuzzMercureTemplate(f *testing.F) {
	for _, s := range []string{
		"https://example.com/books/{id}", "{+path}", "{/seg*}", "{?q,lang}", "{&x}", "{;m,n*}", "{#f}", "{.ext}",
		"{name:3}", "{a,b,c}", "plain", "", "{", "}", "{}", "{=x}", "a{b}c{d}", "\xff", "%41{x}", "{x:9999}",
	} {
		f.Add(s, "https://example.com/books/1")
	}
	f.Fuzz(func(t *testing.T, template, topic string) {
		tpl, err := CompileTemplate(template)
		if err != nil {
			// The selector of an invalid template is the string itself.
			s, err := NewSelector(MatchTopic, template, "https://h/")
			if err == nil && (!s.Match(template) || topic != template && s.Match(topic)) {
				t.Fatalf("invalid template %q: selector matches %q", template, topic)
			}
			return
		}
		if !tpl.Match(template) {
			t.Fatalf("%q does not match itself", template)
		}
		if !strings.ContainsAny(template, "{}") && topic != template && tpl.Match(topic) {
			t.Fatalf("%q has no expression but matches %q", template, topic)
		}
	})
}

// FuzzMercureURLPattern compiles arbitrary URL patterns and matches arbitrary
// topics without panicking.
func FuzzMercureURLPattern(f *testing.F) {
	for _, c := range urlPatternCases {
		f.Add(c.pattern, c.topic)
	}
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		p, err := CompileURLPattern(pattern, "https://hub.example/.well-known/mercure")
		if err != nil {
			return
		}
		p.Match(topic)
	})
}
