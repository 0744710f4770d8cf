package watch_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/watch"
)

// never is a quiet window no test waits out: a change that settles while
// it is in force settled on its first event.
const never = time.Hour

// TestStylesheetLeads: a saved stylesheet is delivered on its first event
// that finds the new content, not after the quiet window; the truncation
// that starts an in-place save does not lead.
func TestStylesheetLeads(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, "app.css")
	h := start(t, dir, watch.Options{Debounce: never, MaxWait: never})

	h.write("app.css", "#box { color: red; }")
	h.expect(watch.CSSUpdate, "app.css")

	// Truncated, and only later given its content: the empty file must
	// not lead, the content must.
	p := filepath.Join(dir, "app.css")
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-h.batches:
		t.Fatalf("batch %s %q for a truncated stylesheet", b.Action, b.Files)
	case <-time.After(50 * time.Millisecond):
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("#box { color: blue; }"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h.expect(watch.CSSUpdate, "app.css")
}

// TestStylesheetSaveIsOneBatch: the events a save makes after the one that
// led are dropped, so a save is one css-update, not two.
func TestStylesheetSaveIsOneBatch(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, "app.css", "theme/dark.css")
	h := start(t, dir, watch.Options{})
	next := func() watch.Batch { // skipping a late write of the sentinel
		for {
			if b := h.next(); !slices.Equal(b.Files, []string{"sentinel.html"}) {
				return b
			}
		}
	}
	for i, f := range []string{"app.css", "theme/dark.css", "app.css", "app.css"} {
		h.write(f, fmt.Sprintf("#box { color: rgb(1, 2, %d); }", i))
		if b := next(); b.Action != watch.CSSUpdate || !slices.Equal(b.Files, []string{f}) {
			t.Fatalf("save %d: batch %s %q, want css-update [%s]", i, b.Action, b.Files, f)
		}
		h.write("sentinel.html", "s")
		if b := h.next(); !slices.Equal(b.Files, []string{"sentinel.html"}) {
			t.Fatalf("save %d: batch %s %q after the stylesheet's, want only the sentinel's", i, b.Action, b.Files)
		}
	}
}

// TestStylesheetLeadKeepsBurstWhole: a burst whose first file is a
// stylesheet costs one css-update and one reload, never two reloads.
func TestStylesheetLeadKeepsBurstWhole(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, "app.css")
	h := start(t, dir, watch.Options{})
	h.write("app.css", "#box { color: green; }")
	var files []string
	for i := range 100 {
		files = append(files, "page"+string(rune('a'+i/26))+string(rune('a'+i%26))+".html")
	}
	h.drop("pages", files...)
	if b := h.next(); b.Action != watch.CSSUpdate || !slices.Equal(b.Files, []string{"app.css"}) {
		t.Fatalf("first batch %s with %d files, want css-update [app.css]", b.Action, len(b.Files))
	}
	want := make([]string, len(files))
	for i, f := range files {
		want[i] = "pages/" + f
	}
	slices.Sort(want)
	if b := h.next(); b.Action != watch.Reload || !slices.Equal(b.Files, want) {
		t.Fatalf("second batch %s with %d files, want reload with the %d pages", b.Action, len(b.Files), len(want))
	}
}

// TestCSSWait: with CSSWait a stylesheet waits for the quiet window, so a
// page saved just after it lands in the same batch (a reload).
func TestCSSWait(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, "app.css", "index.html")
	h := start(t, dir, watch.Options{CSSWait: true, Debounce: never, MaxWait: 500 * time.Millisecond})
	h.write("app.css", "#box { color: red; }")
	h.write("index.html", "<p>new</p>")
	h.expect(watch.Reload, "app.css", "index.html")
}

// TestSourceMapsIgnored: a compiler's source map next to its stylesheet
// does not turn the css-update into a reload, and alone is no change.
func TestSourceMapsIgnored(t *testing.T) {
	eachMode(t, func(t *testing.T, poll bool) {
		dir := t.TempDir()
		h := start(t, dir, options(poll))
		h.drop("dist", "app.css", "app.css.map", "app.js.map")
		h.expect(watch.CSSUpdate, "dist/app.css")
		h.write("dist/app.css.map", "{}")
		h.write("sentinel.html", "s")
		h.expect(watch.Reload, "sentinel.html")
	})
}

// TestStylesheetWrittenInSteps: a save written in several steps close
// together (an editor writing blocks) is one early css-update and one
// with the whole file, not one per write.
func TestStylesheetWrittenInSteps(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, "app.css")
	h := start(t, dir, watch.Options{})
	f, err := os.OpenFile(filepath.Join(dir, "app.css"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	block := strings.Repeat("#box { color: red; }\n", 400) // 8 KB
	for range 4 {
		if _, err := f.WriteString(block); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // the writer's pace, not a wait for the watcher
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h.write("sentinel.html", "s")
	n := 0
	for {
		b := h.next()
		if slices.Contains(b.Files, "sentinel.html") {
			break
		}
		if b.Action != watch.CSSUpdate || !slices.Equal(b.Files, []string{"app.css"}) {
			t.Fatalf("batch %s %q, want css-update [app.css]", b.Action, b.Files)
		}
		n++
	}
	if n == 0 || n > 2 {
		t.Errorf("%d css-update batches for one save written in 4 steps, want 1 or 2", n)
	}
}
