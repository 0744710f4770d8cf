package watch

import (
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// entry is what polling remembers about a path between two scans.
type entry struct {
	mod    int64  // modification time, Unix nanoseconds
	size   int64  //
	ino    uint64 // inode number where the system has one; catches renames over a file
	sum    uint64 // content hash, valid when hashed
	dir    bool   //
	hashed bool   // the entry was "racy" when recorded, see record
}

// racyWindow is how recent a modification time must be for the entry to be
// racy: a later write in the same timestamp tick would leave the time and,
// if the size is unchanged, the whole entry as it was. Linux file times move
// in scheduler ticks (1 to 10 ms), FAT's in 2 s; network and virtual file
// systems, the very places polling is for, vary. Racy entries get a content
// hash that the next scan compares.
const racyWindow = 2 * time.Second

// maxHashSize bounds the files polling hashes; larger ones rely on time,
// size and inode alone.
const maxHashSize = 1 << 20

// pollTick scans and decides when to scan next. While scans keep finding
// changes they follow each other after the quiet window; the change is
// settled by the first scan that finds nothing new (or when MaxWait is up).
// So a save is delivered one quiet window after the scan that saw it, and a
// burst that straddles several scans still makes one batch.
func (w *Watcher) pollTick(time.Time) {
	st := &w.st
	start := time.Now()
	n := w.scan(start, false)
	took := time.Since(start)
	if n > 0 && start.Add(took).Sub(st.firstAt) < w.maxWait {
		st.poll.Reset(max(st.window, took))
		return
	}
	if st.active {
		w.settle()
	}
	st.poll.Reset(w.interval)
}

// scan walks every root, compares what it finds with the previous
// snapshot, records the differences (unless baseline is set) and returns
// how many paths changed.
func (w *Watcher) scan(now time.Time, baseline bool) int {
	st := &w.st
	next := st.spare
	clear(next)
	n := 0
	for _, r := range w.roots {
		n += w.scanRoot(r, next, now, baseline)
	}
	for p, old := range st.snap {
		if _, ok := next[p]; ok || old.dir {
			continue
		}
		if _, rel := w.locate(p); rel != "" {
			w.note(p, rel, removed, now)
			n++
		}
	}
	st.snap, st.spare = next, st.snap
	return n
}

func (w *Watcher) scanRoot(r *root, next map[string]entry, now time.Time, baseline bool) int {
	if r.file {
		if w.exclude[r.path] {
			return 0
		}
		fi, err := os.Lstat(r.path)
		if err != nil {
			return 0
		}
		return w.record(r.path, filepath.Base(r.path), fi, next, now, baseline)
	}
	if _, err := os.Stat(r.path); err != nil {
		if !r.missing {
			r.missing = true
			w.log.Info("watch: watched path is gone; waiting for it to come back", "path", r.name)
		}
		return 0
	}
	if r.missing {
		r.missing = false
		w.log.Info("watch: watched path is back", "path", r.name)
	}
	n := 0
	_ = filepath.WalkDir(r.path, func(p string, d fs.DirEntry, err error) error {
		if w.closing() {
			return filepath.SkipAll
		}
		if err != nil {
			if d == nil && p == r.path {
				return filepath.SkipAll
			}
			if !os.IsNotExist(err) {
				w.warn(p, "watch: cannot read directory; skipping it", err)
			}
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rr, rel := w.locate(p)
		_, dup := next[p] // already scanned under a deeper root
		if rr == nil || dup || (p != r.path && w.skip(rr, p, rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone since the directory was listed
		}
		n += w.record(p, rel, fi, next, now, baseline)
		return nil
	})
	return n
}

// record stores p's entry in next and notes p if it is new or changed. now
// is the time the scan started.
func (w *Watcher) record(p, rel string, fi fs.FileInfo, next map[string]entry, now time.Time, baseline bool) int {
	e := entry{mod: fi.ModTime().UnixNano(), size: fi.Size(), ino: inode(fi), dir: fi.IsDir()}
	old, seen := w.st.snap[p]
	if e.dir {
		next[p] = e
		return 0
	}
	same := seen && !old.dir && old.mod == e.mod && old.size == e.size && old.ino == e.ino
	compare := same && old.hashed
	racy := now.Sub(fi.ModTime()) < racyWindow
	if fi.Mode().IsRegular() && e.size <= maxHashSize && (compare || racy) {
		if sum, err := hashFile(p); err == nil {
			if compare && sum != old.sum {
				same = false
			}
			if racy {
				e.sum, e.hashed = sum, true
			}
		}
	}
	next[p] = e
	switch {
	case baseline || same:
		return 0
	case !seen || old.dir:
		w.note(p, rel, created, now)
	default:
		w.note(p, rel, changed, now)
	}
	return 1
}

func hashFile(p string) (uint64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := fnv.New64a()
	if _, err := io.Copy(h, io.LimitReader(f, maxHashSize+1)); err != nil {
		return 0, err
	}
	return h.Sum64(), nil
}
