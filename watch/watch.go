package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Action says what should happen about a batch of changed files. The values
// are the event types the SSE hub publishes (see sse.TypeReload and
// sse.TypeCSSUpdate), plus Restart and Ignore, which never reach a browser.
type Action string

const (
	// Reload asks browsers to reload the page. It is the default for every
	// file that no Rule names and that is not a stylesheet.
	Reload Action = "reload"
	// CSSUpdate asks browsers to swap the changed stylesheets in place. It is
	// the default for *.css files, and a Batch carries it only when every
	// file in it maps to CSSUpdate.
	CSSUpdate Action = "css-update"
	// Restart asks the development server to restart, for example after a Go
	// source file changed. No file maps to it by default; a Rule must ask for
	// it. One Restart file makes the whole Batch a Restart.
	Restart Action = "restart"
	// Ignore drops a file: it never appears in a Batch, and a batch made only
	// of ignored files is not delivered at all.
	Ignore Action = "ignore"
)

// Rule maps the files matching Pattern to Action. Rules are tried in order
// and the first match wins.
//
// A Pattern without a slash, such as "*.css", is a path.Match glob tried on
// the file's base name. A Pattern with a slash, such as "static/**/*.js",
// is tried on the slash-separated path relative to the watched root, element
// by element, where "**" stands for any number of directories. A leading
// "/" anchors a pattern to the root: "/index.html" matches only the
// top-level file. New rejects malformed patterns.
type Rule struct {
	Pattern string
	Action  Action
}

// Default timings used when the corresponding Options field is zero.
const (
	// DefaultDebounce is the quiet window after the last event of a small
	// change (one or two files) before its Batch is delivered.
	DefaultDebounce = 5 * time.Millisecond
	// DefaultBurstDebounce is the quiet window once a pending change has
	// grown to three or more files, as a checkout or a build does.
	DefaultBurstDebounce = 100 * time.Millisecond
	// DefaultMaxWait caps how long a change may be held back while events
	// keep arriving.
	DefaultMaxWait = 2 * time.Second
	// DefaultPollInterval is how often polling mode scans the tree.
	DefaultPollInterval = 250 * time.Millisecond
)

// burstFiles is the number of distinct pending paths at which a change is
// treated as a burst and waits BurstDebounce instead of Debounce.
const burstFiles = 3

// rootRecheck is how often a vanished root is looked for in notify mode.
const rootRecheck = 50 * time.Millisecond

// ErrClosed is returned by Run when the Watcher was closed before Run was
// called.
var ErrClosed = errors.New("watch: watcher closed")

// errRunning is returned by a Run that overlaps another.
var errRunning = errors.New("watch: Run is already running")

// DefaultIgnore returns a copy of the ignore globs that every Watcher
// applies in addition to Options.Ignore: version-control directories
// (.git and the like), node_modules, vendor, var, IDE state, editors' swap,
// backup, lock and temporary files, and the files apps write at run time
// into their own tree: logs (*.log), SQLite and other embedded databases
// with their journals (*.sqlite, *.sqlite3, *.db, *.db-journal, *.db-wal,
// *.db-shm, ...), and Python bytecode (__pycache__, *.pyc). The caller may
// modify the slice.
func DefaultIgnore() []string { return slices.Clone(defaultIgnore) }

// DefaultDebounceFor returns a copy of the per-extension quiet windows that
// apply unless Options.DebounceFor overrides them (".go": 100ms, so that a
// save followed by a formatter's rewrite costs one restart, not two). The
// caller may modify the map.
func DefaultDebounceFor() map[string]time.Duration { return maps.Clone(defaultDebounceFor) }

// Options configures New. The zero value of every field except Paths means
// its default.
type Options struct {
	// Paths are the directories to watch recursively, or single files. A
	// single file is watched through its directory, so an editor's atomic
	// save (write a temporary file, rename it over the target) is seen;
	// its Batch names it by its base name. Every path must exist when New
	// is called.
	Paths []string
	// Ignore holds globs for files and directories to skip, in the syntax
	// of Rule.Pattern. A name glob excludes a path when any of its elements
	// matches, so "build" skips every directory named build and all that is
	// below it, while "/build" skips only the top-level one; a path glob
	// excludes the paths it matches and all below them. Ignored directories
	// are not watched (or scanned) at all. DefaultIgnore's globs always
	// apply as well.
	Ignore []string
	// ExcludeFiles holds absolute paths of single files that are never
	// reported, whatever their names: typically the file the program's
	// own log is written to, when it lies below a watched directory (each
	// log line about a change would otherwise be the next change). Unlike
	// Ignore, the entries are exact files, not globs. Symbolic links in
	// them are resolved when New is called; a file that does not exist
	// yet is excluded once it appears at that path. Entries outside the
	// watched paths have no effect. New rejects empty and relative paths
	// and directories (Ignore skips directories).
	ExcludeFiles []string
	// Rules map files to actions; the first match wins. Files no rule
	// matches map to CSSUpdate for *.css, to Ignore for source maps (*.map,
	// which compilers write next to a stylesheet or script), and to Reload
	// otherwise.
	Rules []Rule
	// Debounce is the quiet window: a change is delivered once no event has
	// arrived for this long. Zero means DefaultDebounce.
	Debounce time.Duration
	// DebounceFor overrides Debounce by file extension (".go", "go" and
	// "*.go" are the same key, compared case-insensitively). A pending
	// change waits for the longest window any of its files asks for. The
	// entries are merged over DefaultDebounceFor; an entry of zero removes
	// the default for that extension.
	DebounceFor map[string]time.Duration
	// BurstDebounce is the quiet window once a pending change holds three
	// or more files. Zero means DefaultBurstDebounce.
	BurstDebounce time.Duration
	// CSSWait makes a stylesheet change wait for the quiet window like any
	// other change. By default a change that is one stylesheet (a file
	// mapped to CSSUpdate, with no DebounceFor window longer than
	// Debounce) is delivered on its first event that finds the file
	// non-empty; see Timing in the package documentation. Polling mode
	// always waits.
	CSSWait bool
	// MaxWait caps the time from the first event of a change to its
	// delivery, so that a never-ending stream of writes still produces
	// batches. Zero means DefaultMaxWait.
	MaxWait time.Duration
	// Poll selects polling instead of the operating system's notifications
	// (inotify on Linux). Use it where notifications never arrive: Docker
	// bind mounts, network drives, WSL mounts of Windows drives. Polling
	// never opens a notification handle.
	Poll bool
	// PollInterval is the time between two scans in polling mode. Zero
	// means DefaultPollInterval. A scan stats every file, so large trees
	// want a longer interval.
	PollInterval time.Duration
	// Logger receives warnings (unreadable directories, watch limits) and
	// debug traces. Nil means slog.Default().
	Logger *slog.Logger
}

// Batch is one settled change: every file that changed during it, and the
// single Action that covers them all.
type Batch struct {
	// Action is Restart if any file maps to Restart, CSSUpdate if every
	// file maps to CSSUpdate, and Reload otherwise.
	Action Action
	// Files are the changed, created or deleted files, as slash-separated
	// paths relative to the root they were found under (a single-file root
	// gives its base name), sorted and without duplicates. Files mapped to
	// Ignore are left out. Files is empty only when the operating system
	// dropped events (an inotify queue overflow), in which case Action is
	// Reload or Restart.
	Files []string
}

// Watcher watches files and delivers settled batches of changes.
//
// Watching starts in New, so changes made after New returns are delivered
// by Run even if Run is called later. Run and Close are safe to call from
// any goroutine. The Watcher has one internal goroutine, which exists only
// while Run is active. After Close it holds no operating-system resources,
// calls no callback, and its Run returns ErrClosed.
type Watcher struct {
	log         *slog.Logger
	roots       []*root // deepest first
	ignore      []glob
	exclude     map[string]bool // ExcludeFiles, resolved
	rules       []rule
	debounce    time.Duration
	debounceFor map[string]time.Duration
	burst       time.Duration
	maxWait     time.Duration
	poll        bool
	leading     bool // stylesheets settle on their first event (notify mode)
	interval    time.Duration

	fs     *fsnotify.Watcher   // nil in polling mode
	dirs   map[string]struct{} // directories with a watch (notify mode)
	warned map[string]bool     // paths already warned about

	st state // owned by New, then by the running loop

	done chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	running bool
	wg      sync.WaitGroup
}

// root is one entry of Options.Paths.
type root struct {
	name    string // as the caller wrote it
	abs     string // absolute, before resolving symbolic links
	path    string // resolved directory or file
	prefix  string // path plus a separator
	file    bool   // a single file, watched through its directory
	dir     string // the directory holding a single file
	missing bool
}

// base is the directory whose watch covers the root.
func (r *root) base() string {
	if r.file {
		return r.dir
	}
	return r.path
}

func (r *root) resolve() error {
	p, err := filepath.EvalSymlinks(r.abs)
	if err != nil {
		return err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	r.path = p
	r.file = !fi.IsDir()
	r.dir = filepath.Dir(p)
	r.prefix = p
	if !strings.HasSuffix(p, string(filepath.Separator)) {
		r.prefix += string(filepath.Separator)
	}
	return nil
}

// missingError reports a watched path that does not exist.
type missingError struct{ name string }

func (e *missingError) Error() string {
	return "watch: " + e.name + ": no such directory; create it or fix --watch"
}

func (e *missingError) Is(target error) bool { return target == fs.ErrNotExist }

// New validates o and starts watching. It fails when a path does not exist
// (the error names it and matches fs.ErrNotExist), when a pattern or action
// is invalid, or when the operating system refuses a notification handle or
// a watch on a root (polling mode avoids both). Unreadable subdirectories
// are logged and skipped, never fatal.
//
// The returned Watcher holds operating-system resources until Close.
func New(o Options) (*Watcher, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	w := &Watcher{
		log:         o.Logger,
		debounce:    cmp.Or(o.Debounce, DefaultDebounce),
		burst:       cmp.Or(o.BurstDebounce, DefaultBurstDebounce),
		maxWait:     cmp.Or(o.MaxWait, DefaultMaxWait),
		interval:    cmp.Or(o.PollInterval, DefaultPollInterval),
		poll:        o.Poll,
		leading:     !o.CSSWait && !o.Poll,
		debounceFor: DefaultDebounceFor(),
		dirs:        make(map[string]struct{}),
		warned:      make(map[string]bool),
		done:        make(chan struct{}),
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if err := w.compileFilters(o); err != nil {
		return nil, err
	}
	if err := w.addRoots(o.Paths); err != nil {
		return nil, err
	}
	w.st.init()
	if err := w.start(); err != nil {
		return nil, err
	}
	return w, nil
}

// checkOptions refuses options no watcher can follow: no paths, negative
// durations.
func checkOptions(o Options) error {
	if len(o.Paths) == 0 {
		return errors.New("watch: no paths to watch")
	}
	for name, d := range map[string]time.Duration{
		"Debounce": o.Debounce, "BurstDebounce": o.BurstDebounce,
		"MaxWait": o.MaxWait, "PollInterval": o.PollInterval,
	} {
		if d < 0 {
			return fmt.Errorf("watch: %s must not be negative", name)
		}
	}
	for ext, d := range o.DebounceFor {
		if d < 0 {
			return fmt.Errorf("watch: DebounceFor[%q] must not be negative", ext)
		}
	}
	return nil
}

// compileFilters sets what decides a change's fate: the debounce per
// extension, the ignore globs (the defaults and o.Ignore), the excluded
// files and the rules.
func (w *Watcher) compileFilters(o Options) error {
	for ext, d := range o.DebounceFor {
		ext = normExt(ext)
		if d == 0 {
			delete(w.debounceFor, ext)
		} else {
			w.debounceFor[ext] = d
		}
	}
	for _, p := range slices.Concat(defaultIgnore, o.Ignore) {
		g, err := compileGlob(p)
		if err != nil {
			return err
		}
		w.ignore = append(w.ignore, g)
	}
	excl, err := resolveExcludes(o.ExcludeFiles)
	if err != nil {
		return err
	}
	w.exclude = excl
	for _, r := range o.Rules {
		switch r.Action {
		case Reload, CSSUpdate, Restart, Ignore:
		default:
			return fmt.Errorf("watch: rule %q: unknown action %q", r.Pattern, r.Action)
		}
		g, err := compileGlob(r.Pattern)
		if err != nil {
			return err
		}
		w.rules = append(w.rules, rule{g: g, action: r.Action})
	}
	return nil
}

// start takes the first look at the roots: a first scan when polling,
// else an fsnotify watch on every directory.
func (w *Watcher) start() error {
	if w.poll {
		w.scan(time.Now(), true)
		return nil
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w (polling mode does not need it)", err)
	}
	w.fs = fsw
	for _, r := range w.roots {
		if err := w.watchRoot(r, false, time.Now()); err != nil {
			_ = fsw.Close()
			return fmt.Errorf("watch: %s: %w", r.name, err)
		}
	}
	return nil
}

func (w *Watcher) addRoots(paths []string) error {
	seen := make(map[string]bool)
	for _, p := range paths {
		if p == "" {
			return errors.New("watch: empty path")
		}
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return &missingError{name: p}
			}
			return fmt.Errorf("watch: %s: %w", p, err)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("watch: %s: %w", p, err)
		}
		r := &root{name: p, abs: abs}
		if err := r.resolve(); err != nil {
			return fmt.Errorf("watch: %s: %w", p, err)
		}
		if seen[r.path] {
			continue
		}
		seen[r.path] = true
		w.roots = append(w.roots, r)
	}
	w.sortRoots()
	return nil
}

// sortRoots puts deeper roots first, so that locate finds the most specific.
func (w *Watcher) sortRoots() {
	slices.SortStableFunc(w.roots, func(a, b *root) int { return len(b.path) - len(a.path) })
}

// locate finds the root p belongs to and p's slash-separated path relative
// to it ("." for the root directory itself).
func (w *Watcher) locate(p string) (*root, string) {
	for _, r := range w.roots {
		if r.file {
			if p == r.path {
				return r, filepath.Base(p)
			}
			continue
		}
		if p == r.path {
			return r, "."
		}
		if strings.HasPrefix(p, r.prefix) {
			return r, filepath.ToSlash(p[len(r.prefix):])
		}
	}
	return nil, ""
}

// skip reports whether a change to p, which is rel under r, is ignored.
func (w *Watcher) skip(r *root, p, rel string) bool {
	return rel == "." || w.exclude[p] || (!r.file && w.ignored(rel))
}

// resolveExcludes validates Options.ExcludeFiles and returns the files with
// symbolic links resolved as far as they exist, so that they compare equal
// to the paths found below the (resolved) roots.
func resolveExcludes(files []string) (map[string]bool, error) {
	if len(files) == 0 {
		return nil, nil
	}
	out := make(map[string]bool, len(files))
	for _, f := range files {
		if f == "" {
			return nil, errors.New("watch: empty path in ExcludeFiles; remove it")
		}
		if !filepath.IsAbs(f) {
			return nil, fmt.Errorf("watch: ExcludeFiles entry %q is not an absolute path; give the file's full path", f)
		}
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("watch: ExcludeFiles entry %q is a directory; name files only, or skip directories with Ignore", f)
		}
		f = filepath.Clean(f)
		p, err := filepath.EvalSymlinks(f)
		if err != nil {
			// Not there yet: resolve its directory, and failing that
			// keep the path as given.
			p = f
			if dir, err := filepath.EvalSymlinks(filepath.Dir(f)); err == nil {
				p = filepath.Join(dir, filepath.Base(f))
			}
		}
		out[p] = true
	}
	return out, nil
}

// warn logs a problem with p once at warning level, then at debug level.
func (w *Watcher) warn(p, msg string, err error) {
	level := slog.LevelWarn
	if w.warned[p] {
		level = slog.LevelDebug
	}
	w.warned[p] = true
	w.log.Log(context.Background(), level, msg, "path", p, "err", err)
}

// closing reports whether Close has been called.
func (w *Watcher) closing() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// Run delivers batches to fn until ctx ends or Close is called.
//
// fn is called on the goroutine that called Run, one batch at a time, in
// the order the changes settled; changes that happen while fn runs are
// gathered into the next batch, so a slow fn never loses events. fn may
// call Close; Run then returns once fn does.
//
// Run returns ctx.Err() when ctx ends, nil when Close stopped it, and
// ErrClosed at once if the Watcher was already closed. Only one Run may be
// active at a time (an overlapping call fails); after a Run returned
// because its context ended, Run may be called again and delivers the
// changes made in between.
func (w *Watcher) Run(ctx context.Context, fn func(Batch)) error {
	if fn == nil {
		return errors.New("watch: Run needs a callback")
	}
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		return ErrClosed
	case w.running:
		w.mu.Unlock()
		return errRunning
	}
	w.running = true
	stop := make(chan struct{})
	out := make(chan Batch)
	exited := make(chan error, 1)
	w.wg.Add(1)
	w.mu.Unlock()

	go func() {
		defer w.wg.Done()
		exited <- w.loop(stop, out)
	}()
	loopExited := false
	defer func() {
		close(stop)
		if !loopExited {
			<-exited
		}
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()

	for {
		select {
		case b := <-out:
			fn(b)
		case <-ctx.Done():
			return ctx.Err()
		case <-w.done:
			return nil
		case err := <-exited:
			loopExited = true
			if w.closing() {
				return nil
			}
			return err
		}
	}
}

// Close stops watching, releases the notification handle, and waits for
// the Watcher's internal goroutine to exit. A Run in progress returns nil
// (after its callback, if one is running; Close does not wait for that).
// Close is idempotent and safe for concurrent use: only the first call does
// anything and may return an error; later calls return nil.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.done)
	w.mu.Unlock()

	var err error
	if w.fs != nil {
		err = w.fs.Close()
	}
	w.wg.Wait()
	return err
}

// loop is the Watcher's single internal goroutine: it turns events (or
// scans) into pending changes, settles them into batches, and hands the
// batches to Run.
func (w *Watcher) loop(stop <-chan struct{}, out chan<- Batch) error {
	st := &w.st
	var (
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	if w.fs != nil {
		events, errs = w.fs.Events, w.fs.Errors
		// Timers armed during an earlier Run may have fired unseen.
		now := time.Now()
		st.flushArmed = false
		w.kick(now)
		if slices.ContainsFunc(w.roots, func(r *root) bool { return r.missing }) {
			st.recheck.Reset(rootRecheck)
		}
	} else {
		st.poll.Reset(w.interval)
	}
	for {
		var send chan<- Batch
		if st.hasReady {
			send = out
		}
		select {
		case <-stop:
			return nil
		case <-w.done:
			return nil
		case ev, ok := <-events:
			if !ok {
				return errors.New("watch: notification source closed")
			}
			now := time.Now()
			w.handleEvent(ev, now)
			w.kick(now)
			w.lead(now)
		case err, ok := <-errs:
			if !ok {
				return errors.New("watch: notification source closed")
			}
			now := time.Now()
			w.handleError(err, now)
			w.kick(now)
		case <-st.flush.C:
			w.drain(events)
			w.flushDue(time.Now())
		case now := <-st.poll.C:
			w.pollTick(now)
		case now := <-st.recheck.C:
			w.recheckRoots(now)
			w.kick(now)
		case send <- st.batch:
			st.takeReady()
		}
	}
}
