package assets_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/valksor/go-sse/assets"
)

func TestNewErrors(t *testing.T) {
	fsys := fstest.MapFS{"a.js": file("")}
	tests := []struct {
		name    string
		opts    assets.Options
		sources []assets.Source
		want    string
	}{
		{"no sources", assets.Options{}, nil, "assets: no sources"},
		{"nil FS", assets.Options{}, []assets.Source{{Namespace: "x"}}, `assets: source 0 (namespace "x") has a nil FS`},
		{"namespace with space", assets.Options{}, []assets.Source{{Namespace: "a b", FS: fsys}}, `invalid namespace "a b"`},
		{"namespace escaping", assets.Options{}, []assets.Source{{Namespace: "../x", FS: fsys}}, `invalid namespace "../x"`},
		{"namespace dot", assets.Options{}, []assets.Source{{Namespace: ".x", FS: fsys}}, `invalid namespace ".x"`},
		{"namespace empty segment", assets.Options{}, []assets.Source{{Namespace: "a//b", FS: fsys}}, `invalid namespace "a//b"`},
		{"namespace trailing slash", assets.Options{}, []assets.Source{{Namespace: "a/", FS: fsys}}, `invalid namespace "a/"`},
		{"prefix without slashes", assets.Options{Prefix: "assets"}, []assets.Source{{FS: fsys}}, `assets: invalid prefix "assets"`},
		{"prefix not clean", assets.Options{Prefix: "/a/../b/"}, []assets.Source{{FS: fsys}}, `assets: invalid prefix`},
		{"unreadable source", assets.Options{}, []assets.Source{{FS: fstest.MapFS{"a.js": &fstest.MapFile{Mode: 0o644}}}, {FS: badFS{}}}, `assets: reading source 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := assets.NewWithOptions(tt.opts, tt.sources...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "assets: ") {
				t.Errorf("error %q lacks the assets: prefix", err)
			}
		})
	}
}

// badFS fails every operation.
type badFS struct{}

func (badFS) Open(name string) (fs.File, error) { return nil, fmt.Errorf("broken disk") }

func TestLookupUnknown(t *testing.T) {
	m := newMapper(t)
	_, err := m.Lookup("nope.js")
	if err == nil || err.Error() != `assets: no asset with logical path "nope.js"` {
		t.Fatalf("err = %v", err)
	}
	if _, err := m.PublicPath("nope.js"); err == nil {
		t.Fatal("PublicPath of unknown asset: no error")
	}
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

func TestPublicNames(t *testing.T) {
	fsys := fstest.MapFS{
		"app.js":                file("a"),
		"app.min.js":            file("b"),
		"LICENSE":               file("c"),
		"lib-0123abcd.js":       file("d"),
		"deep/dir/style.css":    file("e"),
		"dir.with.dots/file.js": file("f"),
	}
	m := newMapper(t, assets.Source{FS: fsys}, assets.Source{Namespace: "valksorsse", FS: webFS()})
	tests := []struct {
		logical, content, want string
	}{
		{"app.js", "a", "/assets/app-%s.js"},
		{"app.min.js", "b", "/assets/app.min-%s.js"},
		{"LICENSE", "c", "/assets/LICENSE-%s"},
		{"lib-0123abcd.js", "d", "/assets/lib-0123abcd-%s.js"},
		{"deep/dir/style.css", "e", "/assets/deep/dir/style-%s.css"},
		{"dir.with.dots/file.js", "f", "/assets/dir.with.dots/file-%s.js"},
	}
	for _, tt := range tests {
		t.Run(tt.logical, func(t *testing.T) {
			a := mustLookup(t, m, tt.logical)
			d := digestOf(tt.content)
			if a.Digest != d {
				t.Errorf("Digest = %s, want %s", a.Digest, d)
			}
			if want := fmt.Sprintf(tt.want, d); a.PublicPath != want {
				t.Errorf("PublicPath = %s, want %s", a.PublicPath, want)
			}
			if string(a.Content()) != tt.content || a.Size != int64(len(tt.content)) {
				t.Errorf("Content = %q (size %d), want %q", a.Content(), a.Size, tt.content)
			}
		})
	}
	if _, err := m.Lookup("valksorsse/sse.js"); err != nil {
		t.Errorf("namespaced file: %v", err)
	}
}

func TestDigestStableAndContentDependent(t *testing.T) {
	a1 := mustLookup(t, newMapper(t), "lazy.js")
	a2 := mustLookup(t, newMapper(t), "lazy.js")
	if a1.PublicPath != a2.PublicPath || a1.Integrity != a2.Integrity {
		t.Errorf("same content, different names: %s vs %s", a1.PublicPath, a2.PublicPath)
	}
	fsys := appFS()
	fsys["lazy.js"] = file("export default 43;\n")
	a3 := mustLookup(t, newMapper(t, assets.Source{FS: fsys}), "lazy.js")
	if a3.Digest == a1.Digest {
		t.Errorf("different content, same digest %s", a1.Digest)
	}
	if !regexp.MustCompile(`^/assets/lazy-[0-9a-f]{8}\.js$`).MatchString(a3.PublicPath) {
		t.Errorf("PublicPath = %s", a3.PublicPath)
	}
}

func TestIgnoredFiles(t *testing.T) {
	m := newMapper(t)
	var got []string
	for _, a := range m.List() {
		got = append(got, a.LogicalPath)
	}
	want := []string{
		"app.js", "data.json", "fonts/f.woff2", "icon.svg", "images/bg.png", "lazy.js", "lib/util.js", "lib/worker.js",
		"styles/app.css", "styles/base.css", "valksorsse/sse.js", "valksorsse/worker.js",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("List() =\n%v\nwant\n%v", got, want)
	}
	if !sort.StringsAreSorted(got) {
		t.Error("List() not sorted")
	}
}

func TestFirstSourceWins(t *testing.T) {
	override := fstest.MapFS{"sse.js": file("// overridden\n")}
	m := newMapper(t,
		assets.Source{Namespace: "valksorsse", FS: override},
		assets.Source{Namespace: "valksorsse", FS: webFS()},
		assets.Source{FS: fstest.MapFS{"valksorsse/worker.js": file("// shadowed by nothing: second namespace source still wins over root\n")}},
	)
	if got := string(mustLookup(t, m, "valksorsse/sse.js").Content()); got != "// overridden\n" {
		t.Errorf("sse.js = %q, want the first source's", got)
	}
	if got := string(mustLookup(t, m, "valksorsse/worker.js").Content()); got != "export function start() {}\n" {
		t.Errorf("worker.js = %q, want the second source's", got)
	}
}

func TestRewrittenContent(t *testing.T) {
	m := newMapper(t)
	pub := func(l string) string { return mustLookup(t, m, l).PublicPath }
	base := func(l string) string { p := pub(l); return p[strings.LastIndex(p, "/")+1:] }
	tests := []struct {
		logical string
		want    []string
	}{
		{"app.js", []string{
			"from './lib/" + base("lib/util.js") + "'",
			"import 'valksorsse/sse'",
			"export * from './lib/" + base("lib/util.js") + "'",
			"import('./" + base("lazy.js") + "')",
		}},
		{"lib/util.js", []string{"new URL('./" + base("lib/worker.js") + "', import.meta.url)"}},
		{"styles/app.css", []string{
			`@import "./` + base("styles/base.css") + `"`,
			"url(../images/" + base("images/bg.png") + ")",
			"url('../fonts/" + base("fonts/f.woff2") + "')",
		}},
		{"valksorsse/sse.js", []string{"from './" + base("valksorsse/worker.js") + "'"}},
	}
	for _, tt := range tests {
		t.Run(tt.logical, func(t *testing.T) {
			a := mustLookup(t, m, tt.logical)
			content := string(a.Content())
			for _, w := range tt.want {
				if !strings.Contains(content, w) {
					t.Errorf("content lacks %q:\n%s", w, content)
				}
			}
			if a.Digest != digestOf(content) {
				t.Errorf("digest %s does not cover the rewritten content (%s)", a.Digest, digestOf(content))
			}
		})
	}
	if w := m.Warnings(); len(w) != 0 {
		t.Errorf("unexpected warnings: %q", w)
	}
}

func TestDeepChangePropagates(t *testing.T) {
	build := func(c string) *assets.Mapper {
		return newMapper(t, assets.Source{FS: fstest.MapFS{
			"a.js":       file("import './b.js';\n"),
			"b.js":       file("import './sub/c.js';\n"),
			"sub/c.js":   file("import '../d.css';\n"),
			"d.css":      file("@import 'e.css';\n"),
			"e.css":      file("a { background: url(f.svg) }\n"),
			"f.svg":      file(c),
			"other.js":   file("export {};\n"),
			"sibling.js": file("import './other.js';\n"),
		}})
	}
	before, after := build("<svg/>"), build("<svg></svg>")
	tests := []struct {
		logical string
		changes bool
	}{
		{"a.js", true}, {"b.js", true}, {"sub/c.js", true}, {"d.css", true}, {"e.css", true}, {"f.svg", true},
		{"other.js", false}, {"sibling.js", false},
	}
	for _, tt := range tests {
		t.Run(tt.logical, func(t *testing.T) {
			d1, d2 := mustLookup(t, before, tt.logical).Digest, mustLookup(t, after, tt.logical).Digest
			if (d1 != d2) != tt.changes {
				t.Errorf("digest %s -> %s; want changed=%v", d1, d2, tt.changes)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	m := newMapper(t,
		assets.Source{FS: fstest.MapFS{
			"app.js":    file("import './missing.js';\nimport '../../etc/passwd';\nimport './ok.js';\n"),
			"ok.js":     file(""),
			"app.css":   file("a { b: url(nope.png) } c { d: url(../../x.png) }"),
			"we'ird.js": file(""),
		}},
		assets.Source{Namespace: "valksorsse", FS: fstest.MapFS{"sse.js": file("import '../ok.js';\n")}},
	)
	want := []string{
		`assets: "we'ird.js" skipped: its name contains characters that are not safe in URLs`,
		`assets: app.css: reference "../../x.png" escapes the source root ""; left unchanged`,
		`assets: app.css: reference "nope.png": nope.png not found; left unchanged`,
		`assets: app.js: reference "../../etc/passwd" escapes the source root ""; left unchanged`,
		`assets: app.js: reference "./missing.js": missing.js not found; left unchanged`,
		`assets: valksorsse/sse.js: reference "../ok.js" escapes the source root "valksorsse"; left unchanged`,
	}
	got := m.Warnings()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Warnings() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	content := string(mustLookup(t, m, "app.js").Content())
	for _, s := range []string{"import './missing.js'", "import '../../etc/passwd'"} {
		if !strings.Contains(content, s) {
			t.Errorf("reference %q was changed:\n%s", s, content)
		}
	}
	if strings.Contains(content, "import './ok.js'") {
		t.Errorf("existing reference not rewritten:\n%s", content)
	}
}

func TestCycles(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"css", fstest.MapFS{"a.css": file(`@import "b.css";`), "b.css": file(`@import url(a.css);`)},
			"assets: import cycle a.css -> b.css -> a.css: content digests cannot be computed; "},
		{"js", fstest.MapFS{"a.js": file(`import './b.js';`), "b.js": file(`export * from './a.js';`)},
			"assets: import cycle a.js -> b.js -> a.js: content digests cannot be computed; "},
		{"js dynamic, longer", fstest.MapFS{
			"entry.js": file(`import './a.js';`),
			"a.js":     file(`import './lib/b.js';`),
			"lib/b.js": file(`import('./c.js');`),
			"lib/c.js": file(`import '../a.js';`),
		}, "assets: import cycle a.js -> lib/b.js -> lib/c.js -> a.js: "},
		{"self", fstest.MapFS{"a.js": file(`import './a.js';`)}, "assets: import cycle a.js -> a.js: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := assets.New(assets.Source{FS: tt.fsys})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant prefix %q", err, tt.want)
			}
		})
	}
}

func TestReloadAtomic(t *testing.T) {
	// a.js and b.js always carry the same version; a reader must never see
	// a map mixing two versions.
	// The map is only changed by this goroutine, between reloads; readers
	// never touch the file system.
	version := 0
	fsys := fstest.MapFS{"a.js": file("0"), "b.js": file("0")}
	m := newMapper(t, assets.Source{FS: fsys})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l := m.List()
				if len(l) != 2 || string(l[0].Content()) != string(l[1].Content()) {
					t.Errorf("inconsistent map: %q vs %q", l[0].Content(), l[1].Content())
					return
				}
			}
		}()
	}
	for range 50 {
		version++
		v := fmt.Sprint(version)
		fsys["a.js"], fsys["b.js"] = file(v), file(v)
		if err := m.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got := string(mustLookup(t, m, "a.js").Content()); got != "50" {
		t.Errorf("after reloads a.js = %q", got)
	}
}

func TestReloadErrorKeepsMap(t *testing.T) {
	fsys := fstest.MapFS{"a.js": file(`import './b.js';`), "b.js": file("")}
	m := newMapper(t, assets.Source{FS: fsys})
	old := mustLookup(t, m, "a.js").PublicPath
	fsys["b.js"] = file(`import './a.js';`)
	if err := m.Reload(); err == nil || !strings.Contains(err.Error(), "import cycle a.js -> b.js -> a.js") {
		t.Fatalf("Reload() = %v", err)
	}
	if got := mustLookup(t, m, "a.js").PublicPath; got != old {
		t.Errorf("failed reload replaced the map: %s -> %s", old, got)
	}
	if w := m.Warnings(); len(w) == 0 || !strings.Contains(w[0], "last reload failed") {
		t.Errorf("Warnings() = %q, want the reload failure first", w)
	}
	fsys["b.js"] = file("")
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if w := m.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() after a good reload = %q", w)
	}
}
