package doccheck

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Files returns the documents Check reads that exist under root, as
// slash-separated paths relative to it: README.md, CONTRIBUTING.md,
// docs/*.md and examples/*/README.md.
func Files(root string) ([]string, error) {
	var out []string
	for _, pattern := range []string{"README.md", "CONTRIBUTING.md", "docs/*.md", "examples/*/README.md"} {
		matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pattern)))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			rel, err := filepath.Rel(root, m)
			if err != nil {
				return nil, err
			}
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out, nil
}

// Check reads the documents files (slash-separated, relative to root) and
// returns one error per problem, each starting with the document and line:
// a relative link whose file does not exist or whose anchor no heading of
// that document has (see CheckLinks), and a shell block under docs/ or
// examples/ that starts a process without saying how it is tested (see
// CheckBlocks).
func Check(root string, files []string) []error {
	docs := map[string]*Doc{}
	var errs []error
	for _, f := range files {
		d, err := load(root, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs[f] = d
	}
	errs = append(errs, CheckLinks(root, docs)...)
	errs = append(errs, CheckBlocks(root, docs)...)
	return errs
}

// load parses the document file (slash-separated, relative to root).
func load(root, file string) (*Doc, error) {
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
	if err != nil {
		return nil, err
	}
	return Parse(file, src), nil
}

// CheckLinks checks the relative links of docs (by slash-separated path
// relative to root): the file or directory named exists inside root, and
// an anchor names a heading (or an <a id>) of the Markdown file named, or a
// line (#L12, #L12-L20) of another file. Links with a scheme (https:,
// mailto:) and protocol-relative ones are not checked. A path that starts
// with "/" is relative to root, as on GitHub.
func CheckLinks(root string, docs map[string]*Doc) []error {
	var errs []error
	cache := map[string]*Doc{}
	for _, name := range sortedKeys(docs) {
		d := docs[name]
		cache[name] = d
		for _, l := range d.Links {
			if err := checkLink(root, d, l, cache); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: link %s: %w", d.Path, l.Line, l.Target, err))
			}
		}
	}
	return errs
}

// scheme matches the scheme of an absolute URL.
var scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// lineAnchor matches GitHub's anchors of lines of a file: L12 or L12-L20.
var lineAnchor = regexp.MustCompile(`^L(\d+)(?:-L(\d+))?$`)

func checkLink(root string, d *Doc, l Link, cache map[string]*Doc) error {
	t := l.Target
	if scheme.MatchString(t) || strings.HasPrefix(t, "//") {
		return nil
	}
	p, anchor, _ := strings.Cut(t, "#")
	p, _, _ = strings.Cut(p, "?")
	p, err := url.PathUnescape(p)
	if err != nil {
		return fmt.Errorf("bad escape in the path: %v", err)
	}
	target := d.Path
	switch {
	case p == "":
	case strings.HasPrefix(p, "/"):
		target = path.Clean(strings.TrimPrefix(p, "/"))
	default:
		target = path.Join(path.Dir(d.Path), p)
	}
	if target == ".." || strings.HasPrefix(target, "../") {
		return fmt.Errorf("leaves the repository")
	}
	info, err := os.Stat(filepath.Join(root, filepath.FromSlash(target)))
	if err != nil {
		return fmt.Errorf("%s does not exist", target)
	}
	if anchor == "" {
		return nil
	}
	if info.IsDir() {
		return fmt.Errorf("an anchor on a directory (%s)", target)
	}
	if !strings.HasSuffix(target, ".md") {
		m := lineAnchor.FindStringSubmatch(anchor)
		if m == nil {
			return fmt.Errorf("#%s: %s is not Markdown; only line anchors (#L12) can point into it", anchor, target)
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(target)))
		if err != nil {
			return err
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, g := range m[1:] {
			if n, _ := strconv.Atoi(g); n > lines {
				return fmt.Errorf("#%s: %s has %d lines", anchor, target, lines)
			}
		}
		return nil
	}
	doc := cache[target]
	if doc == nil {
		doc, err = load(root, target)
		if err != nil {
			return err
		}
		cache[target] = doc
	}
	if !doc.HasAnchor(anchor) {
		return fmt.Errorf("#%s: no heading of %s has that anchor%s", anchor, target, closestAnchor(doc, anchor))
	}
	return nil
}

// closestAnchor suggests the anchor of doc meant by a, as "; did you mean
// #x?", or "".
func closestAnchor(doc *Doc, a string) string {
	best, bestScore := "", 0
	for _, h := range doc.Headings {
		score := commonPrefix(h.Anchor, strings.ToLower(a))
		if score > bestScore {
			best, bestScore = h.Anchor, score
		}
	}
	if bestScore < 3 {
		return ""
	}
	return "; did you mean #" + best + "?"
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// shellLangs are the info strings of shell blocks.
var shellLangs = map[string]bool{
	"bash": true, "sh": true, "shell": true, "console": true, "zsh": true, "fish": true,
	"powershell": true, "pwsh": true, "ps1": true, "bat": true, "cmd": true,
}

// IsShell reports whether the block is a shell block.
func (b Block) IsShell() bool { return shellLangs[b.Lang] }

// CheckBlocks checks the code blocks of the documents. In README.md and
// the documents under docs/ and examples/, each shell block that starts a
// process (see StartsProcess) must be marked "illustrative" or "tested by
// TestName". A block of any language marked "tested by TestName" names a
// test function of a _test.go file under root that names the document
// (its path relative to root), since that test reads the block. Any other
// comment right before a shell block is an error wherever it is: it is
// taken for a mistyped marker.
func CheckBlocks(root string, docs map[string]*Doc) []error {
	var errs []error
	var tests map[string]string // test name -> source of its file
	for _, name := range sortedKeys(docs) {
		d := docs[name]
		strict := name == "README.md" || strings.HasPrefix(name, "docs/") || strings.HasPrefix(name, "examples/")
		for _, b := range d.Blocks {
			test, tested := b.TestedBy()
			if !b.IsShell() && !tested {
				continue
			}
			at := fmt.Sprintf("%s:%d", d.Path, b.Line)
			switch {
			case tested:
				if tests == nil {
					var err error
					if tests, err = testFunctions(root); err != nil {
						return append(errs, err)
					}
				}
				src, ok := tests[test]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("%s: marked tested by %s, but no _test.go file defines that test", at, test))
				case !strings.Contains(src, name):
					errs = append(errs, fmt.Errorf("%s: marked tested by %s, but that test's file never names %s, so it cannot be reading this block", at, test, name))
				}
			case b.Illustrative():
			case b.Marker != "":
				errs = append(errs, fmt.Errorf("%s: unknown marker <!-- %s -->; write <!-- illustrative --> or <!-- tested by TestName -->", at, b.Marker))
			case strict:
				if line, starts := StartsProcess(b); starts {
					errs = append(errs, fmt.Errorf("%s: %q starts a process, but the block does not say how it is tested: put <!-- tested by TestName --> (a test that runs it) or <!-- illustrative --> on the line before the fence (see CONTRIBUTING.md)", at, line))
				}
			}
		}
	}
	return errs
}

// testFuncRE matches the declaration of a test function.
var testFuncRE = regexp.MustCompile(`(?m)^func (Test\w+)\(`)

// testFunctions maps the name of every test function in the _test.go files
// under root to the source of its file. node_modules and testdata are
// skipped.
func testFunctions(root string) (map[string]string, error) {
	tests := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range testFuncRE.FindAllSubmatch(src, -1) {
			tests[string(m[1])] = string(src)
		}
		return nil
	})
	return tests, err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
