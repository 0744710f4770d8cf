package assets

// RewriteJS exposes the JS rewriter to the external tests: resolve is
// asked about every relative specifier and returns its replacement.
func RewriteJS(src []byte, resolve func(spec string) (string, bool)) []byte {
	return rewriteWith(src, scanJS(src), isRelativeJS, resolve)
}

// RewriteCSS is RewriteJS for stylesheets.
func RewriteCSS(src []byte, resolve func(spec string) (string, bool)) []byte {
	return rewriteWith(src, scanCSS(src), isRelativeCSS, resolve)
}

// IsRelativeJS and IsRelativeCSS expose the relativity tests.
var (
	IsRelativeJS  = isRelativeJS
	IsRelativeCSS = isRelativeCSS
)

func rewriteWith(src []byte, refs []ref, relative func(string) bool, resolve func(string) (string, bool)) []byte {
	var out []byte
	last := 0
	for _, r := range refs {
		if !relative(r.spec) {
			continue
		}
		s, ok := resolve(r.spec)
		if !ok {
			continue
		}
		if s, ok = safeReplacement(r, s); !ok {
			continue
		}
		out = append(out, src[last:r.start]...)
		out = append(out, s...)
		last = r.end
	}
	return append(out, src[last:]...)
}
