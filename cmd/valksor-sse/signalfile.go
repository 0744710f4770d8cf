package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	sse "github.com/valksor/go-sse"
)

// signalFilePoll is how often the reload signal file is looked for.
const signalFilePoll = 100 * time.Millisecond

// signalFile is the JSON the PHP component's watcher writes to ask for a
// reload.
type signalFile struct {
	Files     []string `json:"files"`
	Timestamp float64  `json:"timestamp"`
}

// signalFileWatcher looks for the reload signal file until stopped; see
// watchSignalFile.
type signalFileWatcher struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// watchSignalFile looks for the reload signal file at path every
// signalFilePoll, until ctx ends or stop is called. Each time the file
// exists it is removed and reload(files...) is broadcast on hub, with the
// files the file names. serve reloads with sse.Reload, dev with the
// event of appReload.
func watchSignalFile(ctx context.Context, path string, hub *sse.Hub, reload func(files ...string) sse.Event, logger *slog.Logger) *signalFileWatcher {
	loop, cancel := context.WithCancel(ctx)
	w := &signalFileWatcher{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		poll := time.NewTicker(signalFilePoll)
		defer poll.Stop()
		for {
			select {
			case <-loop.Done():
				return
			case <-poll.C:
				readSignalFile(ctx, path, hub, reload, logger)
			}
		}
	}()
	return w
}

// stop stops looking for the signal file and waits until a reload in
// progress is broadcast. It may be called more than once.
func (w *signalFileWatcher) stop() {
	w.cancel()
	<-w.done
}

// readSignalFile broadcasts reload when the signal file exists. It first
// renames the file to a name of its own, so that a signal written while it
// reads is a new file, seen at the next look, not lost to the removal.
func readSignalFile(ctx context.Context, path string, hub *sse.Hub, reload func(files ...string) sse.Event, logger *slog.Logger) {
	taken := path + ".taken-" + strconv.Itoa(os.Getpid())
	if err := os.Rename(path, taken); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			logger.Warn("cannot take the reload signal file; it would reload browsers again", "path", path, "err", err)
		}
		return
	}
	b, err := os.ReadFile(taken)
	if rerr := os.Remove(taken); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		logger.Warn("cannot remove the taken reload signal file", "path", taken, "err", rerr)
	}
	if err != nil {
		logger.Warn("cannot read the reload signal file; reloading anyway", "path", path, "err", err)
	}
	var sf signalFile
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &sf); err != nil {
			logger.Warn("the reload signal file is not JSON {files, timestamp}; reloading anyway", "path", path, "err", err)
		}
	}
	logger.Info("reload signal file: reloading every browser", "files", sf.Files)
	if err := hub.Broadcast(ctx, reload(sf.Files...)); err != nil {
		logger.Error("reload broadcast failed", "err", err)
	}
}
