package assets

import "sort"

// refKind classifies a reference found while scanning a JS or CSS file.
type refKind uint8

const (
	refStatic    refKind = iota // import ... from '…', import '…', export ... from '…'
	refDynamic                  // import('…')
	refURL                      // new URL('…', import.meta.url) in JS, url(…) in CSS
	refCSSImport                // @import '…' in CSS
)

// ref is one module specifier or URL found in a source file. start and end
// delimit the specifier text itself (quotes excluded), so replacing
// src[start:end] rewrites the reference and nothing else.
type ref struct {
	start, end int
	spec       string
	kind       refKind
	quote      byte // ', " or `; 0 for an unquoted CSS url()
}

// sortRefs orders refs by position and drops any that overlap an earlier one,
// so that callers can splice replacements in a single pass.
func sortRefs(refs []ref) []ref {
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].start < refs[j].start })
	out := refs[:0]
	last := -1
	for _, r := range refs {
		if r.start < last || r.end < r.start {
			continue
		}
		out = append(out, r)
		last = r.end
	}
	return out
}

// regexKeywords are the keywords after which a '/' starts a regular
// expression literal rather than a division.
var regexKeywords = map[string]bool{
	"return": true, "typeof": true, "instanceof": true, "in": true, "of": true,
	"new": true, "delete": true, "void": true, "throw": true, "case": true,
	"do": true, "else": true, "yield": true, "await": true, "default": true,
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isJSIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c >= 0x80
}

func isJSIdentPart(c byte) bool { return isJSIdentStart(c) || isDigit(c) }

// scanJS finds the module specifiers of an ES module: static imports
// (including side-effect imports), export-from declarations, dynamic imports
// with a plain string literal argument, and new URL('…', import.meta.url).
// It is a tolerant lexer, not a parser: it skips comments, strings, template
// literals and (heuristically) regular expressions, and never fails; input it
// does not understand yields no references.
func scanJS(src []byte) []ref {
	s := &jsScanner{src: src, i: moduleStart(src), regexOK: true}
	for s.i < len(src) {
		s.token()
	}
	return sortRefs(s.refs)
}

// moduleStart returns where the code of src starts: after a byte order
// mark and a "#!" line.
func moduleStart(src []byte) int {
	i := 0
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		i = 3
	}
	if i+1 < len(src) && src[i] == '#' && src[i+1] == '!' {
		i = skipLine(src, i)
	}
	return i
}

// jsScanner is the state of scanJS between two tokens.
type jsScanner struct {
	src []byte
	i   int // the position of the next token
	// regexOK is set where a '/' starts a regular expression literal
	// rather than a division: after an operator, an opening brace or a
	// keyword such as return.
	regexOK bool
	// lastDot is set right after a member access ('.' or '?.'), where
	// import, export and new are property names, not keywords.
	lastDot bool
	depth   int   // the brace depth
	subst   []int // the brace depths at which template substitutions opened
	refs    []ref
}

// past moves to next, past a token after which a '/' starts a regular
// expression when regexAfter is set, and that is not a member access.
func (s *jsScanner) past(next int, regexAfter bool) {
	s.i, s.regexOK, s.lastDot = next, regexAfter, false
}

// token reads the token at s.i, or skips the space or comment there.
func (s *jsScanner) token() {
	src, i := s.src, s.i
	c := src[i]
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
		s.i++
	case c == '/':
		s.slash()
	case c == '\'' || c == '"':
		s.past(skipJSString(src, i), false)
	case c == '`':
		s.template(i + 1)
	case c == '{':
		s.depth++
		s.past(i+1, true)
	case c == '}':
		s.closeBrace()
	case c == ')' || c == ']':
		s.past(i+1, false)
	case c == '.':
		s.dot()
	case c == '?' && i+1 < len(src) && src[i+1] == '.' && !(i+2 < len(src) && isDigit(src[i+2])):
		s.i, s.regexOK, s.lastDot = i+2, true, true // optional chaining
	case isDigit(c):
		s.past(skipNumber(src, i), false)
	case isJSIdentStart(c):
		s.word()
	default:
		s.past(i+1, true) // an operator or punctuation
	}
}

// slash reads what starts with '/': a comment, a regular expression
// literal, or a division.
func (s *jsScanner) slash() {
	src, i := s.src, s.i
	switch {
	case i+1 < len(src) && src[i+1] == '/':
		s.i = skipLine(src, i)
		return
	case i+1 < len(src) && src[i+1] == '*':
		s.i = skipBlockComment(src, i)
		return
	}
	if s.regexOK {
		if j, ok := skipRegex(src, i); ok {
			s.past(j, false)
			return
		}
	}
	s.past(i+1, true)
}

// template skips template literal text from src[from:] up to the closing
// backquote, or up to a substitution "${", which it enters.
func (s *jsScanner) template(from int) {
	j, open := skipTemplate(s.src, from)
	s.past(j, open)
	if open {
		s.subst = append(s.subst, s.depth)
		s.depth++
	}
}

// closeBrace reads a '}': the end of a template substitution, whose
// template text goes on after it, or of a block.
func (s *jsScanner) closeBrace() {
	if n := len(s.subst); n > 0 && s.subst[n-1] == s.depth-1 {
		s.subst = s.subst[:n-1]
		s.depth--
		s.template(s.i + 1)
		return
	}
	if s.depth > 0 {
		s.depth--
	}
	s.past(s.i+1, true)
}

// dot reads what starts with '.': a number such as .5, a spread "...", or
// a member access.
func (s *jsScanner) dot() {
	src, i := s.src, s.i
	switch {
	case i+1 < len(src) && isDigit(src[i+1]):
		s.past(skipNumber(src, i), false)
	case i+2 < len(src) && src[i+1] == '.' && src[i+2] == '.':
		s.past(i+3, true)
	default:
		s.i, s.regexOK, s.lastDot = i+1, true, true
	}
}

// word reads an identifier or keyword; import, export and new (unless
// they follow a member access) are looked at for a module specifier.
func (s *jsScanner) word() {
	src := s.src
	j := s.i + 1
	for j < len(src) && isJSIdentPart(src[j]) {
		j++
	}
	word := string(src[s.i:j])
	if !s.lastDot {
		switch word {
		case "import":
			s.refs = peekImport(src, j, s.refs)
		case "export":
			s.refs = peekExport(src, j, s.refs)
		case "new":
			s.refs = peekNewURL(src, j, s.refs)
		}
	}
	s.past(j, !s.lastDot && regexKeywords[word])
}

func skipLine(src []byte, i int) int {
	for i < len(src) && src[i] != '\n' && src[i] != '\r' {
		i++
	}
	return i
}

func skipBlockComment(src []byte, i int) int {
	for j := i + 2; j+1 < len(src); j++ {
		if src[j] == '*' && src[j+1] == '/' {
			return j + 2
		}
	}
	return len(src)
}

// skipJSString returns the index after the string literal starting at i. An
// unterminated literal ends at the line break.
func skipJSString(src []byte, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case q:
			return j + 1
		case '\n', '\r':
			return j
		}
	}
	return len(src)
}

// skipTemplate scans a template literal from i (just after the opening
// backtick or the '}' closing a substitution). It returns the index after the
// closing backtick, or the index after "${" with open set when a substitution
// starts.
func skipTemplate(src []byte, i int) (next int, open bool) {
	for j := i; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '`':
			return j + 1, false
		case '$':
			if j+1 < len(src) && src[j+1] == '{' {
				return j + 2, true
			}
		}
	}
	return len(src), false
}

// skipRegex returns the index after the regular expression literal starting
// at i, or ok=false when none can be found on this line.
func skipRegex(src []byte, i int) (int, bool) {
	inClass := false
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '\n', '\r':
			return i, false
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '/':
			if !inClass {
				j++
				for j < len(src) && isJSIdentPart(src[j]) {
					j++
				}
				return j, true
			}
		}
	}
	return i, false
}

func skipNumber(src []byte, i int) int {
	j := i + 1
	for j < len(src) && (isJSIdentPart(src[j]) || src[j] == '.') {
		j++
	}
	return j
}

// skipSpace skips white space and comments, returning the next index.
func skipSpace(src []byte, i int) int {
	for i < len(src) {
		switch c := src[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			i = skipLine(src, i)
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			i = skipBlockComment(src, i)
		default:
			return i
		}
	}
	return i
}

// readLiteral reads a plain string literal (no escapes, no line breaks, no
// substitutions) starting at i. It returns the bounds of its content.
func readLiteral(src []byte, i int, backtick bool) (start, end int, q byte, ok bool) {
	if i >= len(src) {
		return 0, 0, 0, false
	}
	q = src[i]
	if q != '\'' && q != '"' && !(backtick && q == '`') {
		return 0, 0, 0, false
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case q:
			return i + 1, j, q, true
		case '\\', '\n', '\r':
			return 0, 0, 0, false
		case '$':
			if q == '`' && j+1 < len(src) && src[j+1] == '{' {
				return 0, 0, 0, false
			}
		}
	}
	return 0, 0, 0, false
}

// readWord reads an identifier at i (after skipping space).
func readWord(src []byte, i int) (word string, next int) {
	i = skipSpace(src, i)
	j := i
	if j < len(src) && isJSIdentStart(src[j]) {
		j++
		for j < len(src) && isJSIdentPart(src[j]) {
			j++
		}
	}
	return string(src[i:j]), j
}

// expect skips space and consumes byte c, reporting whether it was there.
func expect(src []byte, i int, c byte) (int, bool) {
	i = skipSpace(src, i)
	if i < len(src) && src[i] == c {
		return i + 1, true
	}
	return i, false
}

func addLiteral(src []byte, i int, kind refKind, refs []ref) ([]ref, int, bool) {
	s, e, q, ok := readLiteral(src, i, false)
	if !ok {
		return refs, i, false
	}
	return append(refs, ref{start: s, end: e, spec: string(src[s:e]), kind: kind, quote: q}), e + 1, true
}

// peekImport looks at what follows the keyword import (ending at i).
func peekImport(src []byte, i int, refs []ref) []ref {
	k := skipSpace(src, i)
	if k >= len(src) {
		return refs
	}
	switch src[k] {
	case '(':
		k = skipSpace(src, k+1)
		s, e, q, ok := readLiteral(src, k, true)
		if !ok {
			return refs
		}
		m := skipSpace(src, e+1)
		if m < len(src) && (src[m] == ')' || src[m] == ',') {
			refs = append(refs, ref{start: s, end: e, spec: string(src[s:e]), kind: refDynamic, quote: q})
		}
		return refs
	case '\'', '"':
		refs, _, _ = addLiteral(src, k, refStatic, refs)
		return refs
	case '{', '*':
		return peekClause(src, k, refs)
	}
	if isJSIdentStart(src[k]) {
		// Default binding (which may itself be named "from"), then either
		// "from", or ", {…}" / ", * as ns".
		_, k = readWord(src, k)
		if w, m := readWord(src, k); w == "from" {
			if r, _, ok := addLiteral(src, skipSpace(src, m), refStatic, refs); ok {
				return r
			}
		}
		if m, ok := expect(src, k, ','); ok {
			return peekClause(src, skipSpace(src, m), refs)
		}
	}
	return refs
}

// peekExport looks at what follows the keyword export (ending at i).
func peekExport(src []byte, i int, refs []ref) []ref {
	k := skipSpace(src, i)
	if k < len(src) && (src[k] == '{' || src[k] == '*') {
		return peekClause(src, k, refs)
	}
	return refs
}

// peekClause parses "{ a, b as c, 'd' as e }" or "* [as ns]" at i, followed
// by from '…'.
func peekClause(src []byte, i int, refs []ref) []ref {
	k := i
	if k >= len(src) {
		return refs
	}
	if src[k] == '*' {
		k++
		if w, m := readWord(src, k); w == "as" {
			if w2, m2 := readWord(src, m); w2 != "" {
				k = m2
			} else if m2 = skipSpace(src, m); m2 < len(src) && (src[m2] == '\'' || src[m2] == '"') {
				k = skipJSString(src, m2) // export * as "string name"
			} else {
				return refs
			}
		}
	} else if src[k] == '{' {
		k++
	names:
		for {
			k = skipSpace(src, k)
			if k >= len(src) {
				return refs
			}
			switch c := src[k]; {
			case c == '}':
				k++
				break names
			case c == ',':
				k++
			case c == '\'' || c == '"':
				k = skipJSString(src, k)
			case isJSIdentStart(c):
				_, k = readWord(src, k)
			default:
				return refs
			}
		}
	} else {
		return refs
	}
	w, m := readWord(src, k)
	if w != "from" {
		return refs
	}
	refs, _, _ = addLiteral(src, skipSpace(src, m), refStatic, refs)
	return refs
}

// peekNewURL recognises new URL('…', import.meta.url) after the keyword new.
func peekNewURL(src []byte, i int, refs []ref) []ref {
	w, k := readWord(src, i)
	if w != "URL" {
		return refs
	}
	k, ok := expect(src, k, '(')
	if !ok {
		return refs
	}
	k = skipSpace(src, k)
	s, e, q, ok := readLiteral(src, k, true)
	if !ok {
		return refs
	}
	k = e + 1
	if k, ok = expect(src, k, ','); !ok {
		return refs
	}
	for n, want := range []string{"import", ".", "meta", ".", "url"} {
		if n%2 == 1 {
			if k, ok = expect(src, k, '.'); !ok {
				return refs
			}
			continue
		}
		if w, k = readWord(src, k); w != want {
			return refs
		}
	}
	if _, ok = expect(src, k, ')'); !ok {
		return refs
	}
	return append(refs, ref{start: s, end: e, spec: string(src[s:e]), kind: refURL, quote: q})
}
