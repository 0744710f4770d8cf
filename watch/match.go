package watch

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// defaultIgnore holds the globs every Watcher skips on top of
// Options.Ignore: version-control and dependency directories, the swap,
// backup, lock and temporary files that editors write next to the file being
// saved, and the files a running app writes into its own tree (logs,
// databases, bytecode). A file of the last kind changes on every request
// or every log line, so watching it makes each reload cause the next.
//
// Every glob here applies to directories as well as files, and a name
// glob skips everything below a directory it matches, so each must name
// only things nobody edits as a source of a web page. Where a broader
// glob would also catch such things, the narrower one is used. A file
// named by its own watch path (a single-file root) is never ignored, so
// "--watch db.sqlite3" still works.
var defaultIgnore = []string{
	// Version control, dependencies, caches and IDE state.
	".git", ".hg", ".svn", ".bzr", ".jj", "_darcs",
	"node_modules", "vendor", "var",
	".idea", ".vscode",
	// Vim: swap files, backups, and the "4913" probe it writes to test
	// whether a directory is writable.
	"*.swp", "*.swo", "*.swx", "*.swpx", "*~", "4913",
	// Emacs lock and auto-save files.
	".#*", "#*#",
	// JetBrains "safe write" (file.___jb_tmp___, file.___jb_old___).
	"*___jb_*___",
	// Generic temporaries and backups, gedit, Kate, Chrome, LibreOffice.
	"*.tmp", "*.bak", ".goutputstream-*", "*.kate-swp", "*.crswap", ".~lock.*#",
	// Operating system litter.
	".DS_Store", "Thumbs.db",
	// Logs: Laravel's storage/logs/*.log, npm-debug.log, and the log of
	// this very server when its output is redirected into the watched
	// tree. Pages are not written in files named *.log.
	"*.log",
	// SQLite and other embedded databases, written on every request that
	// touches data (Django's db.sqlite3, Laravel's database.sqlite,
	// Rails' development.sqlite3, BoltDB and similar *.db files). Their
	// content is data, edited through the app, not a page source.
	"*.sqlite", "*.sqlite3", "*.db",
	// SQLite's rollback journal and its write-ahead log and shared-memory
	// index, written next to the database as "NAME-journal", "NAME-wal"
	// and "NAME-shm". Only those of the database names above are listed:
	// "*-journal" alone would also skip a content directory such as
	// "travel-journal" and all the pages in it.
	"*.sqlite-journal", "*.sqlite3-journal", "*.db-journal",
	"*.sqlite-wal", "*.sqlite3-wal", "*.db-wal",
	"*.sqlite-shm", "*.sqlite3-shm", "*.db-shm",
	// Python bytecode, rewritten whenever a module is imported after a
	// change; the .py source is the file that matters.
	"__pycache__", "*.pyc",
}

// defaultDebounceFor holds the per-extension quiet windows applied unless
// Options.DebounceFor overrides them.
var defaultDebounceFor = map[string]time.Duration{
	".go": 100 * time.Millisecond,
}

// glob is a compiled pattern. A pattern without a slash is a name pattern:
// it is matched against single path elements. A pattern with a slash (or a
// leading "/", which anchors it to the root) is matched against the
// slash-separated path relative to the root, element by element, where "**"
// stands for any number of elements.
type glob struct {
	segs  []string
	named bool // true for a name pattern (no slash)

	// A name pattern that is a plain name, "*suffix" or "prefix*" is
	// matched without path.Match: the ignore globs are tried on every path
	// element a scan meets, so this is polling's hot path.
	kind nameKind
	lit  string
}

type nameKind int

const (
	nameGlob nameKind = iota
	nameLiteral
	nameSuffix
	namePrefix
)

func compileGlob(pattern string) (glob, error) {
	p := strings.Trim(pattern, "/")
	if p == "" {
		return glob{}, fmt.Errorf("watch: empty pattern %q", pattern)
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return glob{}, fmt.Errorf("watch: bad pattern %q: %w", pattern, err)
		}
	}
	g := glob{segs: segs, named: len(segs) == 1 && !strings.HasPrefix(pattern, "/")}
	const meta = `*?[\`
	s := segs[0]
	switch {
	case !g.named:
	case !strings.ContainsAny(s, meta):
		g.kind, g.lit = nameLiteral, s
	case strings.HasPrefix(s, "*") && !strings.ContainsAny(s[1:], meta):
		g.kind, g.lit = nameSuffix, s[1:]
	case strings.HasSuffix(s, "*") && !strings.ContainsAny(s[:len(s)-1], meta):
		g.kind, g.lit = namePrefix, s[:len(s)-1]
	}
	return g, nil
}

// matchName matches a name pattern against one path element.
func (g glob) matchName(s string) bool {
	switch g.kind {
	case nameLiteral:
		return s == g.lit
	case nameSuffix:
		return strings.HasSuffix(s, g.lit)
	case namePrefix:
		return strings.HasPrefix(s, g.lit)
	}
	ok, _ := path.Match(g.segs[0], s)
	return ok
}

// matchSegs reports whether the pattern elements match all of the name
// elements.
func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchSegs(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// coversTree reports whether g excludes the path made of segs: a name
// pattern excludes a path when any of its elements matches, a path pattern
// when the path or one of its ancestors matches.
func (g glob) coversTree(segs []string) bool {
	if g.named {
		for _, s := range segs {
			if g.matchName(s) {
				return true
			}
		}
		return false
	}
	for k := 1; k <= len(segs); k++ {
		if matchSegs(g.segs, segs[:k]) {
			return true
		}
	}
	return false
}

// matchesFile reports whether g selects the file: a name pattern is
// matched against the base name, a path pattern against the whole relative
// path.
func (g glob) matchesFile(segs []string) bool {
	if g.named {
		return g.matchName(segs[len(segs)-1])
	}
	return matchSegs(g.segs, segs)
}

type rule struct {
	g      glob
	action Action
}

// ignored reports whether rel, a slash-separated path relative to a root,
// is excluded by the ignore globs.
func (w *Watcher) ignored(rel string) bool {
	if rel == "." || rel == "" {
		return false
	}
	segs := strings.Split(rel, "/")
	for _, g := range w.ignore {
		if g.coversTree(segs) {
			return true
		}
	}
	return false
}

// actionFor maps a file to its Action: the first matching rule, then the
// defaults (*.css is css-update, source maps are ignored, everything else
// reload).
func (w *Watcher) actionFor(rel string) Action {
	segs := strings.Split(rel, "/")
	for _, r := range w.rules {
		if r.g.matchesFile(segs) {
			return r.action
		}
	}
	switch ext := path.Ext(rel); {
	case strings.EqualFold(ext, ".css"):
		return CSSUpdate
	case strings.EqualFold(ext, ".map"):
		// Written next to a stylesheet or script by its compiler; the
		// page looks the same without reloading it.
		return Ignore
	}
	return Reload
}

// windowFor returns the quiet window a pending change to rel asks for.
func (w *Watcher) windowFor(rel string) time.Duration {
	if d, ok := w.debounceFor[strings.ToLower(path.Ext(rel))]; ok {
		return d
	}
	return w.debounce
}

// normExt turns ".go", "go" and "*.go" into ".go".
func normExt(ext string) string {
	ext = strings.ToLower(strings.TrimPrefix(ext, "*"))
	if ext != "" && !strings.HasPrefix(ext, ".") {
		ext = "." + ext
	}
	return ext
}
