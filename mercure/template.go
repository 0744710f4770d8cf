package mercure

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Template is an RFC 6570 URI template (up to level 4) compiled for
// matching, the way the widely deployed Mercure draft uses templates as
// topic selectors: https://example.com/books/{id} matches
// https://example.com/books/1 but not https://example.com/books/1/reviews,
// and {+path} also matches slashes.
//
// Matching is lenient where RFC 6570 cannot be inverted exactly: every
// variable may be undefined (so an expression may match nothing), and list
// and associative values match as runs of the characters their expansion
// may produce. The template string itself always matches, so a template
// can be compared with another one (Mercure's rule for authorization).
// Matching runs in linear time (Go's RE2 engine).
type Template struct {
	raw string
	re  *regexp.Regexp // nil when the template has no expression
}

// Bounds on what is matched exactly, to keep the compiled expressions
// small: a prefix modifier is checked up to maxPrefix characters and for a
// variable alone in its expression (longer values match otherwise), and the
// number of values up to maxCounted variables in an expression.
const (
	maxPrefix  = 100
	maxCounted = 4
	// maxExpressions bounds the expressions of a template, and so the
	// time its compilation takes; a longer template matches only itself.
	maxExpressions = 16
)

// Character classes of RFC 6570 section 1.5, for use inside [...].
const (
	unreservedClass = `A-Za-z0-9\-._~`
	reservedClass   = `:/?#\[\]@!$&'()*+,;=`
	pctEncoded      = `%[0-9A-Fa-f]{2}`
)

// errNoTemplate is wrapped by CompileTemplate's errors.
var errNoTemplate = errors.New("mercure: not a URI template")

// CompileTemplate compiles t. A string without braces is a valid template
// that matches only itself. It returns an error wrapping a description for
// malformed templates (an unclosed or stray brace, an empty expression, a
// reserved operator, a bad variable name or modifier, invalid UTF-8); a
// topic selector that is not a valid template matches only itself.
func CompileTemplate(t string) (*Template, error) {
	if !utf8.ValidString(t) {
		return nil, fmt.Errorf("%w: invalid UTF-8", errNoTemplate)
	}
	if !strings.ContainsAny(t, "{}") {
		return &Template{raw: t}, nil
	}
	if n := strings.Count(t, "{"); n > maxExpressions {
		return nil, fmt.Errorf("%w: %q has %d expressions; the limit is %d", errNoTemplate, t, n, maxExpressions)
	}
	var b strings.Builder
	b.WriteString(`^`)
	for i := 0; i < len(t); {
		switch t[i] {
		case '{':
			end := strings.IndexByte(t[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%w: %q has an unclosed {", errNoTemplate, t)
			}
			expr := t[i+1 : i+1+end]
			if strings.IndexByte(expr, '{') >= 0 {
				return nil, fmt.Errorf("%w: %q has a { inside an expression", errNoTemplate, t)
			}
			re, err := expressionRegexp(expr)
			if err != nil {
				return nil, fmt.Errorf("%w: %q: %v", errNoTemplate, t, err)
			}
			b.WriteString(re)
			i += end + 2
		case '}':
			return nil, fmt.Errorf("%w: %q has a } without {", errNoTemplate, t)
		default:
			end := strings.IndexAny(t[i:], "{}")
			if end < 0 {
				end = len(t) - i
			}
			b.WriteString(regexp.QuoteMeta(t[i : i+end]))
			i += end
		}
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %q is too complex to match: %v", errNoTemplate, t, err)
	}
	return &Template{raw: t, re: re}, nil
}

// String returns the template as given.
func (t *Template) String() string { return t.raw }

// Match reports whether topic matches the template: topic is the template
// string itself, or one of its expansions.
func (t *Template) Match(topic string) bool {
	return topic == t.raw || (t.re != nil && t.re.MatchString(topic))
}

// operator describes an RFC 6570 expression operator (appendix A).
type operator struct {
	first, sep string
	named      bool
	reserved   bool // values may hold reserved characters (+ and #)
	ifEmpty    string
}

var operators = map[byte]operator{
	'+': {sep: ",", reserved: true},
	'#': {first: "#", sep: ",", reserved: true},
	'.': {first: ".", sep: "."},
	'/': {first: "/", sep: "/"},
	';': {first: ";", sep: ";", named: true},
	'?': {first: "?", sep: "&", named: true, ifEmpty: "="},
	'&': {first: "&", sep: "&", named: true, ifEmpty: "="},
}

// expressionRegexp returns the regular expression matching every
// expansion of the expression expr (the text between the braces).
func expressionRegexp(expr string) (string, error) {
	if expr == "" {
		return "", errors.New("empty expression {}")
	}
	op := operator{sep: ","}
	if o, ok := operators[expr[0]]; ok {
		op = o
		expr = expr[1:]
	} else if strings.IndexByte("=,!@|", expr[0]) >= 0 {
		return "", fmt.Errorf("operator %q is reserved", expr[0])
	}
	class := unreservedClass
	if op.reserved {
		class += reservedClass
	}
	atom := `(?:[` + class + `]|` + pctEncoded + `)`
	var alts []string
	specs := strings.Split(expr, ",")
	for _, spec := range specs {
		name, explode, prefix, err := parseVarspec(spec)
		if err != nil {
			return "", err
		}
		if len(specs) > 1 {
			prefix = 0 // checked only alone, to bound the expression's size
		}
		alts = append(alts, varRegexp(op, atom, name, explode, prefix))
	}
	// One to len(alts) of the variables are defined; lenient about which.
	// Up to maxCounted variables the count is checked, with nested
	// optional groups (counted repetitions would multiply with a prefix's);
	// beyond, any number matches, keeping the expression linear in size.
	v := `(?:` + strings.Join(alts, `|`) + `)`
	sep := regexp.QuoteMeta(op.sep)
	more := `(?:` + sep + v + `)*`
	if len(alts) <= maxCounted {
		more = ""
		for range len(alts) - 1 {
			more = `(?:` + sep + v + more + `)?`
		}
	}
	return `(?:` + regexp.QuoteMeta(op.first) + v + more + `)?`, nil
}

// varRegexp returns the expression matching one variable's expansion.
func varRegexp(op operator, atom, name string, explode bool, prefix int) string {
	sep := regexp.QuoteMeta(op.sep)
	// A value: a string (cut to prefix characters), or a list or
	// associative array joined by commas.
	value := `(?:` + atom + `|,)*`
	if prefix > 0 && prefix <= maxPrefix {
		value = atom + `{0,` + strconv.Itoa(prefix) + `}`
	}
	switch {
	case !op.named && !explode:
		return value
	case !op.named:
		// Exploded lists are joined by the separator, exploded
		// associative arrays give key=value items.
		return `(?:` + atom + `|[,=]|` + sep + `)*`
	case !explode:
		n := regexp.QuoteMeta(name)
		if op.ifEmpty == "" {
			return n + `(?:=` + value + `)?`
		}
		return n + `=` + value
	default:
		// name=v;name=w for lists, k=v;l=w for associative arrays.
		item := atom + `+(?:=(?:` + atom + `|,)*)?`
		return item + `(?:` + sep + item + `)*`
	}
}

// parseVarspec parses "name", "name*" or "name:N" (RFC 6570 section 2.3
// and 2.4).
func parseVarspec(spec string) (name string, explode bool, prefix int, err error) {
	name = spec
	switch {
	case strings.HasSuffix(spec, "*"):
		name, explode = spec[:len(spec)-1], true
	case strings.Contains(spec, ":"):
		var digits string
		name, digits, _ = strings.Cut(spec, ":")
		n, convErr := strconv.Atoi(digits)
		if convErr != nil || n < 1 || n > 9999 || len(digits) > 4 || digits[0] == '0' || digits[0] == '+' {
			return "", false, 0, fmt.Errorf("bad prefix modifier in %q: want :1 to :9999", spec)
		}
		prefix = n
	}
	if !validVarname(name) {
		return "", false, 0, fmt.Errorf("bad variable name %q", name)
	}
	return name, explode, prefix, nil
}

// validVarname checks RFC 6570's varname: varchars (ALPHA, DIGIT, "_",
// pct-encoded) separated by single dots.
func validVarname(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
