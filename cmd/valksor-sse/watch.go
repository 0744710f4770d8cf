package main

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/watch"
)

// watchFlags are the flags that add to the watch block of the config.
type watchFlags struct {
	paths stringList
	poll  bool
}

func (w *watchFlags) register(fs *flag.FlagSet) {
	fs.Var(&w.paths, "watch", "reload browsers when files under `DIR` change (repeatable; adds to watch.paths)")
	fs.BoolVar(&w.poll, "poll", false, "poll watched files instead of using inotify (Docker bind mounts, network drives, WSL)")
}

func (w watchFlags) apply(cfg *config.Config) {
	cfg.Watch = append(cfg.Watch, w.paths...)
	if w.poll {
		cfg.WatchPoll = true
	}
}

// watcher runs the file watcher of the config and publishes what changes.
type watcher struct {
	w      *watch.Watcher
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// watchHooks are what serve and dev do differently with a batch.
type watchHooks struct {
	// mapper, when set, gives stylesheets under the asset directories
	// their new digested URLs in css-update events.
	mapper *assets.Mapper
	// restart, when set, handles batches that map to the restart action
	// (the dev command restarts the app); without it they reload browsers.
	restart func(context.Context, []string)
	// reload makes the reload event; nil means sse.Reload.
	reload func(files ...string) sse.Event
}

// startWatcher watches cfg.Watch (nothing to do when it is empty) and turns
// each batch into a browser event: css-update (with the new asset URLs
// when h.mapper knows them) for stylesheets, reload otherwise, restart
// through h.restart. The files the process's own output goes to are never
// watched: with "valksor-sse --watch . > sse.log 2>&1", each "files
// changed" line would otherwise be a change of sse.log, and the browsers
// would reload forever. Stop the watcher with stop.
func startWatcher(ctx context.Context, cfg config.Config, resolve func(string) string, hub *sse.Hub, logger *slog.Logger, h watchHooks) (*watcher, error) {
	if len(cfg.Watch) == 0 {
		return nil, nil
	}
	if h.reload == nil {
		h.reload = sse.Reload
	}
	o := watch.Options{
		Ignore:       cfg.WatchIgnore,
		Debounce:     cfg.WatchDebounce,
		CSSWait:      cfg.WatchCSSWait,
		Poll:         cfg.WatchPoll,
		PollInterval: cfg.WatchPollInterval,
		Logger:       logger,
	}
	for _, p := range cfg.Watch {
		if _, err := os.Stat(resolve(p)); err != nil {
			// A typo in a watch path must not take the server down.
			msg := "not watching a path that cannot be read; fix its permissions, then restart"
			if errors.Is(err, fs.ErrNotExist) {
				msg = "not watching a path that does not exist; create it or fix --watch / watch.paths, then restart"
			}
			logger.Error(msg, "path", p, "err", err)
			continue
		}
		o.Paths = append(o.Paths, resolve(p))
	}
	logical := assetNames(cfg, o.Paths, resolve)
	if len(o.Paths) == 0 {
		return nil, nil
	}
	for _, f := range ownOutput() {
		if within(f, o.Paths) {
			o.ExcludeFiles = append(o.ExcludeFiles, f)
			logger.Info("not watching the server's own log", "path", f)
		}
	}
	for _, r := range cfg.WatchRules {
		glob, action, _ := strings.Cut(r, "=")
		o.Rules = append(o.Rules, watch.Rule{Pattern: glob, Action: watch.Action(action)})
	}
	w, err := watch.New(o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	wt := &watcher{w: w, cancel: cancel}
	wt.done.Add(1)
	go func() {
		defer wt.done.Done()
		err := w.Run(ctx, func(b watch.Batch) {
			logger.Info("files changed", "action", b.Action, "files", b.Files)
			switch {
			case b.Action == watch.Restart && h.restart != nil:
				h.restart(ctx, b.Files)
			case b.Action == watch.CSSUpdate:
				if err := hub.Broadcast(ctx, cssUpdate(b.Files, h.mapper, logical)); err != nil {
					logger.Error("css-update broadcast failed", "err", err)
				}
			default:
				if err := hub.Broadcast(ctx, h.reload(b.Files...)); err != nil {
					logger.Error("reload broadcast failed", "err", err)
				}
			}
		})
		if err != nil && ctx.Err() == nil {
			logger.Error("file watcher stopped", "err", err)
		}
	}()
	logger.Info("watching for changes", "paths", o.Paths, "poll", cfg.WatchPoll)
	return wt, nil
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

// stop stops the watcher and waits for it. A nil watcher is fine.
func (wt *watcher) stop() {
	if wt == nil {
		return
	}
	wt.cancel()
	_ = wt.w.Close()
	wt.done.Wait()
}

// assetNames returns a function that gives the logical asset paths a
// changed file (relative to one of the watched roots) may have: the file is
// an asset when it lies under one of the configured asset directories.
func assetNames(cfg config.Config, roots []string, resolve func(string) string) func(file string) []string {
	type dir struct{ ns, abs string }
	var dirs []dir
	for _, a := range cfg.Assets {
		ns, d, ok := strings.Cut(a, "=")
		if !ok {
			ns, d = "", a
		}
		if abs, err := filepath.Abs(resolve(d)); err == nil {
			dirs = append(dirs, dir{ns, abs})
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
