package assets_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/valksor/go-sse/internal/golden"

	"github.com/valksor/go-sse/assets"
)

func testImportMap() assets.ImportMap {
	return assets.ImportMap{Entries: []assets.ImportEntry{
		{Name: "valksorsse/sse", Path: "valksorsse/sse.js", Preload: true},
		{Name: "app", Path: "app.js", Preload: true},
		{Name: "lazy", Path: "lazy.js"},
		{Name: "lit", Path: "https://cdn.example/lit@3/index.js"},
	}}
}

func TestImportMapJSON(t *testing.T) {
	m := newMapper(t)
	tests := []struct {
		name, base, golden string
	}{
		{"same origin", "", "importmap_same_origin.json"},
		{"cross origin", "http://localhost:8080", "importmap_cross_origin.json"},
		{"cross origin trailing slash", "http://localhost:8080/", "importmap_cross_origin.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, err := m.ImportMapJSON(testImportMap(), tt.base)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.golden, append(js, '\n'))
		})
	}
}

func TestImportMapIntegrityOverHTTP(t *testing.T) {
	m := newMapper(t)
	srv := httptest.NewServer(m)
	defer srv.Close()
	js, err := m.ImportMapJSON(testImportMap(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var im struct {
		Imports   map[string]string
		Integrity map[string]string
	}
	if err := json.Unmarshal(js, &im); err != nil {
		t.Fatal(err)
	}
	// Every mapped entry, and the modules reached from them, has integrity.
	want := []string{"app.js", "lazy.js", "lib/util.js", "valksorsse/sse.js", "valksorsse/worker.js"}
	var got []string
	for u := range im.Integrity {
		for _, a := range m.List() {
			if srv.URL+a.PublicPath == u {
				got = append(got, a.LogicalPath)
			}
		}
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("integrity covers %v, want %v", got, want)
	}
	for u, integrity := range im.Integrity {
		t.Run(u, func(t *testing.T) {
			resp, body := do(t, "GET", u, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d", u, resp.StatusCode)
			}
			sum := sha512.Sum384([]byte(body))
			if w := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); integrity != w {
				t.Errorf("integrity %s, served bytes hash to %s", integrity, w)
			}
		})
	}
	if _, ok := im.Integrity[im.Imports["lit"]]; ok {
		t.Error("absolute URL entry has integrity")
	}
}

func TestImportMapErrors(t *testing.T) {
	m := newMapper(t)
	tests := []struct {
		name string
		im   assets.ImportMap
		base string
		want string
	}{
		{"unknown path", assets.ImportMap{Entries: []assets.ImportEntry{{Name: "app", Path: "nope.js"}}}, "",
			`assets: import map entry "app": no asset with logical path "nope.js"`},
		{"empty name", assets.ImportMap{Entries: []assets.ImportEntry{{Path: "app.js"}}}, "",
			`assets: import map entry with path "app.js" has an empty name`},
		{"duplicate", assets.ImportMap{Entries: []assets.ImportEntry{{Name: "a", Path: "app.js"}, {Name: "a", Path: "lazy.js"}}}, "",
			`assets: import map entry "a" is listed twice`},
		{"relative base", testImportMap(), "/static", `assets: invalid import map base URL "/static"`},
		{"ftp base", testImportMap(), "ftp://x", `assets: invalid import map base URL "ftp://x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.ImportMapJSON(tt.im, tt.base); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ImportMapJSON err = %v, want %q", err, tt.want)
			}
			if _, err := m.RenderImportMap(tt.im, tt.base, ""); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("RenderImportMap err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRenderImportMap(t *testing.T) {
	m := newMapper(t)
	withShim := testImportMap()
	withShim.ShimURL = "https://ga.jspm.io/npm:es-module-shims@1.10.0/dist/es-module-shims.js"
	tests := []struct {
		name  string
		im    assets.ImportMap
		base  string
		nonce string
	}{
		{"same_origin", testImportMap(), "", ""},
		{"same_origin_nonce", testImportMap(), "", "r4nd0m"},
		{"cross_origin_nonce_shim", withShim, "http://localhost:8080", `n"<>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := m.RenderImportMap(tt.im, tt.base, tt.nonce)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "render_"+tt.name+".html", []byte(string(h)+"\n"))
		})
	}
}

func TestRenderImportMapEscaping(t *testing.T) {
	m := newMapper(t)
	im := assets.ImportMap{Entries: []assets.ImportEntry{
		{Name: "</script><script>alert(1)</script>", Path: "app.js"},
		{Name: "x", Path: "https://cdn.example/</script><!--.js", Preload: true},
		{Name: "y\u2028", Path: "lazy.js"},
	}}
	h, err := m.RenderImportMap(im, "", "")
	if err != nil {
		t.Fatal(err)
	}
	s := string(h)
	if n := strings.Count(strings.ToLower(s), "</script"); n != 1 {
		t.Errorf("%d closing script tags (want 1):\n%s", n, s)
	}
	for _, bad := range []string{"<!--", "<script>", "\u2028"} {
		if strings.Contains(s, bad) {
			t.Errorf("output contains %q:\n%s", bad, s)
		}
	}
	// The JSON inside still decodes to the original names.
	body := s[strings.Index(s, ">")+1 : strings.Index(s, "</script>")]
	var parsed struct{ Imports map[string]string }
	if err := json.Unmarshal([]byte(body), &parsed); err != nil {
		t.Fatal(err)
	}
	if _, ok := parsed.Imports["</script><script>alert(1)</script>"]; !ok {
		t.Errorf("name lost in escaping: %v", parsed.Imports)
	}
}

func TestCompile(t *testing.T) {
	m := newMapper(t)
	out := t.TempDir()
	if err := m.Compile(filepath.Join(out, "public"), testImportMap()); err != nil {
		t.Fatal(err)
	}
	var files []string
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "compile_files.txt", []byte(strings.Join(files, "\n")+"\n"))
	for _, a := range m.List() {
		t.Run(a.LogicalPath, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(out, "public", filepath.FromSlash(a.PublicPath)))
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != string(a.Content()) {
				t.Errorf("compiled content differs from served content")
			}
		})
	}
	for _, name := range []string{"manifest.json", "importmap.json", "importmap.html"} {
		data, err := os.ReadFile(filepath.Join(out, "public", "assets", name))
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "compile_"+name, data)
	}
}

func TestCompileErrors(t *testing.T) {
	m := newMapper(t)
	tests := []struct {
		name string
		out  func(t *testing.T) string
		im   assets.ImportMap
		want string
	}{
		{"unknown entry", func(t *testing.T) string { return t.TempDir() },
			assets.ImportMap{Entries: []assets.ImportEntry{{Name: "x", Path: "x.js"}}}, `assets: import map entry "x"`},
		{"out dir is a file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, assets.ImportMap{}, "assets: compile:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Compile(tt.out(t), tt.im)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Compile() = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestEmptyImportMap(t *testing.T) {
	m := newMapper(t, assets.Source{FS: fstest.MapFS{"a.js": file("")}})
	js, err := m.ImportMapJSON(assets.ImportMap{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != "{\n  \"imports\": {}\n}" {
		t.Errorf("ImportMapJSON(empty) = %s", js)
	}
}

// TestCompileDir: CompileDir writes into the directory served at the
// prefix: the same files as Compile, one level up.
func TestCompileDir(t *testing.T) {
	m := newMapper(t)
	viaCompile, viaDir := t.TempDir(), t.TempDir()
	if err := m.Compile(viaCompile, testImportMap()); err != nil {
		t.Fatal(err)
	}
	if err := m.CompileDir(viaDir, testImportMap()); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(viaCompile, "assets")
	err := filepath.WalkDir(want, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(viaDir, rel))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s: %v, or different content", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(viaDir, "assets")); err == nil {
		t.Error("CompileDir wrote an assets/ directory inside its directory")
	}
}
