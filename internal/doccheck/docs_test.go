package doccheck_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/valksor/go-sse/internal/doccheck"
)

// TestDocuments checks the project's own documents (README.md,
// CONTRIBUTING.md, docs/*.md, examples/*/README.md): every relative link
// and anchor resolves, and every shell block under docs/ and examples/
// that starts a process is marked as tested (by a test that reads it) or
// as illustrative. See CONTRIBUTING.md.
func TestDocuments(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := doccheck.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"README.md", "docs/architecture.md"} {
		if !slices.Contains(files, want) {
			t.Fatalf("the documents checked, %q, lack %s", files, want)
		}
	}
	for _, err := range doccheck.Check(root, files) {
		t.Error(err)
	}
}
