// Package watch is the file watcher behind "valksor-sse serve --watch DIR":
// it watches directories (recursively) and single files, and turns the
// changes into settled batches, each with one Action: reload the page,
// swap stylesheets in place (css-update), or restart the server.
//
//	w, err := watch.New(watch.Options{Paths: []string{"templates"}})
//	if err != nil { ... }      // "watch: templates: no such directory; create it or fix --watch"
//	defer w.Close()
//	err = w.Run(ctx, func(b watch.Batch) { ... }) // publish sse.Reload(b.Files...) etc.
//
// # What is watched
//
// Every directory below a root gets its own watch, except the ignored ones
// (DefaultIgnore: version-control directories, node_modules, vendor, var,
// editors' swap, backup and temporary files, and what apps write into their
// own tree while they run: logs (*.log), SQLite databases and their
// journals, Python bytecode (__pycache__, *.pyc); Options.Ignore adds
// more). Options.ExcludeFiles names single files to leave out whatever
// their names, such as the file a program's own log is redirected to: a
// log line about a change must not be a change.
// A directory created later is watched as soon as its creation is seen, and
// the files already written into it by then are reported as created, so
// "mkdir -p a/b && echo x > a/b/c" is not lost. A directory that is deleted
// and created again is watched again. So is a root: when it disappears it
// is looked for every 50 ms and re-added, with its content reported, when
// it is back. Symbolic links to directories below a root are not followed.
// Unreadable directories and exhausted watch limits are logged (once per
// path) and skipped; they never stop the watcher.
//
// # Atomic saves
//
// Many editors save by writing a temporary file and renaming it over the
// target. The rename is the target's change; the temporary file is
// dropped, either because an ignore glob names it (*.tmp, *___jb_*___,
// *.swp, 4913, ...) or because it was created and renamed away (or
// deleted) within one change, which identifies temporaries of any name.
//
// # Timing
//
// A developer who saves one file expects the browser to follow within
// about 20 ms, so the watcher's own share must be a few milliseconds. A
// checkout rewriting 500 files must still give one batch, not 500 or 5. A
// fixed quiet window cannot do both: 5 ms is too short to keep a burst
// together on a busy machine, 50 ms is a large part of every save's budget.
// So the quiet window depends on what is pending:
//
//   - A change of one or two files settles after Debounce (5 ms) without
//     events. An editor's save, atomic or not, is a handful of events
//     well within a millisecond, so 5 ms sees it whole. The window restarts
//     with each event.
//   - Once three files are pending, the change is a burst (a checkout, a
//     build, a formatter run over the tree) and the window becomes
//     BurstDebounce (100 ms), so pauses of the writer do not split it. Only
//     bursts pay the longer wait, and nobody notices it there.
//   - DebounceFor widens the window by extension; by default ".go" files
//     wait 100 ms, since a restart is expensive and format-on-save tools
//     may write the file again just after the save.
//   - MaxWait (2 s) caps the time from a change's first event, so an
//     endless stream of writes still produces a batch every MaxWait.
//   - A change that is one stylesheet goes out on its first event that
//     finds the file non-empty (leading edge), unless Options.CSSWait is
//     set: stylesheets are the edit a developer repeats most, and their
//     css-update is cheap and cannot reload the page. The truncation that
//     starts an in-place save leaves the file empty, so it does not lead;
//     the save's later events are dropped if the file is still as it was
//     when it led (same size, modification time and inode), so a save is
//     one css-update. A burst whose first file is a stylesheet becomes one
//     css-update and then one batch for the rest: still one reload.
//
// Everything else waits for its window. Firing a reload on the first event
// was rejected: a save's first event is often the truncation, before the
// new content is there, and a burst of in-place writes (a formatter run)
// would be cut into its first file and the rest, which is two reloads.
//
// The settle timer is armed once per change and, when it fires, re-armed
// for whatever remains of the moving deadline, rather than reset on each
// of a burst's thousands of events. Before a change settles, the events
// already queued are handled, so a timer that fires while the process was
// short of CPU does not cut a burst whose next events are waiting.
//
// Measured on a busy 2-core machine (BenchmarkSaveToBatch): 5.7 to 6.4 ms
// from the write of a file to the callback with the defaults, 1.2 to 2 ms
// with Debounce set to 1 ms; beyond the window, about 0.5 ms is the Go
// timer's wake-up granularity and under 1 ms the path from the kernel to
// the callback. A burst of 500 files is one batch, delivered 100 to 110 ms
// (the burst window) after the last write (BenchmarkBurstToBatch).
//
// # Polling
//
// With Options.Poll the watcher opens no notification handle at all; it
// walks the roots every PollInterval (250 ms) and compares each file's
// modification time, size and inode number with the previous scan, which
// finds creations, modifications (including atomic saves, which change the
// inode) and deletions. Use it where notifications never arrive: Docker
// bind mounts, network drives, WSL mounts of Windows drives. A scan that
// finds changes is followed by another after the quiet window, and the
// change settles when a scan finds nothing new, so a burst that straddles
// two scans still makes one batch. Files modified within two seconds of a
// scan ("racy": a second write in the same timestamp tick, which lasts up
// to 2 s on some file systems, would leave time and size unchanged) are
// also compared by a hash of their content, up to 1 MiB. A scan costs one
// lstat per file and directory: about 8 ms of CPU for 2,000 files on the
// 2-core machine above (BenchmarkPollScan), so raise PollInterval for large
// trees.
//
// # Delivery
//
// Run calls its callback on its own goroutine, one batch at a time, in
// order; changes that settle while the callback runs are merged into the
// next batch. Files are slash-separated paths relative to their root,
// sorted and without duplicates.
//
// Known limits: a directory moved away (rather than deleted) is reported
// by its own path, since the kernel names none of its files; with
// notifications, a root moved away is reported when it comes back, not when
// it leaves; if the kernel
// drops events (an inotify queue overflow) a Reload batch is sent even if
// it names no file. Polling sees content changes only through time, size,
// inode or (recently modified files) the content hash.
package watch
