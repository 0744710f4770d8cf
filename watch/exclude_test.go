package watch_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/valksor/go-sse/watch"
)

// appendTo appends a line to the file at p, as a logger does.
func appendTo(t *testing.T, p, line string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestExcludeFiles: a file named in ExcludeFiles never makes a batch,
// whatever its name, however it changes and whichever path (through a
// symbolic link) named it; its neighbours still do.
func TestExcludeFiles(t *testing.T) {
	eachMode(t, func(t *testing.T, poll bool) {
		dir := t.TempDir()
		tree(t, dir, "server.out", "page.html", "sub/other.txt")
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(dir, link); err != nil {
			t.Skip("no symbolic links:", err)
		}
		o := options(poll)
		o.ExcludeFiles = []string{
			filepath.Join(dir, "server.out"),
			filepath.Join(link, "sub", "other.txt"), // through the link
			filepath.Join(dir, "later.txt"),         // not there yet
		}
		h := start(t, dir, o)

		for i := range 20 {
			appendTo(t, filepath.Join(dir, "server.out"), fmt.Sprintf(`msg="files changed" n=%d`, i))
		}
		h.write("sub/other.txt", "rewritten")
		h.write("later.txt", "created after New")
		h.write("page.html", "sentinel")
		h.expect(watch.Reload, "page.html")

		// Removed and created again: still excluded.
		for _, f := range []string{"server.out", "later.txt"} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
			h.write(f, "again")
		}
		h.write("sentinel.html", "s")
		h.expect(watch.Reload, "sentinel.html")
	})
}

// TestExcludeSingleFileRoot: a single-file root that is excluded is not
// reported either; ExcludeFiles wins.
func TestExcludeSingleFileRoot(t *testing.T) {
	eachMode(t, func(t *testing.T, poll bool) {
		dir := t.TempDir()
		tree(t, dir, "own.out", "index.html")
		o := options(poll)
		o.Paths = []string{filepath.Join(dir, "own.out"), filepath.Join(dir, "index.html")}
		o.ExcludeFiles = []string{filepath.Join(dir, "own.out")}
		h := start(t, dir, o)
		appendTo(t, filepath.Join(dir, "own.out"), "a log line")
		h.write("index.html", "sentinel")
		h.expect(watch.Reload, "index.html")
	})
}

func TestExcludeFilesRejected(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, file, says string
	}{
		{"empty", "", "empty path in ExcludeFiles"},
		{"relative", "sse.log", `"sse.log" is not an absolute path`},
		{"directory", dir, "is a directory"},
	} {
		w, err := watch.New(watch.Options{Paths: []string{dir}, ExcludeFiles: []string{c.file}})
		if err == nil {
			w.Close()
			t.Errorf("%s: New succeeded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %q, want it to say %q", c.name, err, c.says)
		}
	}
}

// TestDefaultIgnoreAppFiles: what apps write into their own tree while
// they run (logs, SQLite databases and journals, Python bytecode) makes no
// batch, while sources next to them, and directories whose names only
// resemble those files, still do.
func TestDefaultIgnoreAppFiles(t *testing.T) {
	eachMode(t, func(t *testing.T, poll bool) {
		dir := t.TempDir()
		tree(t, dir, "app.log", "db.sqlite3", "__pycache__/views.cpython-312.pyc", "views.py")
		h := start(t, dir, options(poll))

		for _, f := range []string{
			"app.log", "storage/logs/laravel.log", "npm-debug.log",
			"db.sqlite3", "db.sqlite3-journal", "db.sqlite3-wal", "db.sqlite3-shm",
			"database/database.sqlite", "database/database.sqlite-journal",
			"data.db", "data.db-wal", "data.db-shm", "data.db-journal",
			"__pycache__/views.cpython-312.pyc", "pkg/__pycache__/x.cpython-312.pyc",
			"legacy/mod.pyc",
		} {
			h.write(f, "noise")
		}
		// The sentinel is written last: a batch for anything above would
		// come before it or with it.
		h.write("views.py", "sentinel")
		h.expect(watch.Reload, "views.py")

		// Only SQLite's own journals are skipped, not every "*-journal".
		h.write("travel-journal/index.html", "<h1>day one</h1>")
		h.expect(watch.Reload, "travel-journal/index.html")
	})
}

func TestDefaultIgnoreLists(t *testing.T) {
	ig := watch.DefaultIgnore()
	for _, want := range []string{
		"*.log", "*.sqlite", "*.sqlite3", "*.db",
		"*.sqlite3-journal", "*.sqlite3-wal", "*.sqlite3-shm",
		"__pycache__", "*.pyc",
	} {
		if !slices.Contains(ig, want) {
			t.Errorf("DefaultIgnore lacks %q", want)
		}
	}
	for _, broad := range []string{"*-journal", "*-wal", "*-shm"} {
		if slices.Contains(ig, broad) {
			t.Errorf("DefaultIgnore holds %q, which also skips directories of pages", broad)
		}
	}
}
