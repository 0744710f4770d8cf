package doccheck_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/doccheck"
)

// goSnippetDocs are the documents whose Go blocks marked "tested by
// TestGoSnippets" the test compiles.
var goSnippetDocs = []string{
	"README.md",
	"docs/go-library.md",
	"docs/browser.md",
	"docs/dashboard.md",
	"docs/mercure.md",
}

// snippetImports are the packages a snippet may use without importing
// them, by the name it uses.
var snippetImports = map[string]string{
	"sse":       `sse "github.com/valksor/go-sse"`,
	"assets":    `"github.com/valksor/go-sse/assets"`,
	"client":    `"github.com/valksor/go-sse/client"`,
	"dashboard": `"github.com/valksor/go-sse/dashboard"`,
	"dev":       `"github.com/valksor/go-sse/dev"`,
	"jwt":       `"github.com/valksor/go-sse/jwt"`,
	"mercure":   `"github.com/valksor/go-sse/mercure"`,
	"metrics":   `"github.com/valksor/go-sse/metrics"`,
	"ratelimit": `"github.com/valksor/go-sse/ratelimit"`,
	"redis":     `"github.com/valksor/go-sse/redis"`,
	"server":    `"github.com/valksor/go-sse/server"`,
	"ssetest":   `"github.com/valksor/go-sse/ssetest"`,
	"tmpl":      `"github.com/valksor/go-sse/tmpl"`,
	"watch":     `"github.com/valksor/go-sse/watch"`,
	"web":       `"github.com/valksor/go-sse/web"`,
	"atomic":    `"sync/atomic"`,
	"errors":    `"errors"`,
	"fmt":       `"fmt"`,
	"json":      `"encoding/json"`,
	"log":       `"log"`,
	"os":        `"os"`,
	"slog":      `"log/slog"`,
	"strings":   `"strings"`,
	"template":  `"html/template"`,
	"testing":   `"testing"`,
	"time":      `"time"`,
	"url":       `"net/url"`,
}

// snippetScope declares what a snippet may use without declaring it: a
// context, the app's mux, a publish token and a subscriber's JWT.
const snippetScope = `var (
	ctx             = context.Background()
	mux             = http.NewServeMux()
	token           = "a-publish-token"
	subscriberToken = "a-subscriber-token"
)
`

// TestGoSnippets compiles the Go blocks of the documents marked "tested by
// TestGoSnippets" against the code of this repository, with go vet, so that
// a snippet that no longer matches the API fails here rather than in a
// reader's editor. A block that is a whole file (it starts with "package")
// is compiled as it is. Any other block is a fragment: it becomes the body
// of main, or, when it declares functions or types, the file's
// declarations; the packages it uses are imported for it (see
// snippetImports), and ctx, mux, token and subscriberToken are declared
// (see snippetScope).
func TestGoSnippets(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The snippets' module requires what this repository's does, so that
	// its module graph is pruned the same way: with only the replaced
	// requirement, go would read the go.mod of every version any
	// dependency names, which a fresh module cache does not hold
	// (and GOPROXY=off cannot fetch).
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	_, reqs, ok := strings.Cut(string(rootMod), "\nrequire")
	if !ok {
		t.Fatalf("%s/go.mod has no require directive", root)
	}
	gomod := "module snippets\n\ngo 1.26.0\n\nrequire github.com/valksor/go-sse v0.0.0\n\nreplace github.com/valksor/go-sse => " + root + "\n\nrequire" + reqs
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}

	type origin struct {
		doc    string
		line   int // of the block's first line of code
		offset int // lines of the file before the block's first line
	}
	origins := map[string]origin{}
	for _, doc := range goSnippetDocs {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(doc)))
		if err != nil {
			t.Fatal(err)
		}
		blocks := doccheck.Parse(doc, src).BlocksTestedBy("TestGoSnippets")
		if len(blocks) == 0 {
			t.Errorf("%s has no Go block marked <!-- tested by TestGoSnippets -->", doc)
		}
		for _, b := range blocks {
			if b.Lang != "go" {
				t.Errorf("%s:%d: a %q block is marked tested by TestGoSnippets, which compiles Go", doc, b.Line, b.Lang)
				continue
			}
			file, offset, err := snippetFile(b.Text)
			if err != nil {
				t.Errorf("%s:%d: %v", doc, b.Line, err)
				continue
			}
			pkg := fmt.Sprintf("s%02d", len(origins)+1)
			if err := os.MkdirAll(filepath.Join(dir, pkg), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, pkg, "main.go"), []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			origins[pkg] = origin{doc: doc, line: b.Line + 1, offset: offset}
		}
	}

	cmd := exec.Command(goTool, "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	// Point each message at the document's line.
	where := regexp.MustCompile(`(?:\./)?(s\d\d)/main\.go:(\d+)(?::\d+)?`)
	msg := where.ReplaceAllStringFunc(string(out), func(m string) string {
		sub := where.FindStringSubmatch(m)
		o, ok := origins[sub[1]]
		if !ok {
			return m
		}
		n, _ := strconv.Atoi(sub[2])
		return fmt.Sprintf("%s:%d", o.doc, o.line+n-1-o.offset)
	})
	t.Fatalf("the documents' Go snippets do not compile (go vet: %v):\n%s", err, msg)
}

// snippetFile returns a Go source file for a snippet, and how many of its
// lines come before the snippet's first.
func snippetFile(text string) (string, int, error) {
	if strings.HasPrefix(text, "package ") {
		return text, 0, nil
	}
	topLevel := regexp.MustCompile(`(?m)^(func|type) `).MatchString(text)
	var body string
	if topLevel {
		body = text + "\nfunc main() {}\n"
	} else {
		body = "func main() {\n" + text + "}\n"
	}
	// Parse without imports to find the packages the snippet names.
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", "package main\n\n"+snippetScope+"\n"+body, 0)
	if err != nil {
		return "", 0, fmt.Errorf("not Go: %v", err)
	}
	imports := []string{`"context"`, `"net/http"`}
	for _, id := range f.Unresolved {
		if p, ok := snippetImports[id.Name]; ok && !slices.Contains(imports, p) {
			imports = append(imports, p)
		}
	}
	slices.Sort(imports)
	head := "package main\n\nimport (\n\t" + strings.Join(imports, "\n\t") + "\n)\n\n" + snippetScope + "\n"
	offset := strings.Count(head, "\n")
	if !topLevel {
		offset++ // func main() {
	}
	return head + body, offset, nil
}
