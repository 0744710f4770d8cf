package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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

// maxSignalFile is the largest signal file read; the PHP component writes
// a few hundred bytes. A larger one still reloads, without its file list.
const maxSignalFile = 64 << 10

// readSignalFile broadcasts a reload when the signal file exists. It first
// renames the file to a name of its own, so that a signal written while it
// reads is a new file, seen at the next look, not lost to the removal.
// Only a regular file is read, at most maxSignalFile bytes of it, and never
// in a way that can block: a FIFO or a device at that path is removed with
// a warning, so that it can hold up neither the watcher nor a shutdown.
func (s *Server) readSignalFile(path string) {
	taken := path + ".taken-" + strconv.Itoa(os.Getpid())
	if err := os.Rename(path, taken); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cannot take the reload signal file; it would reload browsers again", "path", path, "err", err)
		}
		return
	}
	b, err := readRegular(taken, maxSignalFile)
	if rerr := os.Remove(taken); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		s.log.Warn("cannot remove the taken reload signal file", "path", taken, "err", rerr)
	}
	var notRegular *notRegularError
	switch {
	case errors.As(err, &notRegular):
		s.log.Warn("the reload signal file is not a regular file; removed it without reloading", "path", path, "type", notRegular.mode.Type().String())
		return
	case errors.Is(err, errTooLarge):
		s.log.Warn("the reload signal file is larger than a signal; reloading without its file list", "path", path, "limit_bytes", maxSignalFile)
	case err != nil:
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

// errTooLarge is readRegular's error for a file over its limit.
var errTooLarge = errors.New("file too large")

// notRegularError is readRegular's error for a FIFO, device, socket or
// directory.
type notRegularError struct{ mode os.FileMode }

func (e *notRegularError) Error() string { return "not a regular file: " + e.mode.Type().String() }

// readRegular reads the regular file at path, up to limit bytes. It opens
// the file without blocking (a FIFO with no writer would block an ordinary
// open) and refuses anything but a regular file.
func readRegular(path string, limit int64) ([]byte, error) {
	if fi, err := os.Lstat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, &notRegularError{fi.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlocking, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() { // swapped between Lstat and open
		return nil, &notRegularError{fi.Mode()}
	}
	if fi.Size() > limit {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, err
}
