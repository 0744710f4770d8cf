package mercure

import (
	"sync"
	"unique"
)

// selectorID identifies a selector by what determines its results: its
// type, its value as written and, for URL patterns, the base URL. Interned
// with unique.Make, it is one word to compare and hash, the same for every
// selector compiled from the same strings.
type selectorID struct {
	t           MatchType
	value, base string
}

// matchKey is a selector and a topic it was tested against.
type matchKey struct {
	sel   unique.Handle[selectorID]
	topic string
}

// Bounds of the match cache, per generation (it holds two): entries, and
// bytes of the strings they keep alive (topic, selector and base, counted
// for every entry even when several share them).
const (
	maxCachedResults = 1 << 14
	maxCachedBytes   = 2 << 20
)

// matchCache remembers whether recent topics matched the selectors that are
// costly to test: URL patterns (the library takes microseconds to tens of
// microseconds per test, capturing every group) and URI templates. The hub
// tests every pattern subscription against every event on the one
// goroutine that delivers all events; with the cache, an event costs one
// evaluation per distinct selector and topic, and a map lookup for every
// other subscriber, whatever the library's cost.
//
// It is bounded whatever the topics: two generations of at most
// maxCachedResults entries and maxCachedBytes bytes each. When the newer
// one is full it becomes the older one and the older one is dropped; an
// entry found in the older one moves to the newer. A working set that fits
// in one generation (an event's topics times the distinct selectors
// subscribed) is evaluated once and then found; topics never seen again
// only push older entries out. It is safe for concurrent use.
type matchCache struct {
	mu       sync.Mutex
	cur, old map[matchKey]bool
	curBytes int
}

// results is the match cache of every selector of the process: results
// depend only on the strings in the key, so handlers and tokens share it.
var results matchCache

// get returns the remembered result for k.
func (c *matchCache) get(k matchKey, size int) (matched, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if matched, ok = c.cur[k]; ok {
		return matched, true
	}
	if matched, ok = c.old[k]; ok {
		c.addLocked(k, matched, size)
	}
	return matched, ok
}

// put remembers matched for k, whose strings hold size bytes.
func (c *matchCache) put(k matchKey, matched bool, size int) {
	c.mu.Lock()
	c.addLocked(k, matched, size)
	c.mu.Unlock()
}

func (c *matchCache) addLocked(k matchKey, matched bool, size int) {
	if c.cur == nil || len(c.cur) >= maxCachedResults || c.curBytes+size > maxCachedBytes {
		c.old, c.cur, c.curBytes = c.cur, make(map[matchKey]bool), 0
	}
	c.cur[k] = matched
	c.curBytes += size
}
