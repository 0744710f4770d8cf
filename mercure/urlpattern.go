package mercure

import (
	"errors"
	"fmt"
	"net/url"
	"unicode/utf8"

	urlpattern "github.com/dunglas/go-urlpattern"
)

// URLPattern is a URL pattern of the WHATWG URL Pattern Living Standard
// compiled for matching topics, as Mercure's urlpattern matcher type
// (match_urlpattern) uses it: https://example.com/books/:id matches
// https://example.com/books/7.
//
// Patterns and topics are canonicalized as browsers do (the host's case,
// default ports, percent-encoding of non-ASCII characters, dot segments),
// relative ones resolved against the hub's URL; regular expression groups
// run on Go's RE2 engine, which guarantees linear-time matching, and case
// is significant outside the scheme and host (ignoreCase is off, as the
// protocol requires). The matching is github.com/dunglas/go-urlpattern's,
// the implementation the reference hub uses.
type URLPattern struct {
	raw, base string
	p         *urlpattern.URLPattern
}

// errBadPattern is wrapped by CompileURLPattern's errors.
var errBadPattern = errors.New("mercure: invalid URL pattern")

// patternCauses are the errors of the URL pattern parser that may be shown
// as they are; others (which can print the parser's internal state) are
// reported as a syntax error.
var patternCauses = []error{
	urlpattern.ErrNoBaseURL,
	urlpattern.ErrDuplicatePartName,
	urlpattern.ErrInvalidIPv6Hostname,
	urlpattern.ErrInvalidPort,
	urlpattern.ErrEmptyPartName,
	urlpattern.ErrInvalidModifier,
}

// CompileURLPattern compiles pattern. A relative pattern (one without a
// scheme, such as /.well-known/mercure/subscriptions/exact/:topic/:sub)
// takes its missing parts from base, the hub's URL, which also resolves
// relative topics. base must be an absolute URL, or empty: then a relative
// pattern is an error and a relative topic matches nothing.
func CompileURLPattern(pattern, base string) (*URLPattern, error) {
	if !utf8.ValidString(pattern) {
		return nil, fmt.Errorf("%w: invalid UTF-8", errBadPattern)
	}
	if base != "" {
		if b, err := url.Parse(base); err != nil || !b.IsAbs() || b.Host == "" {
			return nil, fmt.Errorf("%w: the base URL %q is not an absolute URL", errBadPattern, base)
		}
	}
	p, err := urlpattern.New(pattern, base, nil)
	if err != nil {
		cause := "malformed pattern (an unbalanced { } or ( ), a stray modifier, or an invalid regular expression group)"
		for _, c := range patternCauses {
			if errors.Is(err, c) {
				cause = c.Error()
				break
			}
		}
		return nil, fmt.Errorf("%w %s: %s", errBadPattern, quote(pattern), cause)
	}
	for _, part := range []string{p.Protocol(), p.Username(), p.Password(), p.Hostname(), p.Port(), p.Pathname(), p.Search(), p.Hash()} {
		if n := countGroups(part); n > maxPatternGroups {
			return nil, fmt.Errorf("%w %s: a part of it has %d groups and wildcards; the limit is %d", errBadPattern, quote(pattern), n, maxPatternGroups)
		}
	}
	return &URLPattern{raw: pattern, base: base, p: p}, nil
}

// maxPatternGroups bounds the groups (:name, (regexp)) and wildcards (*)
// of each part of a URL pattern. Matching captures every group, and its
// cost grows with their number times the topic's length: a pattern made
// of thousands of * took seconds per topic, on the goroutine that delivers
// every event. Real patterns have a handful.
const maxPatternGroups = 16

// countGroups counts the groups and wildcards of a part of a URL pattern,
// as the pattern string of that part writes them (escaped characters
// excepted, a regular expression group counted once). It may count a
// literal that looks like one; it never misses one.
func countGroups(part string) int {
	n, depth := 0, 0
	for i := 0; i < len(part); i++ {
		switch c := part[i]; {
		case c == '\\':
			i++
		case c == '(':
			if depth == 0 {
				n++
			}
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '*':
			n++
		case c == ':' && i+1 < len(part) && (part[i+1] == '_' || part[i+1] == '$' || part[i+1] >= 'a' && part[i+1] <= 'z' || part[i+1] >= 'A' && part[i+1] <= 'Z' || part[i+1] >= 0x80):
			n++
		}
	}
	return n
}

// String returns the pattern as given.
func (p *URLPattern) String() string { return p.raw }

// Match reports whether topic, parsed as a URL (a relative one resolved
// against the base), matches the pattern. A topic that is not a URL
// matches nothing.
func (p *URLPattern) Match(topic string) bool { return p.p.Test(topic, p.base) }
