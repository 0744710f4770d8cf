package main_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/golden"
)

// regenerateReference is the command that rewrites the generated parts of
// docs/cli.md and docs/config.md.
const regenerateReference = "go test ./cmd/valksor-sse -run Reference -update"

// commandLine matches a command of the top-level help: "  valksor-sse NAME ...".
var commandLine = regexp.MustCompile(`(?m)^  valksor-sse ([a-z]+)\b`)

// TestCLIReference keeps docs/cli.md the binary's own help: the text
// between its generated markers is `valksor-sse help` and `valksor-sse help
// COMMAND` for every command the help lists, each under a heading with the
// command's name.
func TestCLIReference(t *testing.T) {
	dir := t.TempDir()
	top, stderr, code := run(t, dir, "help")
	if code != 0 {
		t.Fatalf("valksor-sse help: exit %d\n%s", code, stderr)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## valksor-sse\n\n```text\n%s```\n", top)
	names := commandLine.FindAllStringSubmatch(top, -1)
	if len(names) < 10 {
		t.Fatalf("found %d commands in the help:\n%s", len(names), top)
	}
	for _, m := range names {
		name := m[1]
		if name == "help" {
			continue // the help above
		}
		out, stderr, code := run(t, dir, "help", name)
		if code != 0 || !strings.HasPrefix(out, "Usage: valksor-sse ") {
			t.Fatalf("valksor-sse help %s: exit %d\n%s%s", name, code, out, stderr)
		}
		fmt.Fprintf(&b, "\n## %s\n\n```text\n%s```\n", name, out)
	}
	golden.CheckSection(t, "../../docs/cli.md", []byte(b.String()), regenerateReference)
}

// TestConfigReference keeps docs/config.md the key table of the config
// loader: the text between its generated markers lists every key
// (config.Keys) with its environment variable, type, default and meaning,
// the keys of each block (watch, dev, auth...) under a heading of their own.
func TestConfigReference(t *testing.T) {
	keys := config.Keys()
	var order []string
	groups := map[string][]config.Key{}
	for _, k := range keys {
		block, _, nested := strings.Cut(k.Name, ".")
		if !nested {
			block = ""
		}
		if _, ok := groups[block]; !ok {
			order = append(order, block)
		}
		groups[block] = append(groups[block], k)
	}
	var b strings.Builder
	for i, block := range order {
		if i > 0 {
			b.WriteString("\n")
		}
		if block == "" {
			b.WriteString("### Top-level keys\n\n")
		} else {
			fmt.Fprintf(&b, "### `%s.*`\n\n", block)
		}
		b.WriteString("| Key | Environment | Type | Default | Meaning |\n|---|---|---|---|---|\n")
		for _, k := range groups[block] {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | `%s` | %s |\n", k.Name, k.Env, k.Type, k.Default, k.Doc)
		}
	}
	if n := strings.Count(b.String(), "\n| `"); n != len(keys) {
		t.Fatalf("%d rows for %d keys", n, len(keys))
	}
	golden.CheckSection(t, "../../docs/config.md", []byte(b.String()), regenerateReference)
}
