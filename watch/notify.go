package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchRoot adds the watches for r. For a directory that is every directory
// below it; report says whether files found in directories that were not
// watched before are recorded as created (true when a root comes back).
func (w *Watcher) watchRoot(r *root, report bool, now time.Time) error {
	if !r.file {
		return w.addTree(r.path, report, now)
	}
	if err := w.fs.Add(r.dir); err != nil {
		return err
	}
	w.dirs[r.dir] = struct{}{}
	if report && !w.exclude[r.path] {
		if _, err := os.Lstat(r.path); err == nil {
			w.note(r.path, filepath.Base(r.path), created, now)
		}
	}
	return nil
}

// addTree watches dir and every directory below it that is not ignored.
// Each directory gets its watch before it is listed, so a file created
// while this runs is either listed or reported by the new watch. When
// report is set, the files of directories that had no watch yet are
// recorded as created: they were written before anyone could see them,
// typically by "mkdir -p a/b && echo > a/b/c".
//
// Only a failure to watch dir itself is returned; problems below it are
// logged and skipped.
func (w *Watcher) addTree(dir string, report bool, now time.Time) error {
	var top error
	fresh := make(map[string]bool)
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if w.closing() {
			return filepath.SkipAll
		}
		if err != nil {
			if p == dir && d == nil {
				top = err
				return filepath.SkipAll
			}
			w.warn(p, "watch: cannot read directory; skipping it", err)
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		r, rel := w.locate(p)
		if r == nil {
			return filepath.SkipDir
		}
		if d.IsDir() {
			if p != dir && w.skip(r, p, rel) {
				return filepath.SkipDir
			}
			if _, ok := w.dirs[p]; !ok {
				fresh[p] = true
			}
			if err := w.fs.Add(p); err != nil {
				if p == dir {
					top = err
					return filepath.SkipAll
				}
				w.warnAdd(p, err)
				return filepath.SkipDir
			}
			w.dirs[p] = struct{}{}
			return nil
		}
		if report && fresh[filepath.Dir(p)] && !w.skip(r, p, rel) {
			w.note(p, rel, created, now)
		}
		return nil
	})
	return top
}

func (w *Watcher) warnAdd(p string, err error) {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
		w.warn("(limit)", "watch: the system's watch limit is reached; "+
			"raise fs.inotify.max_user_watches or use polling", err)
		return
	}
	w.warn(p, "watch: cannot watch directory; skipping it", err)
}

// handleEvent folds one notification into the pending change.
func (w *Watcher) handleEvent(ev fsnotify.Event, now time.Time) {
	p := filepath.Clean(ev.Name)
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		wasDir := w.forget(p)
		for _, r := range w.roots {
			if !r.missing && r.base() == p {
				w.lose(r, now)
			}
		}
		r, rel := w.locate(p)
		if r == nil || w.skip(r, p, rel) {
			return
		}
		// A directory's removal comes after its files' own events, so
		// it adds nothing. One moved away takes its files without a
		// word about them, so it stands for them.
		if wasDir && !ev.Has(fsnotify.Rename) {
			return
		}
		w.note(p, rel, removed, now)
		return
	}
	r, rel := w.locate(p)
	if r == nil || w.skip(r, p, rel) {
		return
	}
	switch {
	case ev.Has(fsnotify.Create):
		fi, err := os.Lstat(p)
		if err == nil && fi.IsDir() {
			if !r.file {
				if err := w.addTree(p, true, now); err != nil && !errors.Is(err, fs.ErrNotExist) {
					w.warnAdd(p, err)
				}
			}
			return
		}
		w.note(p, rel, created, now)
	case ev.Has(fsnotify.Write):
		w.note(p, rel, changed, now)
	case ev.Has(fsnotify.Chmod):
		// touch(1) on an existing file shows up only as this.
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			w.note(p, rel, changed, now)
		}
	}
}

// handleError deals with an error from the notification source.
func (w *Watcher) handleError(err error, now time.Time) {
	if !errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Warn("watch: notification error", "err", err)
		return
	}
	// Events were dropped. The files they named cannot be known, but new
	// directories can: watch them and report what they hold, and make sure
	// a batch goes out.
	w.log.Warn("watch: the kernel dropped events; reloading to be safe", "err", err)
	w.begin(now)
	w.st.overflow = true
	for _, r := range w.roots {
		if !r.missing && !r.file {
			_ = w.addTree(r.path, true, now)
		}
	}
}

// forget drops the watches on p and below it, reporting whether p was a
// watched directory. Watches the kernel has already dropped (the directory
// was deleted) fail to be removed, which is fine.
func (w *Watcher) forget(p string) bool {
	if _, ok := w.dirs[p]; !ok {
		return false
	}
	prefix := p + string(filepath.Separator)
	for d := range w.dirs {
		if d == p || strings.HasPrefix(d, prefix) {
			delete(w.dirs, d)
			_ = w.fs.Remove(d)
		}
	}
	return true
}

// lose handles a root (or a single file's directory) that was deleted or
// moved away: it is looked for again until it is back.
func (w *Watcher) lose(r *root, now time.Time) {
	r.missing = true
	w.forget(r.base())
	w.log.Info("watch: watched path is gone; waiting for it to come back", "path", r.name)
	w.recheckRoots(now)
}

// recheckRoots re-adds the roots that have come back, and keeps looking for
// the others.
func (w *Watcher) recheckRoots(now time.Time) {
	st := &w.st
	waiting := false
	for _, r := range w.roots {
		if !r.missing {
			continue
		}
		if err := r.resolve(); err != nil {
			waiting = true
			continue
		}
		if err := w.watchRoot(r, true, now); err != nil {
			waiting = true
			continue
		}
		r.missing = false
		w.sortRoots()
		w.log.Info("watch: watched path is back", "path", r.name)
	}
	if waiting {
		st.recheck.Reset(rootRecheck)
	}
}
