// Package doccheck reads the project's Markdown documents the way GitHub
// renders them, for the tests that keep the documents true: their headings
// and the anchors GitHub gives them, their relative links, and their fenced
// code blocks with the marker comment that says how each is tested.
//
// [Check] is what the project's test runs over README.md, CONTRIBUTING.md,
// docs/*.md and examples/*/README.md: every relative link names a file of
// the repository and every anchor a heading of it, and every shell block of
// README.md, docs/ and examples/ that starts a process is marked, on the
// line before its fence, either
//
//	<!-- illustrative -->             shown for reading; no test runs it
//	<!-- tested by TestSomething -->  TestSomething runs it (and its file names the document)
//
// A block in another language (Go, YAML) may carry the second marker too,
// for a test that compiles or loads it; the same rule holds for it.
//
// Tests that run a document's commands find them with [Parse] and
// [Doc.BlocksTestedBy], and split a command into words with [Words].
//
// Only what the project's documents use is understood: ATX headings
// (# Title), inline links and images, reference definitions, <a href>,
// <img src>, <a id> and <a name>, and fenced code blocks.
package doccheck

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Doc is one parsed Markdown document.
type Doc struct {
	// Path is the document's path as given to Parse.
	Path string
	// Headings are the document's headings, in order.
	Headings []Heading
	// Links are the link destinations outside code, in order.
	Links []Link
	// Blocks are the fenced code blocks, in order.
	Blocks []Block
	// ids are the explicit anchors: <a id="..."> and <a name="...">.
	ids []string
}

// Heading is one ATX heading.
type Heading struct {
	Line  int
	Level int
	// Text is the heading as rendered: inline code, links and emphasis
	// reduced to their text.
	Text string
	// Anchor is the fragment GitHub links to it with (without "#"),
	// numbered -1, -2... after the first heading with the same slug.
	Anchor string
}

// Link is one link destination: of an inline link or image, a reference
// definition, or an href or src attribute.
type Link struct {
	Line   int
	Target string
}

// Block is one fenced code block.
type Block struct {
	// Line is the line of the opening fence.
	Line int
	// Lang is the first word of the info string ("bash"), "" when none.
	Lang string
	// Text is the content between the fences, each line ending in "\n".
	Text string
	// Marker is the text of the HTML comment on the line before the fence
	// (blank lines between them allowed), trimmed: "illustrative", "tested
	// by TestX", or "" when there is none.
	Marker string
}

// Parse reads a Markdown document.
func Parse(path string, src []byte) *Doc {
	d := &Doc{Path: path}
	seen := map[string]int{}
	var fence *fenceState
	var body strings.Builder
	marker := ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if fence != nil {
			if fence.closes(line) {
				d.Blocks = append(d.Blocks, Block{Line: fence.line, Lang: fence.lang, Text: body.String(), Marker: fence.marker})
				fence = nil
				body.Reset()
				continue
			}
			body.WriteString(strings.TrimPrefix(line, fence.indent) + "\n")
			continue
		}
		if f := openFence(line); f != nil {
			f.line, f.marker = n, marker
			fence = f
			marker = ""
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			// A blank line keeps the marker for a fence below it.
		case markerComment.MatchString(trimmed):
			marker = strings.TrimSpace(markerComment.FindStringSubmatch(trimmed)[1])
		default:
			marker = ""
		}
		if h, ok := parseHeading(line); ok {
			h.Line = n
			slug := Slug(h.Text)
			h.Anchor = slug
			if k := seen[slug]; k > 0 {
				h.Anchor = slug + "-" + strconv.Itoa(k)
			}
			seen[slug]++
			d.Headings = append(d.Headings, h)
		}
		text := withoutCodeSpans(line)
		for _, t := range linkTargets(text) {
			d.Links = append(d.Links, Link{Line: n, Target: t})
		}
		for _, m := range htmlID.FindAllStringSubmatch(text, -1) {
			d.ids = append(d.ids, m[1])
		}
	}
	if fence != nil { // an unclosed fence runs to the end of the document
		d.Blocks = append(d.Blocks, Block{Line: fence.line, Lang: fence.lang, Text: body.String(), Marker: fence.marker})
	}
	return d
}

// markerComment matches a line that is one HTML comment.
var markerComment = regexp.MustCompile(`^<!--(.*?)-->$`)

// htmlID matches an explicit anchor: <a id="x"> or <a name="x">.
var htmlID = regexp.MustCompile(`<a\s+(?:[^>]*\s)?(?:id|name)="([^"]+)"`)

// HasAnchor reports whether the document has the anchor (without "#"): a
// heading's, or an explicit <a id> or <a name>. As on GitHub, the
// comparison ignores case.
func (d *Doc) HasAnchor(anchor string) bool {
	a := strings.ToLower(anchor)
	for _, h := range d.Headings {
		if h.Anchor == a {
			return true
		}
	}
	for _, id := range d.ids {
		if strings.ToLower(id) == a {
			return true
		}
	}
	return false
}

// BlocksTestedBy returns the blocks marked "tested by" test, in order.
func (d *Doc) BlocksTestedBy(test string) []Block {
	var out []Block
	for _, b := range d.Blocks {
		if name, ok := b.TestedBy(); ok && name == test {
			out = append(out, b)
		}
	}
	return out
}

// TestedBy returns the test named by the block's "tested by" marker.
func (b Block) TestedBy() (string, bool) {
	name, ok := strings.CutPrefix(b.Marker, "tested by ")
	name = strings.TrimSpace(name)
	return name, ok && name != ""
}

// Illustrative reports whether the block is marked illustrative.
func (b Block) Illustrative() bool { return b.Marker == "illustrative" }

// fenceState is an open fenced code block.
type fenceState struct {
	char   byte
	size   int
	indent string
	lang   string
	line   int
	marker string
}

// openFence returns the fence that line opens, or nil.
func openFence(line string) *fenceState {
	rest := strings.TrimLeft(line, " \t")
	indent := line[:len(line)-len(rest)]
	if len(rest) < 3 || (rest[0] != '`' && rest[0] != '~') {
		return nil
	}
	c := rest[0]
	size := 0
	for size < len(rest) && rest[size] == c {
		size++
	}
	if size < 3 {
		return nil
	}
	info := strings.TrimSpace(rest[size:])
	if c == '`' && strings.Contains(info, "`") {
		return nil // an inline code span, not a fence
	}
	lang, _, _ := strings.Cut(info, " ")
	return &fenceState{char: c, size: size, indent: indent, lang: strings.ToLower(lang)}
}

// closes reports whether line closes the fence.
func (f *fenceState) closes(line string) bool {
	rest := strings.TrimSpace(line)
	if len(rest) < f.size {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] != f.char {
			return false
		}
	}
	return true
}

// parseHeading parses an ATX heading: one to six '#', a space, the text,
// and optional closing '#'s.
func parseHeading(line string) (Heading, bool) {
	rest := strings.TrimLeft(line, " ")
	if len(line)-len(rest) > 3 {
		return Heading{}, false
	}
	level := 0
	for level < len(rest) && rest[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(rest) && rest[level] != ' ' && rest[level] != '\t') {
		return Heading{}, false
	}
	text := strings.TrimSpace(rest[level:])
	if t := strings.TrimRight(text, "#"); t != text && (t == "" || strings.HasSuffix(t, " ")) {
		text = strings.TrimSpace(t)
	}
	return Heading{Level: level, Text: inlineText(text)}, true
}

var (
	inlineImage = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	inlineLink  = regexp.MustCompile(`\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])`)
	htmlTag     = regexp.MustCompile(`</?[A-Za-z][^>]*>`)
)

// inlineText reduces Markdown inline syntax to the text it renders:
// code spans to their content, links and images to their text, HTML tags
// and emphasis markers removed.
func inlineText(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(plainText(s))
			break
		}
		b.WriteString(plainText(s[:i]))
		n := 1
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		ticks := s[i : i+n]
		j := strings.Index(s[i+n:], ticks)
		if j < 0 {
			b.WriteString(plainText(s[i:]))
			break
		}
		code := s[i+n : i+n+j]
		if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.TrimSpace(code) != "" {
			code = code[1 : len(code)-1]
		}
		b.WriteString(code)
		s = s[i+n+j+n:]
	}
	return b.String()
}

// plainText renders text outside code spans.
func plainText(s string) string {
	s = inlineImage.ReplaceAllString(s, "$1")
	s = inlineLink.ReplaceAllString(s, "$1")
	s = htmlTag.ReplaceAllString(s, "")
	s = strings.NewReplacer("**", "", "__", "", "*", "", `\`, "").Replace(s)
	return s
}

// Slug returns the anchor GitHub gives a heading whose rendered text is
// text (before numbering duplicates): lower case, every character but
// letters, digits, marks, '-', '_' and spaces removed, then each space
// replaced by '-'.
func Slug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// withoutCodeSpans blanks out the inline code spans of line, so that what
// they show is not taken for links.
func withoutCodeSpans(line string) string {
	var b strings.Builder
	s := line
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		n := 1
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		j := strings.Index(s[i+n:], s[i:i+n])
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(strings.Repeat(" ", n+j+n))
		s = s[i+n+j+n:]
	}
}

var (
	refDefinition = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(?:<([^>]*)>|(\S+))`)
	htmlLink      = regexp.MustCompile(`<(?:a|img)\s[^>]*?(?:href|src)="([^"]*)"`)
)

// linkTargets returns the link destinations in line (code spans removed).
func linkTargets(line string) []string {
	var out []string
	if m := refDefinition.FindStringSubmatch(line); m != nil {
		return []string{m[1] + m[2]}
	}
	for i := 0; i+1 < len(line); i++ {
		if line[i] != ']' || line[i+1] != '(' {
			continue
		}
		if t, ok := destination(line[i+2:]); ok {
			out = append(out, t)
		}
	}
	for _, m := range htmlLink.FindAllStringSubmatch(line, -1) {
		out = append(out, m[1])
	}
	return out
}

// destination reads a link destination at the start of s, the text after
// "](": <...>, or up to the first space or the ')' that balances.
func destination(s string) (string, bool) {
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, "<") {
		end := strings.IndexByte(s, '>')
		return s[1:max(end, 1)], end > 0
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return s[:i], i > 0
			}
			depth--
		case ' ', '\t':
			return s[:i], i > 0
		}
	}
	return "", false
}
