package mercure

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// URLPattern is a URL pattern (the WHATWG URL Pattern syntax) compiled for
// matching topics, as the newer Mercure draft's URLPattern matcher type
// (match_urlpattern, matchURLPattern) uses it:
// https://example.com/books/:id matches https://example.com/books/7.
//
// The pattern is split into protocol, hostname, port, pathname, search and
// hash, each matched against the same part of the topic (parsed as a URL,
// relative topics resolved against the hub's URL). Supported syntax: named
// groups (:id, matching one path segment in the pathname and one label in
// the hostname), regular expression groups (:id(\d+) or (\d+), in Go's RE2
// syntax, which guarantees linear-time matching), the wildcard *, groups
// {...}, the modifiers ?, * and + (in the pathname a modifier also covers
// the / before the group, so /books/:id? matches /books), and \ escapes.
// As with browsers' URLPattern, a pattern without a search or hash accepts
// any, and without a port only the scheme's default port. User name and
// password are ignored; the hostname and protocol compare without regard
// to case, everything else exactly.
type URLPattern struct {
	raw                                          string
	protocol, hostname, port, path, search, hash *regexp.Regexp
	base                                         *url.URL
}

// errBadPattern is wrapped by CompileURLPattern's errors.
var errBadPattern = errors.New("mercure: invalid URL pattern")

// CompileURLPattern compiles pattern. A relative pattern (one without a
// scheme, such as /.well-known/mercure/subscriptions/Exact/:topic/:sub)
// takes the missing parts from base, the hub's URL, which also resolves
// relative topics; base must be absolute.
func CompileURLPattern(pattern, base string) (*URLPattern, error) {
	if !utf8.ValidString(pattern) {
		return nil, fmt.Errorf("%w: invalid UTF-8", errBadPattern)
	}
	b, err := url.Parse(base)
	if err != nil || !b.IsAbs() || b.Host == "" {
		return nil, fmt.Errorf("%w: the base URL %q is not an absolute URL", errBadPattern, base)
	}
	toks, err := tokenizePattern(pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", errBadPattern, pattern, err)
	}
	parts := splitPattern(toks, b)
	p := &URLPattern{raw: pattern, base: b}
	for _, c := range []struct {
		dst  **regexp.Regexp
		toks []token
		kind component
	}{
		{&p.protocol, parts.protocol, protocolPart},
		{&p.hostname, parts.hostname, hostnamePart},
		{&p.port, parts.port, portPart},
		{&p.path, parts.path, pathnamePart},
		{&p.search, parts.search, searchPart},
		{&p.hash, parts.hash, hashPart},
	} {
		src, err := renderPart(c.toks, c.kind)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", errBadPattern, pattern, err)
		}
		if *c.dst, err = regexp.Compile(`^(?:` + src + `)$`); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", errBadPattern, pattern, err)
		}
	}
	return p, nil
}

// String returns the pattern as given.
func (p *URLPattern) String() string { return p.raw }

// Match reports whether topic, parsed as a URL (a relative one resolved
// against the base), matches the pattern.
func (p *URLPattern) Match(topic string) bool {
	u, err := url.Parse(topic)
	if err != nil {
		return false
	}
	if !u.IsAbs() {
		u = p.base.ResolveReference(u)
	}
	path := u.EscapedPath()
	if u.Opaque != "" {
		path = u.Opaque
	} else if path == "" && u.Host != "" {
		path = "/"
	}
	port := u.Port()
	if port == defaultPorts[u.Scheme] {
		port = ""
	}
	return p.protocol.MatchString(strings.ToLower(u.Scheme)) &&
		p.hostname.MatchString(strings.ToLower(u.Hostname())) &&
		p.port.MatchString(port) &&
		p.path.MatchString(path) &&
		p.search.MatchString(u.RawQuery) &&
		p.hash.MatchString(u.EscapedFragment())
}

var defaultPorts = map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

// component names a part of a URL pattern.
type component int

const (
	protocolPart component = iota
	hostnamePart
	portPart
	pathnamePart
	searchPart
	hashPart
)

type tokenKind int

const (
	tChar     tokenKind = iota // a literal character
	tName                      // :name
	tRegex                     // (regexp)
	tAsterisk                  // * as a wildcard
	tOpen                      // {
	tClose                     // }
	tModifier                  // ?, * or + after a group
)

type token struct {
	kind tokenKind
	val  string
}

// tokenizePattern splits a pattern into tokens. A ":" right after a leading
// scheme ("https:", "urn:") is a character, not the start of a name.
func tokenizePattern(s string) ([]token, error) {
	var toks []token
	afterGroup := func() bool {
		if len(toks) == 0 {
			return false
		}
		switch toks[len(toks)-1].kind {
		case tName, tRegex, tAsterisk, tClose:
			return true
		}
		return false
	}
	schemeEnd := -1
	if i := strings.IndexByte(s, ':'); i > 0 && isScheme(s[:i]) {
		schemeEnd = i
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("a trailing \\ escapes nothing")
			}
			_, n := utf8.DecodeRuneInString(s[i+1:])
			toks = append(toks, token{tChar, s[i+1 : i+1+n]})
			i += 1 + n
		case c == ':' && i != schemeEnd:
			n := nameLen(s[i+1:])
			if n == 0 {
				toks = append(toks, token{tChar, ":"})
				i++
				continue
			}
			toks = append(toks, token{tName, s[i+1 : i+1+n]})
			i += 1 + n
		case c == '(':
			re, n, err := regexGroup(s[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tRegex, re})
			i += n
		case c == '{':
			toks = append(toks, token{tOpen, "{"})
			i++
		case c == '}':
			toks = append(toks, token{tClose, "}"})
			i++
		case (c == '?' || c == '+' || c == '*') && afterGroup():
			toks = append(toks, token{tModifier, string(c)})
			i++
		case c == '*':
			toks = append(toks, token{tAsterisk, "*"})
			i++
		default:
			_, n := utf8.DecodeRuneInString(s[i:])
			toks = append(toks, token{tChar, s[i : i+n]})
			i += n
		}
	}
	return toks, nil
}

// isScheme reports whether s is a URL scheme.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		if !schemeChar(s[i:i+1], i == 0) {
			return false
		}
	}
	return s != ""
}

// schemeChar reports whether c (one character) may appear in a scheme,
// first or later.
func schemeChar(c string, first bool) bool {
	if len(c) != 1 {
		return false
	}
	switch b := c[0]; {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z':
		return true
	case !first && (b >= '0' && b <= '9' || b == '+' || b == '-' || b == '.'):
		return true
	}
	return false
}

// nameLen returns the length of the group name at the start of s (ASCII
// identifier characters and $), 0 when there is none.
func nameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '$':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return i
		}
	}
	return len(s)
}

// regexGroup reads the (regexp) at the start of s, with nested parentheses,
// escapes and character classes, and returns its content and length.
func regexGroup(s string) (string, int, error) {
	depth, inClass := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				re := s[1:i]
				if re == "" {
					return "", 0, errors.New("empty regular expression group ()")
				}
				if _, err := regexp.Compile(re); err != nil {
					return "", 0, fmt.Errorf("group (%s): %v", re, err)
				}
				return re, i + 1, nil
			}
		}
	}
	return "", 0, errors.New("unclosed ( in a regular expression group")
}

// patternParts are the tokens of each part of a pattern.
type patternParts struct {
	protocol, hostname, port, path, search, hash []token
}

// literal returns the tokens of a literal string.
func literal(s string) []token {
	out := make([]token, 0, len(s))
	for _, r := range s {
		out = append(out, token{tChar, string(r)})
	}
	return out
}

// splitPattern divides toks into the parts of a URL; parts a relative
// pattern lacks come from base.
func splitPattern(toks []token, base *url.URL) patternParts {
	isChar := func(i int, c string) bool { return i < len(toks) && toks[i].kind == tChar && toks[i].val == c }
	var p patternParts
	rest := toks
	// An absolute pattern starts with a protocol and "://" (the protocol
	// may be a pattern, such as http{s}?), or with a literal scheme and ":".
	scheme := indexChar(toks, ":/?#")
	if !isChar(scheme, ":") || !isChar(scheme+1, "/") || !isChar(scheme+2, "/") {
		scheme = 0
		for scheme < len(toks) && toks[scheme].kind == tChar && schemeChar(toks[scheme].val, scheme == 0) {
			scheme++
		}
	}
	switch {
	case scheme > 0 && isChar(scheme, ":") && isChar(scheme+1, "/") && isChar(scheme+2, "/"):
		p.protocol = toks[:scheme]
		rest = toks[scheme+3:]
		end := indexChar(rest, "/?#")
		authority := rest[:end]
		rest = rest[end:]
		if at := lastIndexChar(authority, "@"); at >= 0 {
			authority = authority[at+1:] // user name and password are not matched
		}
		p.hostname = authority
		if colon := lastIndexChar(authority, ":"); colon >= 0 && colon > lastIndexChar(authority, "]") {
			p.hostname, p.port = authority[:colon], authority[colon+1:]
		}
		end = indexChar(rest, "?#")
		p.path = rest[:end]
		if len(p.path) == 0 {
			p.path = literal("/")
		}
		rest = rest[end:]
	case scheme > 0 && isChar(scheme, ":"):
		// An opaque URL such as urn:example:*: the rest is its path.
		p.protocol = toks[:scheme]
		rest = toks[scheme+1:]
		end := indexChar(rest, "?#")
		p.path, rest = rest[:end], rest[end:]
	default:
		p.protocol = literal(base.Scheme)
		p.hostname = literal(strings.ToLower(base.Hostname()))
		if port := base.Port(); port != defaultPorts[base.Scheme] {
			p.port = literal(port)
		}
		end := indexChar(rest, "?#")
		p.path = rest[:end]
		rest = rest[end:]
		if len(p.path) == 0 || p.path[0].kind != tChar || p.path[0].val != "/" {
			// A relative path is relative to the base's directory.
			dir := base.EscapedPath()
			dir = dir[:strings.LastIndexByte(dir, '/')+1]
			if dir == "" {
				dir = "/"
			}
			p.path = append(literal(dir), p.path...)
		}
	}
	// A search or hash the pattern does not give is a wildcard.
	p.search, p.hash = []token{{tAsterisk, "*"}}, []token{{tAsterisk, "*"}}
	if len(rest) > 0 && rest[0].val == "?" {
		end := indexChar(rest, "#")
		p.search, rest = rest[1:end], rest[end:]
	}
	if len(rest) > 0 && rest[0].val == "#" {
		p.hash = rest[1:]
	}
	return p
}

// indexChar returns the index of the first literal character of toks in
// set, outside {} groups, or len(toks).
func indexChar(toks []token, set string) int {
	depth := 0
	for i, t := range toks {
		switch {
		case t.kind == tOpen:
			depth++
		case t.kind == tClose:
			depth--
		case depth == 0 && t.kind == tChar && len(t.val) == 1 && strings.Contains(set, t.val):
			return i
		}
	}
	return len(toks)
}

// lastIndexChar returns the index of the last literal c outside groups, or
// -1.
func lastIndexChar(toks []token, c string) int {
	depth, found := 0, -1
	for i, t := range toks {
		switch {
		case t.kind == tOpen:
			depth++
		case t.kind == tClose:
			depth--
		case depth == 0 && t.kind == tChar && t.val == c:
			found = i
		}
	}
	return found
}

// segment returns what a named group matches in part k.
func segment(k component) string {
	switch k {
	case pathnamePart:
		return `[^/]+`
	case hostnamePart:
		return `[^.]+`
	}
	return `.+`
}

// renderPart returns the regular expression (without anchors) of one part.
func renderPart(toks []token, k component) (string, error) {
	var out []string // pieces; literal pieces are kept apart to find a "/" prefix
	lit := func(s string) {
		if k == protocolPart || k == hostnamePart {
			s = strings.ToLower(s)
		}
		out = append(out, regexp.QuoteMeta(s))
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		var group string
		prefixable := true
		switch t.kind {
		case tChar:
			lit(t.val)
			continue
		case tName:
			group = segment(k)
			if i+1 < len(toks) && toks[i+1].kind == tRegex {
				i++
				group = toks[i].val
			}
		case tRegex:
			group = toks[i].val
		case tAsterisk:
			group = `.*`
		case tOpen:
			end := i + 1
			for end < len(toks) && toks[end].kind != tClose {
				if toks[end].kind == tOpen {
					return "", errors.New("groups {} cannot nest")
				}
				end++
			}
			if end == len(toks) {
				return "", errors.New("unclosed {")
			}
			inner, err := renderPart(toks[i+1:end], k)
			if err != nil {
				return "", err
			}
			group, prefixable = inner, false
			i = end
		case tClose:
			return "", errors.New("} without {")
		case tModifier:
			return "", fmt.Errorf("modifier %s follows nothing", t.val)
		}
		mod := ""
		if i+1 < len(toks) && toks[i+1].kind == tModifier {
			i++
			mod = toks[i].val
		}
		prefix := ""
		if mod != "" && prefixable && k == pathnamePart && len(out) > 0 && out[len(out)-1] == "/" {
			out, prefix = out[:len(out)-1], "/"
		}
		out = append(out, `(?:`+prefix+`(?:`+group+`))`+mod)
	}
	return strings.Join(out, ""), nil
}
