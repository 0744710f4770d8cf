package doccheck_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/doccheck"
)

func TestSlug(t *testing.T) {
	// Headings of this repository and others, with the anchors GitHub
	// gives them.
	tests := []struct{ heading, want string }{
		{"`serve --watch`: reload on save", "serve---watch-reload-on-save"},
		{"`dev`: live reload in front of any app", "dev-live-reload-in-front-of-any-app"},
		{"Template functions (html/template)", "template-functions-htmltemplate"},
		{"Injecting into existing pages (`tmpl.Inject`)", "injecting-into-existing-pages-tmplinject"},
		{"From `go install` to a running service", "from-go-install-to-a-running-service"},
		{"Using valksor-sse as a Mercure hub", "using-valksor-sse-as-a-mercure-hub"},
		{"ping_interval", "ping_interval"},
		{"**Bold** and *em*", "bold-and-em"},
		{"A [link](docs/x.md) inside", "a-link-inside"},
		{"Café & crème", "café--crème"},
		{"What's new in 1.2?", "whats-new-in-12"},
		{"<code>x</code> tag", "x-tag"},
	}
	for _, tt := range tests {
		d := doccheck.Parse("x.md", []byte("# "+tt.heading+"\n"))
		if len(d.Headings) != 1 || d.Headings[0].Anchor != tt.want {
			t.Errorf("# %s: headings %+v, want the anchor %q", tt.heading, d.Headings, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	src := "# Title\n" +
		"Intro with [a link](docs/a.md#part) and `[not a link](x.md)`.\n" +
		"\n" +
		"## Flags\n" +
		"<!-- illustrative -->\n" +
		"\n" +
		"```bash\n" +
		"# not a heading\n" +
		"valksor-sse serve   # [nor](a link)\n" +
		"```\n" +
		"\n" +
		"## Flags\n" +
		"- item\n" +
		"  ```sh\n" +
		"  echo indented\n" +
		"  ```\n" +
		"<a id=\"custom\"></a>\n" +
		"![shot](img/a.png) <img src=\"img/b.png\"> [ref]: ../c.md\n" +
		"[ref]: <d (1).md>\n" +
		"<!-- tested by TestX -->\n" +
		"text between\n" +
		"~~~console\n" +
		"$ valksor-sse status\n" +
		"running\n" +
		"~~~\n"
	d := doccheck.Parse("doc.md", []byte(src))

	var anchors []string
	for _, h := range d.Headings {
		anchors = append(anchors, h.Anchor)
	}
	if want := []string{"title", "flags", "flags-1"}; !reflect.DeepEqual(anchors, want) {
		t.Errorf("anchors %q, want %q", anchors, want)
	}
	for _, a := range []string{"title", "Flags-1", "custom"} {
		if !d.HasAnchor(a) {
			t.Errorf("no anchor %q", a)
		}
	}
	if d.HasAnchor("not-a-heading") {
		t.Error("a comment in a code block was taken for a heading")
	}

	var links []string
	for _, l := range d.Links {
		links = append(links, l.Target)
	}
	if want := []string{"docs/a.md#part", "img/a.png", "img/b.png", "d (1).md"}; !reflect.DeepEqual(links, want) {
		t.Errorf("links %q, want %q", links, want)
	}

	if len(d.Blocks) != 3 {
		t.Fatalf("%d blocks, want 3: %+v", len(d.Blocks), d.Blocks)
	}
	b := d.Blocks[0]
	if b.Lang != "bash" || b.Marker != "illustrative" || !b.Illustrative() || b.Line != 7 {
		t.Errorf("block 1: %+v", b)
	}
	if got := b.Commands(); !reflect.DeepEqual(got, []string{"valksor-sse serve"}) {
		t.Errorf("block 1 commands %q", got)
	}
	if b := d.Blocks[1]; b.Text != "echo indented\n" || b.Marker != "" {
		t.Errorf("block 2: %+v", b)
	}
	// A marker followed by text is not the block's.
	if b := d.Blocks[2]; b.Marker != "" || !reflect.DeepEqual(b.Commands(), []string{"valksor-sse status"}) {
		t.Errorf("block 3: %+v, commands %q", b, b.Commands())
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{`valksor-sse dev --proxy http://localhost:8000 --cmd "python3 app.py --port 8000" --restart '*.py'`,
			[]string{"valksor-sse", "dev", "--proxy", "http://localhost:8000", "--cmd", "python3 app.py --port 8000", "--restart", "*.py"}},
		{`curl -d 'data={"a":1}' "x\"y" a\ b # comment`, []string{"curl", "-d", `data={"a":1}`, `x"y`, "a b"}},
		{`python3 -m http.server 8000 & valksor-sse&&echo ok;x||y|z`,
			[]string{"python3", "-m", "http.server", "8000", "&", "valksor-sse", "&&", "echo", "ok", ";", "x", "||", "y", "|", "z"}},
		{`a#b "#c"`, []string{"a#b", "#c"}},
	}
	for _, tt := range tests {
		got, err := doccheck.Words(tt.line)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Words(%s) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
	for _, bad := range []string{`echo 'open`, `echo "open`} {
		if _, err := doccheck.Words(bad); err == nil {
			t.Errorf("Words(%s): no error", bad)
		}
	}
}

func TestStartsProcess(t *testing.T) {
	tests := []struct {
		block string
		want  bool
	}{
		{"valksor-sse\n", true},
		{"valksor-sse --port 8080 --watch templates\n", true},
		{"valksor-sse dev --proxy http://localhost:8000\n", true},
		{"VALKSOR_SSE_PORT=9000 valksor-sse serve\n", true},
		{"go run ./cmd/valksor-sse --port 0\n", true},
		{"go run ./cmd/valksor-sse publish reload\n", false},
		{"go run ./examples/app\n", true},
		{"go run ./scripts/release -dry-run\n", false},
		{"valksor-sse tail --json | jq .data\n", true},
		{"valksor-sse publish reload --port 3000\n", false},
		{"valksor-sse --port 8080 publish reload\n", false},
		{"valksor-sse help serve\nvalksor-sse serve --help\n", false},
		{"python3 -m http.server 8000 --directory public\n", true},
		{"python3 app.py\n", true},
		{"python3 -c 'print(1)'\n", false},
		{"some-daemon --flag &\n", true},
		{"curl -N localhost:8080/sse\n", true},
		{"curl -s localhost:8080/sse/healthz\n", false},
		{"cd x && redis-server --port 6380\n", true},
		{"sudo systemctl enable --now valksor-sse\n", true},
		{"# valksor-sse serve\necho done\n", false},
		{"go test ./...\ngo install ./cmd/valksor-sse\n", false},
	}
	for _, tt := range tests {
		b := doccheck.Block{Lang: "bash", Text: tt.block}
		if _, got := doccheck.StartsProcess(b); got != tt.want {
			t.Errorf("StartsProcess(%q) = %v, want %v", tt.block, got, tt.want)
		}
	}
	if _, got := doccheck.StartsProcess(doccheck.Block{Lang: "yaml", Text: "valksor-sse\n"}); got {
		t.Error("a YAML block starts a process")
	}
}

// TestCheck runs Check over a small repository with one problem of each
// kind, and checks each is reported once, where it is.
func TestCheck(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Project\n\n"+
		"[guide](docs/guide.md#running-it) [bad anchor](docs/guide.md#runing-it) [gone](docs/gone.md)\n"+
		"[self](#project) [code](main.go#L2) [far](main.go#L9) [dir](docs) [web](https://example.com/x.md#y)\n"+
		"[up](../outside.md)\n\n"+
		"```bash\nvalksor-sse serve\n```\n\n"+
		"<!-- tested by TestGuide -->\n```go\nhub, err := sse.New()\n```\n\n"+
		"<!-- tested by TestElsewhere -->\n```go\nhub, err := sse.New()\n```\n\n"+
		"<!-- any comment -->\n```yaml\nport: 8080\n```\n")
	write("CONTRIBUTING.md", "# Contributing\n\n```bash\nvalksor-sse serve\n```\n")
	write("docs/guide.md", "# Guide\n\n## Running it\n\n"+
		"```bash\nvalksor-sse --port 8080\n```\n\n"+
		"<!-- illustrative -->\n```bash\nvalksor-sse dev --proxy http://localhost:8000\n```\n\n"+
		"<!-- tested by TestGuide -->\n```bash\nvalksor-sse\n```\n\n"+
		"<!-- tested by TestMissing -->\n```bash\nvalksor-sse\n```\n\n"+
		"<!-- tested by TestElsewhere -->\n```bash\nvalksor-sse\n```\n\n"+
		"<!-- ilustrative -->\n```bash\nvalksor-sse\n```\n\n"+
		"<!-- illustrative: the flags -->\n```bash\nvalksor-sse\n```\n\n"+
		"```bash\nvalksor-sse publish reload\n```\n")
	write("main.go", "package main\n\nfunc main() {}\n")
	write("guide_test.go", "package main\n\n// Runs docs/guide.md and compiles README.md.\nfunc TestGuide(t *testing.T) {}\n")
	write("other_test.go", "package main\n\nfunc TestElsewhere(t *testing.T) {}\n")

	files, err := doccheck.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README.md", "CONTRIBUTING.md", "docs/guide.md"}; !reflect.DeepEqual(files, want) {
		t.Fatalf("Files = %q, want %q", files, want)
	}
	var got []string
	for _, err := range doccheck.Check(root, files) {
		got = append(got, err.Error())
	}
	want := []string{
		"README.md:3: link docs/guide.md#runing-it: #runing-it: no heading of docs/guide.md has that anchor; did you mean #running-it?",
		"README.md:3: link docs/gone.md: docs/gone.md does not exist",
		"README.md:4: link main.go#L9: #L9: main.go has 4 lines",
		"README.md:5: link ../outside.md: leaves the repository",
		"README.md:7: \"valksor-sse serve\" starts a process, but the block does not say how it is tested",
		"README.md:17: marked tested by TestElsewhere, but that test's file never names README.md",
		"docs/guide.md:5: \"valksor-sse --port 8080\" starts a process, but the block does not say how it is tested",
		"docs/guide.md:20: marked tested by TestMissing, but no _test.go file defines that test",
		"docs/guide.md:25: marked tested by TestElsewhere, but that test's file never names docs/guide.md",
		"docs/guide.md:30: unknown marker <!-- ilustrative -->",
		"docs/guide.md:35: unknown marker <!-- illustrative: the flags -->",
	}
	if len(got) != len(want) {
		t.Fatalf("Check found %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s...", i+1, got[i], want[i])
		}
	}
}
