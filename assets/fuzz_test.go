package assets_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/valksor/go-sse/assets"
)

// checkRewrite runs a rewriter with a resolver that replaces every
// specifier by a numbered marker, then checks that only relative specifiers
// were offered, that the output is the input with exactly the offered
// specifiers replaced, and that a resolver declining everything leaves the
// input untouched.
func checkRewrite(t *testing.T, src []byte, rewrite func([]byte, func(string) (string, bool)) []byte, relative func(string) bool) {
	var specs []string
	out := rewrite(src, func(spec string) (string, bool) {
		if !relative(spec) {
			t.Fatalf("resolver offered non-relative specifier %q", spec)
		}
		specs = append(specs, spec)
		return fmt.Sprintf("\x00\xffMARK%d\x00", len(specs)-1), true
	})
	// Undo the markers and compare with the input.
	var back []byte
	rest := out
	for i, spec := range specs {
		marker := []byte(fmt.Sprintf("\x00\xffMARK%d\x00", i))
		j := bytes.Index(rest, marker)
		if j < 0 {
			t.Fatalf("marker %d for %q missing from output %q", i, spec, out)
		}
		back = append(back, rest[:j]...)
		back = append(back, spec...)
		rest = rest[j+len(marker):]
	}
	back = append(back, rest...)
	if !bytes.Equal(back, src) {
		t.Fatalf("output with specifiers restored differs from input\n in: %q\nout: %q", src, out)
	}
	if got := rewrite(src, func(string) (string, bool) { return "", false }); !bytes.Equal(got, src) {
		t.Fatalf("declining resolver changed input %q to %q", src, got)
	}
}

func FuzzRewriteJS(f *testing.F) {
	for _, s := range []string{
		`import a from './a.js'; import 'lit'; export * from "../b.js";`,
		"const m = await import(`./x.js`); new URL('./w.js', import.meta.url);",
		`x = /['"]/g; import('./r.js') /* import './c.js' */ // import './d.js'`,
		"`${`${import('./n.js')}`}` + '\\'' + import.meta.url",
		`import {"a" as b, c} from './s.js' with {type: 'json'}`,
		`import x, * as y from 'https://cdn/x.js'; import 'data:text/javascript,'`,
		"#!/bin/node\nexport {a} from './a.js'",
		`a.import('./p.js'); {import: './o.js'}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkRewrite(t, src, assets.RewriteJS, assets.IsRelativeJS)
	})
}

func FuzzRewriteCSS(f *testing.F) {
	for _, s := range []string{
		`@import "base.css"; a { b: url(x.png) } c { d: url('../y.svg#i') }`,
		`a { b: url(data:image/png;base64,AA) } c { d: url("https://x/y") } e { f: url(/r.png) }`,
		`/* url(c.png) */ a::before { content: "url(s.png)" } b { c: url(  sp.png  ) }`,
		`@IMPORT url(u.css) screen; a { b: URL(#f) } c { d: my-url(x) } e { f: url(a\)b) }`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkRewrite(t, src, assets.RewriteCSS, assets.IsRelativeCSS)
	})
}
