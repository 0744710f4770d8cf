package mercure

import (
	"fmt"
	"sync"
	"testing"
	"unique"
)

// TestMercureSelectorResultsRemembered: a selector's remembered results
// are those of its matcher, asked first or again, from a selector compiled
// from the same strings or not; selectors that differ only in their base
// URL or their type do not share results.
func TestMercureSelectorResultsRemembered(t *testing.T) {
	const base = "https://hub.example/.well-known/mercure"
	for round := range 3 {
		for _, tt := range urlPatternCases {
			s, err := NewSelector(MatchURLPattern, tt.pattern, base)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Match(tt.topic); got != tt.want {
				t.Errorf("round %d: %q matches %q = %v, want %v", round, tt.pattern, tt.topic, got, tt.want)
			}
		}
	}

	// A relative pattern matches the topics of its own hub.
	a, _ := NewSelector(MatchURLPattern, "/books/:id", "https://a.example/.well-known/mercure")
	b, _ := NewSelector(MatchURLPattern, "/books/:id", "https://b.example/.well-known/mercure")
	for range 2 {
		if !a.Match("https://a.example/books/1") || b.Match("https://a.example/books/1") {
			t.Error("selectors with different bases share results")
		}
		if a.Match("https://b.example/books/1") || !b.Match("https://b.example/books/1") {
			t.Error("selectors with different bases share results")
		}
	}
	// The same string is a URI template (any value for x) and a URL
	// pattern (a group holding the literal x).
	tpl, _ := NewSelector(MatchTopic, "https://example.com/{x}", "")
	pat, _ := NewSelector(MatchURLPattern, "https://example.com/{x}", "")
	for range 2 {
		if !tpl.Match("https://example.com/a") || pat.Match("https://example.com/a") {
			t.Error("a template and a URL pattern written alike share results")
		}
		if !tpl.Match("https://example.com/x") || !pat.Match("https://example.com/x") {
			t.Error("https://example.com/x should match both")
		}
	}
}

// TestMercureSelectorConcurrentMatch: one selector asked about different
// topics from many goroutines answers each correctly (run with -race).
func TestMercureSelectorConcurrentMatch(t *testing.T) {
	s, err := NewSelector(MatchURLPattern, "https://example.com/books/:id(\\d+)", "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				even := (i+g)%2 == 0
				topic := fmt.Sprint("https://example.com/books/", i)
				if !even {
					topic += "x"
				}
				if got := s.Match(topic); got != even {
					t.Errorf("%s: %v, want %v", topic, got, even)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestMercureMatchCacheBounded: whatever the topics, the cache holds at
// most two generations of maxCachedResults entries and maxCachedBytes
// bytes, and a result asked for at least once per generation is never
// lost.
func TestMercureMatchCacheBounded(t *testing.T) {
	var c matchCache
	id := unique.Make(selectorID{MatchURLPattern, "https://example.com/:id", ""})
	hot := matchKey{id, "https://example.com/hot"}
	c.put(hot, true, 64)
	check := func(when string) {
		t.Helper()
		if len(c.cur) > maxCachedResults || len(c.old) > maxCachedResults || c.curBytes > maxCachedBytes {
			t.Fatalf("%s: %d and %d entries, %d bytes; the limits are %d entries and %d bytes per generation", when, len(c.cur), len(c.old), c.curBytes, maxCachedResults, maxCachedBytes)
		}
	}
	for i := range 5 * maxCachedResults {
		c.put(matchKey{id, fmt.Sprint("https://example.com/", i)}, i%2 == 0, 64)
		if i%1000 == 0 {
			if matched, ok := c.get(hot, 64); !ok || !matched {
				t.Fatalf("after %d other topics the hot one is gone", i)
			}
			check(fmt.Sprint("after ", i, " short topics"))
		}
	}
	// Long topics are bounded by their bytes first.
	for i := range 5 * maxCachedBytes / 4096 {
		c.put(matchKey{id, fmt.Sprint(i)}, false, 4096)
		check(fmt.Sprint("after ", i, " long topics"))
	}
	if n := len(c.cur); n > maxCachedBytes/4096 {
		t.Errorf("%d entries of 4096 bytes in a generation; the byte limit allows %d", n, maxCachedBytes/4096)
	}
}
