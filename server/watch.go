package server

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/watch"
)

// watcher runs the file watcher and publishes what changes.
type watcher struct {
	w      *watch.Watcher
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// startWatcher watches Options.Watch (nothing to do without it or when no
// path exists) and turns each batch into a browser event: css-update
// (with the new asset URLs when the mapper knows them) for stylesheets,
// reload otherwise, restart through Watch.Restart. The files the process's
// own output goes to are never watched: with "valksor-sse --watch . >
// sse.log 2>&1", each "files changed" line would otherwise be a change of
// sse.log, and the browsers would reload forever.
func (s *Server) startWatcher() (*watcher, error) {
	if s.opts.Watch == nil {
		return nil, nil
	}
	cfg := *s.opts.Watch
	o := cfg.Options
	if o.Logger == nil {
		o.Logger = s.log
	}
	o.Paths = s.existing(o.Paths)
	if len(o.Paths) == 0 {
		return nil, nil
	}
	for _, f := range ownOutput() {
		if within(f, o.Paths) {
			o.ExcludeFiles = append(o.ExcludeFiles, f)
			s.log.Info("not watching the server's own log", "path", f)
		}
	}
	w, err := watch.New(o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	wt := &watcher{w: w, cancel: cancel}
	logical := assetNames(cfg.AssetDirs, o.Paths)
	wt.done.Add(1)
	go func() {
		defer wt.done.Done()
		err := w.Run(ctx, func(b watch.Batch) { s.changed(ctx, b, cfg.Restart, logical) })
		if err != nil && ctx.Err() == nil {
			s.log.Error("file watcher stopped", "err", err)
		}
	}()
	s.log.Info("watching for changes", "paths", o.Paths, "poll", o.Poll)
	return wt, nil
}

// existing returns the paths that can be read, logging the others: a typo
// in a watch path must not take the server down.
func (s *Server) existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			msg := "not watching a path that cannot be read; fix its permissions, then restart"
			if errors.Is(err, fs.ErrNotExist) {
				msg = "not watching a path that does not exist; create it or fix --watch / watch.paths, then restart"
			}
			s.log.Error(msg, "path", p, "err", err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// changed publishes one batch of changes.
func (s *Server) changed(ctx context.Context, b watch.Batch, restart func(context.Context, []string), logical func(string) []string) {
	s.log.Info("files changed", "action", b.Action, "files", b.Files)
	switch {
	case b.Action == watch.Restart && restart != nil:
		restart(ctx, b.Files)
	case b.Action == watch.CSSUpdate:
		if err := s.hub.Broadcast(ctx, cssUpdate(b.Files, s.opts.Mapper, logical)); err != nil {
			s.log.Error("css-update broadcast failed", "err", err)
		}
	default:
		if err := s.hub.Broadcast(ctx, s.opts.Reload(b.Files...)); err != nil {
			s.log.Error("reload broadcast failed", "err", err)
		}
	}
}

// stop stops the watcher and waits for it. A nil watcher is fine.
func (wt *watcher) stop() {
	if wt == nil {
		return
	}
	wt.cancel()
	_ = wt.w.Close()
	wt.done.Wait()
}

// ownOutput returns the regular files this process's standard output and
// standard error are written to, without duplicates (2>&1 gives one).
// Terminals, pipes and sockets are not files anyone watches and are left
// out. Only Linux tells (through /proc/self/fd); elsewhere the result is
// empty.
func ownOutput() []string {
	if runtime.GOOS != "linux" {
		return nil
	}
	var files []string
	for _, fd := range []string{"/proc/self/fd/1", "/proc/self/fd/2"} {
		fi, err := os.Stat(fd)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		p, err := os.Readlink(fd)
		if err != nil || !filepath.IsAbs(p) {
			continue
		}
		// A deleted file reads as "PATH (deleted)", and a file opened
		// in another mount namespace may have a path that names a
		// different file here: keep only a path that is the file.
		if pfi, err := os.Stat(p); err != nil || !os.SameFile(fi, pfi) {
			continue
		}
		if !slices.Contains(files, p) {
			files = append(files, p)
		}
	}
	return files
}

// within reports whether file is one of roots or lies below one of them,
// comparing the paths with symbolic links resolved.
func within(file string, roots []string) bool {
	file, err := filepath.EvalSymlinks(file)
	if err != nil {
		return false
	}
	for _, r := range roots {
		abs, err := filepath.Abs(r)
		if err != nil {
			continue
		}
		if res, err := filepath.EvalSymlinks(abs); err == nil {
			abs = res
		}
		rel, err := filepath.Rel(abs, file)
		if err != nil {
			continue
		}
		if rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))) {
			return true
		}
	}
	return false
}

// assetNames returns a function that gives the logical asset paths a
// changed file (relative to one of the watched roots) may have: the file is
// an asset when it lies under one of the asset directories.
func assetNames(assetDirs []AssetDir, roots []string) func(file string) []string {
	type dir struct{ ns, abs string }
	var dirs []dir
	for _, a := range assetDirs {
		if abs, err := filepath.Abs(a.Dir); err == nil {
			dirs = append(dirs, dir{a.Namespace, abs})
		}
	}
	return func(file string) []string {
		var out []string
		for _, root := range roots {
			abs, err := filepath.Abs(filepath.Join(root, filepath.FromSlash(file)))
			if err != nil {
				continue
			}
			for _, d := range dirs {
				rel, err := filepath.Rel(d.abs, abs)
				if err != nil || strings.HasPrefix(rel, "..") {
					continue
				}
				out = append(out, path.Join(d.ns, filepath.ToSlash(rel)))
			}
		}
		return out
	}
}

// cssUpdate builds the css-update event. When a changed file is also an
// asset, its new digested URL goes along, so the browser loads the new
// content and not the old digest's.
func cssUpdate(files []string, mapper *assets.Mapper, logical func(string) []string) sse.Event {
	urls := map[string]string{}
	if mapper != nil {
		_ = mapper.Reload()
		for _, f := range files {
			for _, name := range logical(f) {
				if p, err := mapper.PublicPath(name); err == nil {
					urls[f] = p
					break
				}
			}
		}
	}
	if files == nil {
		files = []string{}
	}
	return sse.Event{Type: sse.TypeCSSUpdate, Data: map[string]any{"files": files, "urls": urls}}
}
