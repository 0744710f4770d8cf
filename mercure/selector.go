package mercure

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
	"unique"
)

// MatchType is how a selector matches topics.
type MatchType string

// The selector types. MatchTopic is the widely deployed draft's (the topic
// query parameter and the strings of the mercure claim); MatchExact and
// MatchURLPattern are the matcher types of the current protocol, named as
// in its match_type members and subscription topics.
const (
	// MatchTopic: "*", the exact string, or an RFC 6570 URI template.
	MatchTopic MatchType = "topic"
	// MatchExact: "*" or the exact string, byte for byte.
	MatchExact MatchType = "exact"
	// MatchURLPattern: "*" or a URL pattern.
	MatchURLPattern MatchType = "urlpattern"
)

// matchTypeNamed returns the matcher type called name: "exact" and
// "urlpattern", the current protocol's names, or, when draft0713 is set,
// "Exact" and "URLPattern", the names of the July 2026 draft's matchType.
func matchTypeNamed(name string, draft0713 bool) (MatchType, bool) {
	switch {
	case name == string(MatchExact), draft0713 && name == "Exact":
		return MatchExact, true
	case name == string(MatchURLPattern), draft0713 && name == "URLPattern":
		return MatchURLPattern, true
	}
	return "", false
}

// maxSelectorLen bounds a selector or topic: a request or token with a
// longer one is refused (the reference hub's limit). How many selectors a
// subscription may have is the hub's max_topics.
const maxSelectorLen = 4096

// matcher matches topics.
type matcher interface {
	Match(topic string) bool
}

// all matches every topic.
type all struct{}

func (all) Match(string) bool { return true }

// exact matches one topic.
type exact string

func (e exact) Match(topic string) bool { return string(e) == topic }

// Selector is a compiled topic selector of any type.
type Selector struct {
	// Type is the selector's type.
	Type MatchType
	// Value is the selector as written.
	Value string
	m     matcher
	// id keys the results of a costly matcher (URL pattern, URI
	// template) in the match cache; zero for the others.
	id   unique.Handle[selectorID]
	size int // bytes of the strings behind id
	// last is the latest result of a costly matcher: the subscribers
	// sharing s ask about the same topic one after the other.
	last atomic.Pointer[lastMatch]
}

// lastMatch is a topic and whether it matched.
type lastMatch struct {
	topic   string
	matched bool
}

// Match reports whether topic matches s. It is safe for concurrent use.
// The results of URL patterns and URI templates are remembered for recent
// topics (in a cache of bounded size shared by every selector compiled
// from the same strings), so that testing one topic against many
// subscribers with the same selector costs one evaluation.
func (s *Selector) Match(topic string) bool {
	if s.size == 0 || len(topic) > maxSelectorLen {
		return s.m.Match(topic)
	}
	if l := s.last.Load(); l != nil && l.topic == topic {
		return l.matched
	}
	k, size := matchKey{s.id, topic}, s.size+len(topic)
	matched, ok := results.get(k, size)
	if !ok {
		matched = s.m.Match(topic)
		results.put(k, matched, size)
	}
	s.last.Store(&lastMatch{topic, matched})
	return matched
}

// exactOnly reports whether s matches only the topic equal to its value, so
// that the hub can index it as a plain topic.
func (s *Selector) exactOnly() bool {
	_, ok := s.m.(exact)
	return ok
}

// NewSelector compiles value as a selector of type t. base is the hub's URL,
// for relative URL patterns and topics. A topic selector that is not a
// valid URI template matches only itself; a malformed URL pattern is an
// error.
func NewSelector(t MatchType, value, base string) (*Selector, error) {
	if err := checkSelector(value); err != nil {
		return nil, err
	}
	s := &Selector{Type: t, Value: value}
	if value == "*" {
		s.m = all{}
		return s, nil
	}
	switch t {
	case MatchTopic:
		tpl, err := CompileTemplate(value)
		if err != nil || tpl.re == nil {
			s.m = exact(value)
		} else {
			s.m = tpl
		}
	case MatchExact:
		s.m = exact(value)
	case MatchURLPattern:
		p, err := CompileURLPattern(value, base)
		if err != nil {
			return nil, err
		}
		s.m = p
	default:
		return nil, fmt.Errorf("mercure: unknown matcher type %q; want exact or urlpattern", string(t))
	}
	switch s.m.(type) {
	case *URLPattern:
		s.id, s.size = unique.Make(selectorID{t, value, base}), len(value)+len(base)
	case *Template:
		s.id, s.size = unique.Make(selectorID{t: t, value: value}), len(value)
	}
	return s, nil
}

// checkSelector applies the rules topics and selectors share: not empty,
// bounded, valid UTF-8, free of control characters (C0, DEL, C1) and of
// the invisible format characters (Unicode category Cf, such as zero-width
// and bidirectional controls) that make look-alike topics.
func checkSelector(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("mercure: empty topic selector")
	case len(v) > maxSelectorLen:
		return fmt.Errorf("mercure: topic selector is %d bytes long; the limit is %d", len(v), maxSelectorLen)
	case !utf8.ValidString(v):
		return fmt.Errorf("mercure: topic selector is not valid UTF-8")
	}
	if !protocolString(v) {
		return fmt.Errorf("mercure: topic selector %s contains a control or invisible format character", quote(v))
	}
	return nil
}

// protocolString reports whether s is valid UTF-8 without control
// characters (C0, DEL, C1) and format characters (Cf): what the protocol
// allows in topics, selectors, ids and types.
func protocolString(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// selectorCache keeps compiled selectors, mostly those of token claims,
// which are compiled on every request otherwise.
type selectorCache struct {
	mu sync.Mutex
	m  map[selectorKey]*Selector
}

type selectorKey struct {
	t           MatchType
	value, base string
}

// maxCached bounds the cache; it is emptied when full.
const maxCached = 4096

func (c *selectorCache) get(t MatchType, value, base string) (*Selector, error) {
	if t != MatchURLPattern {
		base = "" // only URL patterns depend on the base
	}
	k := selectorKey{t, value, base}
	c.mu.Lock()
	s, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := NewSelector(t, value, base)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[selectorKey]*Selector)
	}
	c.m[k] = s
	c.mu.Unlock()
	return s, nil
}

// escapeVar percent-encodes s as RFC 6570 simple string expansion does:
// every byte outside the unreserved set becomes %XX (an existing % too).
func escapeVar(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
