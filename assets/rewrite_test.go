package assets_test

import (
	"testing"

	"github.com/valksor/go-sse/assets"
)

// mark is a resolver that makes every rewritten specifier visible.
func mark(spec string) (string, bool) { return "@" + spec, true }

func TestRewriteJS(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"default import", `import a from './a.js';`, `import a from '@./a.js';`},
		{"named import", `import {a, b as c} from "../b.js";`, `import {a, b as c} from "@../b.js";`},
		{"namespace import", `import * as ns from './c.js'`, `import * as ns from '@./c.js'`},
		{"default and named", `import d, {e} from './d.js'`, `import d, {e} from '@./d.js'`},
		{"default and namespace", `import d, * as n from './d.js'`, `import d, * as n from '@./d.js'`},
		{"binding named from", `import from from './f.js'`, `import from from '@./f.js'`},
		{"string import name", `import {"a-b" as ab} from './s.js'`, `import {"a-b" as ab} from '@./s.js'`},
		{"side effect", `import './side.js';`, `import '@./side.js';`},
		{"side effect no space", `import"./side.js"`, `import"@./side.js"`},
		{"multiline with comments", "import {\n  a, // first\n  b /* second */\n} from './m.js';", "import {\n  a, // first\n  b /* second */\n} from '@./m.js';"},
		{"import attributes", `import data from './d.json' with { type: 'json' };`, `import data from '@./d.json' with { type: 'json' };`},
		{"export named from", `export {x, y as z} from './x.js';`, `export {x, y as z} from '@./x.js';`},
		{"export star", `export * from '../y.js';`, `export * from '@../y.js';`},
		{"export star as", `export * as z from './z.js';`, `export * as z from '@./z.js';`},
		{"dynamic", `const m = await import('./lazy.js');`, `const m = await import('@./lazy.js');`},
		{"dynamic with options", `import("./l.js", { with: {} })`, `import("@./l.js", { with: {} })`},
		{"dynamic backtick", "import(`./t.js`)", "import(`@./t.js`)"},
		{"dynamic in template substitution", "const s = `${await import('./sub.js')}`;", "const s = `${await import('@./sub.js')}`;"},
		{"new URL", `new Worker(new URL('./w.js', import.meta.url), {type: 'module'})`, `new Worker(new URL('@./w.js', import.meta.url), {type: 'module'})`},
		{"after regex with quotes", `const re = /['"]/g; import('./after.js');`, `const re = /['"]/g; import('@./after.js');`},
		{"division not regex", `a = b / 2; import('./d.js'); c = d / 3;`, `a = b / 2; import('@./d.js'); c = d / 3;`},
		{"several", "import a from './a.js';\nimport b from './b.js';\n", "import a from '@./a.js';\nimport b from '@./b.js';\n"},
		{"hashbang", "#!/usr/bin/env node\nimport './x.js'", "#!/usr/bin/env node\nimport '@./x.js'"},

		// Left alone.
		{"bare", `import 'valksorsse/sse'; import {html} from 'lit';`, `import 'valksorsse/sse'; import {html} from 'lit';`},
		{"absolute URL", `import x from 'https://cdn.example/x.js';`, `import x from 'https://cdn.example/x.js';`},
		{"root relative", `import '/assets/x.js';`, `import '/assets/x.js';`},
		{"data URL", `import 'data:text/javascript,export default 1';`, `import 'data:text/javascript,export default 1';`},
		{"line comment", `// import './c.js'`, `// import './c.js'`},
		{"block comment", `/* import './c.js' */`, `/* import './c.js' */`},
		{"string", `const s = "import './s.js'";`, `const s = "import './s.js'";`},
		{"template", "const s = `import './t.js'`;", "const s = `import './t.js'`;"},
		{"regex", `const re = /import '.\/x.js'/;`, `const re = /import '.\/x.js'/;`},
		{"regex after return", `function f() { return /import './x.js'/ }`, `function f() { return /import './x.js'/ }`},
		{"member named import", `loader.import('./p.js')`, `loader.import('./p.js')`},
		{"import.meta", `console.log(import.meta.url, './x.js')`, `console.log(import.meta.url, './x.js')`},
		{"computed dynamic", `import('./' + name)`, `import('./' + name)`},
		{"template dynamic", "import(`./${name}.js`)", "import(`./${name}.js`)"},
		{"escaped specifier", `import '.\/x.js'`, `import '.\/x.js'`},
		{"export without from", `export {a as b}; export default './x.js';`, `export {a as b}; export default './x.js';`},
		{"object key import", `const o = {import: './x.js'}`, `const o = {import: './x.js'}`},
		{"new URL without import.meta", `new URL('./x.js', location.href)`, `new URL('./x.js', location.href)`},
		{"unterminated", `import './x.js`, `import './x.js`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(assets.RewriteJS([]byte(tt.in), mark))
			if got != tt.want {
				t.Errorf("\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestRewriteCSS(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unquoted", `a { background: url(img.png) }`, `a { background: url(@img.png) }`},
		{"single quoted", `a { background: url('img.png') }`, `a { background: url('@img.png') }`},
		{"double quoted", `a { background: url("../img.png") }`, `a { background: url("@../img.png") }`},
		{"spaces", `a { background: url(  img.png  ) }`, `a { background: url(  @img.png  ) }`},
		{"upper case", `a { background: URL(img.png) }`, `a { background: URL(@img.png) }`},
		{"query and fragment", `src: url(f.woff2?#iefix)`, `src: url(@f.woff2?#iefix)`},
		{"import string", `@import "base.css";`, `@import "@base.css";`},
		{"import single", `@import 'base.css' screen;`, `@import '@base.css' screen;`},
		{"import url", `@import url(base.css);`, `@import url(@base.css);`},
		{"import upper case", `@IMPORT "base.css";`, `@IMPORT "@base.css";`},
		{"several", "a{b:url(x.png)}c{d:url('./y.png')}", "a{b:url(@x.png)}c{d:url('@./y.png')}"},

		// Left alone.
		{"data URL", `a { b: url(data:image/png;base64,iVBO) }`, `a { b: url(data:image/png;base64,iVBO) }`},
		{"absolute URL", `a { b: url("https://x.example/y.png") }`, `a { b: url("https://x.example/y.png") }`},
		{"protocol relative", `a { b: url(//cdn.example/y.png) }`, `a { b: url(//cdn.example/y.png) }`},
		{"root relative", `a { b: url(/y.png) }`, `a { b: url(/y.png) }`},
		{"fragment", `a { filter: url(#f) }`, `a { filter: url(#f) }`},
		{"empty", `a { b: url() }`, `a { b: url() }`},
		{"comment", `/* url(x.png) @import "y.css"; */`, `/* url(x.png) @import "y.css"; */`},
		{"string", `a::before { content: "url(x.png)" }`, `a::before { content: "url(x.png)" }`},
		{"other function", `a { b: my-url(x.png) }`, `a { b: my-url(x.png) }`},
		{"escape", `a { b: url(x\).png) }`, `a { b: url(x\).png) }`},
		{"absolute import", `@import "https://fonts.example/css";`, `@import "https://fonts.example/css";`},
		{"template placeholder", `a { b: url({{ img }}) }`, `a { b: url({{ img }}) }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(assets.RewriteCSS([]byte(tt.in), mark))
			if got != tt.want {
				t.Errorf("\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestRelative(t *testing.T) {
	tests := []struct {
		spec    string
		js, css bool
	}{
		{"./a.js", true, true},
		{"../a.js", true, true},
		{"a.png", false, true},
		{"img/a.png", false, true},
		{"valksorsse/sse", false, true},
		{"/a.js", false, false},
		{"//cdn/a.js", false, false},
		{"https://x/a.js", false, false},
		{"data:text/css,", false, false},
		{"#frag", false, false},
		{"", false, false},
		{"c:/x", false, false},
		{"1a:b", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			if got := assets.IsRelativeJS(tt.spec); got != tt.js {
				t.Errorf("IsRelativeJS(%q) = %v, want %v", tt.spec, got, tt.js)
			}
			if got := assets.IsRelativeCSS(tt.spec); got != tt.css {
				t.Errorf("IsRelativeCSS(%q) = %v, want %v", tt.spec, got, tt.css)
			}
		})
	}
}
