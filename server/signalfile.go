package server

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
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
// signalFilePoll until the server shuts down. Each time the file exists it
// is removed and Options.Reload is broadcast with the files it names.
func (s *Server) watchSignalFile(path string) *signalFileWatcher {
	loop, cancel := context.WithCancel(s.ctx)
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
				s.readSignalFile(path)
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

// readSignalFile broadcasts a reload when the signal file exists. It first
// renames the file to a name of its own, so that a signal written while it
// reads is a new file, seen at the next look, not lost to the removal.
func (s *Server) readSignalFile(path string) {
	taken := path + ".taken-" + strconv.Itoa(os.Getpid())
	if err := os.Rename(path, taken); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cannot take the reload signal file; it would reload browsers again", "path", path, "err", err)
		}
		return
	}
	b, err := os.ReadFile(taken)
	if rerr := os.Remove(taken); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		s.log.Warn("cannot remove the taken reload signal file", "path", taken, "err", rerr)
	}
	if err != nil {
		s.log.Warn("cannot read the reload signal file; reloading anyway", "path", path, "err", err)
	}
	var sf signalFile
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &sf); err != nil {
			s.log.Warn("the reload signal file is not JSON {files, timestamp}; reloading anyway", "path", path, "err", err)
		}
	}
	s.log.Info("reload signal file: reloading every browser", "files", sf.Files)
	if err := s.hub.Broadcast(context.Background(), s.opts.Reload(sf.Files...)); err != nil {
		s.log.Error("reload broadcast failed", "err", err)
	}
}
