package watch

import (
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// state is the loop's bookkeeping. New fills it before the loop exists;
// afterwards only the running loop touches it, and consecutive Runs hand it
// over through the loop goroutine's exit.
type state struct {
	// The change being gathered.
	pending  map[string]*change // by absolute path
	active   bool               // something is pending (files or an overflow)
	firstAt  time.Time
	lastAt   time.Time
	window   time.Duration // quiet window the pending files ask for
	overflow bool          // the kernel dropped events during this change

	// The settled batch waiting for Run to take it. Changes that settle
	// before Run takes it are merged into it.
	ready         map[string]Action // by relative path
	readyOverflow bool
	hasReady      bool
	batch         Batch

	flush      *time.Timer
	flushArmed bool
	graced     bool // the settle timer fired late once during this change
	poll       *time.Timer
	recheck    *time.Timer

	// Polling mode snapshots: the current one and a spare to scan into.
	snap, spare map[string]entry

	// Stylesheets delivered on their first event (see lead), as they were
	// then; the next settle drops their later events if they still are.
	led map[string]stamp
	// The last stylesheet that led, and when.
	leadPath string
	leadAt   time.Time
}

// stamp identifies a file's content as far as its metadata can.
type stamp struct {
	mod  int64
	size int64
	ino  uint64
}

func stampOf(fi os.FileInfo) stamp {
	return stamp{mod: fi.ModTime().UnixNano(), size: fi.Size(), ino: inode(fi)}
}

// change is one pending path.
type change struct {
	rel  string
	born bool // the first thing seen was the path's creation
	gone bool // the last thing seen was a removal or a rename away
}

type changeKind int

const (
	changed changeKind = iota // written or touched
	created                   // appeared
	removed                   // deleted or renamed away
)

func (st *state) init() {
	st.pending = make(map[string]*change)
	st.ready = make(map[string]Action)
	st.flush = stoppedTimer()
	st.poll = stoppedTimer()
	st.recheck = stoppedTimer()
	if st.snap == nil {
		st.snap = make(map[string]entry)
	}
	st.spare = make(map[string]entry)
	st.led = make(map[string]stamp)
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// begin starts a new pending change at now if none is in progress.
func (w *Watcher) begin(now time.Time) {
	st := &w.st
	if !st.active {
		st.active = true
		st.firstAt = now
		st.window = w.debounce
	}
	st.lastAt = now
}

// note records a change to the file at p (absolute), rel under r.
func (w *Watcher) note(p, rel string, k changeKind, now time.Time) {
	st := &w.st
	w.begin(now)
	c := st.pending[p]
	if c == nil {
		c = &change{rel: rel, born: k == created}
		st.pending[p] = c
		st.window = max(st.window, w.windowFor(rel))
		if len(st.pending) >= burstFiles {
			st.window = max(st.window, w.burst)
		}
	}
	switch k {
	case created, changed:
		c.gone = false
	case removed:
		c.gone = true
	}
}

// kick arms the settle timer for a change gathered from notifications.
func (w *Watcher) kick(now time.Time) {
	st := &w.st
	if st.active && !st.flushArmed {
		st.flushArmed = true
		st.flush.Reset(w.deadline().Sub(now))
	}
}

// deadline is when the pending change settles if nothing else arrives: a
// quiet window after the last event, but no later than MaxWait after the
// first.
func (w *Watcher) deadline() time.Time {
	st := &w.st
	d := st.lastAt.Add(st.window)
	if limit := st.firstAt.Add(w.maxWait); limit.Before(d) {
		d = limit
	}
	return d
}

// lateTimer is how late the settle timer may fire before the loop counts
// as starved; Go's timers are normally late by well under a millisecond.
const lateTimer = 2 * time.Millisecond

// drain handles the events that are already waiting, so that a settle
// timer which fires while the loop was starved of CPU does not cut a
// burst whose next events are queued behind it.
func (w *Watcher) drain(events <-chan fsnotify.Event) {
	if events == nil {
		return
	}
	runtime.Gosched() // let the reader hand over what it has read
	for range 1024 {  // bounded: an endless stream must still settle
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			w.handleEvent(ev, time.Now())
		default:
			return
		}
	}
}

// flushDue runs when the settle timer fires. Events only ever push the
// deadline later, so the timer is not reset on every event; instead it is
// re-armed here for whatever remains.
func (w *Watcher) flushDue(now time.Time) {
	st := &w.st
	st.flushArmed = false
	if !st.active {
		return
	}
	rest := w.deadline().Sub(now)
	// A timer that fires well after its deadline shows the process was
	// short of CPU, and so may have been the reader between the kernel and
	// this loop: give it as long again (up to one window) to catch up.
	if late := -rest; rest <= 0 && late > lateTimer && !st.graced {
		st.graced = true
		rest = min(late, st.window)
	}
	if rest > 0 {
		st.flushArmed = true
		st.flush.Reset(rest)
		return
	}
	// A file that is empty now is most likely being saved: truncated, with
	// its new content still to come. Wait for it, up to the burst window
	// from the change's first event, so the save is not split in two.
	if now.Sub(st.firstAt) < w.burst && w.emptyPending() {
		st.flushArmed = true
		st.flush.Reset(w.debounce)
		return
	}
	w.settle()
}

// emptyPending reports whether a pending file exists and is empty.
func (w *Watcher) emptyPending() bool {
	for p, c := range w.st.pending {
		if c.gone {
			continue
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			return true
		}
	}
	return false
}

// lead settles the pending change at once when it is a save of a single
// stylesheet whose new content is there (a non-empty regular file): the
// most frequent edit of a front-end developer then skips the quiet window.
// The truncation that starts an in-place save leaves the file empty and so
// does not lead; the events that follow the lead are gathered as usual,
// and the next settle drops the stylesheet if it is still as it was when
// it led. A stylesheet change cannot reload the page, so a burst whose
// first file is a stylesheet still causes at most one reload.
//
// A stylesheet that led less than releadAfter ago does not lead again: a
// save written in several steps (an editor writing blocks, a compiler
// flushing) is then one early css-update and, after the quiet window, one
// with the whole file, not one per write.
func (w *Watcher) lead(now time.Time) {
	st := &w.st
	if !w.leading || !st.active || st.overflow || len(st.pending) != 1 {
		return
	}
	var p string
	var c *change
	for p, c = range st.pending { // the only one
	}
	if c.gone || w.actionFor(c.rel) != CSSUpdate || w.windowFor(c.rel) > w.debounce {
		return
	}
	if p == st.leadPath && now.Sub(st.leadAt) < min(w.debounce, releadAfter) {
		return
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return
	}
	w.settle()
	st.led[p] = stampOf(fi)
	st.leadPath, st.leadAt = p, now
}

// releadAfter is how long after a lead the same stylesheet cannot lead
// again (at most Debounce).
const releadAfter = DefaultDebounce

// settle turns the pending change into the ready batch.
func (w *Watcher) settle() {
	st := &w.st
	for p, c := range st.pending {
		if c.born && c.gone {
			// Created and gone again within one change: an editor's
			// temporary file, not a change anyone wants to see.
			continue
		}
		if was, ok := st.led[p]; ok && !c.gone {
			// Delivered by lead, and the events since were that save's.
			if fi, err := os.Stat(p); err == nil && stampOf(fi) == was {
				continue
			}
		}
		a := w.actionFor(c.rel)
		if a == Ignore {
			continue
		}
		st.ready[c.rel] = a
	}
	clear(st.pending)
	clear(st.led)
	st.active = false
	st.graced = false
	if st.overflow {
		st.readyOverflow = true
		st.overflow = false
	}
	if len(st.ready) == 0 && !st.readyOverflow {
		return
	}
	st.batch = classify(st.ready, st.readyOverflow)
	st.hasReady = true
	w.log.Debug("watch: batch", "action", st.batch.Action, "files", len(st.batch.Files))
}

// takeReady forgets the batch Run has just taken.
func (st *state) takeReady() {
	clear(st.ready)
	st.readyOverflow = false
	st.hasReady = false
	st.batch = Batch{}
}

// classify builds the Batch for a settled set of files.
func classify(files map[string]Action, overflow bool) Batch {
	b := Batch{Action: Reload, Files: make([]string, 0, len(files))}
	restart, css := false, !overflow
	for rel, a := range files {
		b.Files = append(b.Files, rel)
		switch a {
		case Restart:
			restart = true
			css = false
		case CSSUpdate:
		default:
			css = false
		}
	}
	slices.Sort(b.Files)
	switch {
	case restart:
		b.Action = Restart
	case css && len(b.Files) > 0:
		b.Action = CSSUpdate
	}
	return b
}
