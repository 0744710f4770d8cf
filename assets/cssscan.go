package assets

import "strings"

func isCSSSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func isCSSIdentPart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '_' || c >= 0x80
}

func skipCSSSpace(src []byte, i int) int {
	for i < len(src) {
		switch {
		case isCSSSpace(src[i]):
			i++
		case src[i] == '/' && i+1 < len(src) && src[i+1] == '*':
			i = skipBlockComment(src, i)
		default:
			return i
		}
	}
	return i
}

// scanCSS finds url(…) tokens (quoted or not) and @import "…" rules in a
// stylesheet. It skips comments and strings, never fails, and ignores
// anything it does not understand (escapes inside URLs included).
func scanCSS(src []byte) []ref {
	var refs []ref
	n := len(src)
	for i := 0; i < n; {
		c := src[i]
		switch {
		case c == '/' && i+1 < n && src[i+1] == '*':
			i = skipBlockComment(src, i)
		case c == '\'' || c == '"':
			i = skipJSString(src, i)
		case c == '\\':
			i += 2
		case c == '@':
			j := i + 1
			for j < n && isCSSIdentPart(src[j]) {
				j++
			}
			if strings.EqualFold(string(src[i+1:j]), "import") {
				k := skipCSSSpace(src, j)
				if s, e, q, ok := readLiteral(src, k, false); ok {
					refs = append(refs, ref{start: s, end: e, spec: string(src[s:e]), kind: refCSSImport, quote: q})
					j = e + 1
				}
			}
			i = j
		case isCSSIdentPart(c):
			j := i + 1
			for j < n && isCSSIdentPart(src[j]) {
				j++
			}
			if j < n && src[j] == '(' && strings.EqualFold(string(src[i:j]), "url") {
				if r, next, ok := readCSSURL(src, j+1); ok {
					refs = append(refs, r)
					j = next
				}
			}
			i = j
		default:
			i++
		}
	}
	return sortRefs(refs)
}

// readCSSURL reads the argument of url( starting at i and returns the
// reference and the index after the closing parenthesis.
func readCSSURL(src []byte, i int) (ref, int, bool) {
	k := skipCSSSpace(src, i)
	if k >= len(src) {
		return ref{}, 0, false
	}
	if src[k] == '\'' || src[k] == '"' {
		s, e, q, ok := readLiteral(src, k, false)
		if !ok {
			return ref{}, 0, false
		}
		m := skipCSSSpace(src, e+1)
		if m >= len(src) || src[m] != ')' {
			return ref{}, 0, false
		}
		return ref{start: s, end: e, spec: string(src[s:e]), kind: refURL, quote: q}, m + 1, true
	}
	start := k
	end := -1
	for j := k; j < len(src); j++ {
		c := src[j]
		switch {
		case c == ')':
			if end < 0 {
				end = j
			}
			if end == start {
				return ref{}, 0, false
			}
			return ref{start: start, end: end, spec: string(src[start:end]), kind: refURL}, j + 1, true
		case isCSSSpace(c):
			if end < 0 {
				end = j
			}
		case end >= 0, c == '\'', c == '"', c == '(', c == '\\', c < 0x20, c == 0x7f:
			// Text after white space, or a character that is invalid in an
			// unquoted URL: not something to rewrite.
			return ref{}, 0, false
		}
	}
	return ref{}, 0, false
}
