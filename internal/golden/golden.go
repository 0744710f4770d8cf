// Package golden compares test output with files under testdata/, for the
// project's tests. Run a package's tests with -update to rewrite the files
// from the current output.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Check compares got with testdata/name, rewriting the file under -update.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s mismatch (run go test -update to accept)\n--- got ---\n%s\n--- want ---\n%s", file, got, want)
	}
}

// Section markers: CheckSection compares the lines between them. The
// begin marker is a line that starts with SectionBegin (the rest of the
// comment says where the text comes from); the end marker is the line
// SectionEnd.
const (
	SectionBegin = "<!-- BEGIN GENERATED"
	SectionEnd   = "<!-- END GENERATED -->"
)

// CheckSection compares got with the generated section of file (a
// document whose other text is written by hand): the lines between its
// SectionBegin and SectionEnd lines. Under -update it rewrites the
// section. On a difference the test fails with the first line that
// differs and regenerate, the command that rewrites the section.
func CheckSection(t testing.TB, file string, got []byte, regenerate string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	begin := strings.Index(text, "\n"+SectionBegin)
	if begin < 0 {
		t.Fatalf("%s has no line starting with %q: put one, and a line %q, where the generated text goes, then run %s", file, SectionBegin, SectionEnd, regenerate)
	}
	begin += 1 + strings.IndexByte(text[begin+1:], '\n') + 1 // the line after the marker
	end := strings.Index(text[begin:], SectionEnd+"\n")
	if end < 0 || (end > 0 && text[begin+end-1] != '\n') {
		t.Fatalf("%s has no line %q after its %q line", file, SectionEnd, SectionBegin)
	}
	end += begin
	if *update {
		out := text[:begin] + string(got) + text[end:]
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := text[begin:end]; want != string(got) {
		t.Errorf("%s is out of date; regenerate it with: %s\n%s", file, regenerate, firstDifference(string(got), want))
	}
}

// firstDifference describes the first line where got and want differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("first difference, line %d of the generated text:\n  generated: %q\n  in the file: %q", i+1, gl, wl)
		}
	}
	return ""
}
