//go:build unix

package process

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// The names Terminate's errors use for its two steps.
const (
	stopName = "SIGTERM"
	killName = "SIGKILL"
)

// unixTarget is a process pinned by its pid and start time and, on Linux,
// by the pidfd os.FindProcess holds: signals sent through it cannot reach
// a later process reusing the pid.
type unixTarget struct {
	p     *os.Process
	pid   int
	start uint64
	known bool // start is known; where it is not, pid reuse cannot be told
}

// openTarget pins process pid, or returns nil when it is not running.
func openTarget(pid int) (target, error) {
	start, err := startTime(pid)
	known := err == nil
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, errUnsupported):
		if !Alive(pid) {
			return nil, nil
		}
	case err != nil:
		return nil, err
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil, err
	}
	t := &unixTarget{p: p, pid: pid, start: start, known: known}
	if t.gone() { // exited or replaced before the pidfd was taken
		t.release()
		return nil, nil
	}
	return t, nil
}

func (t *unixTarget) gone() bool {
	if !t.known {
		return !Alive(t.pid)
	}
	start, err := startTime(t.pid)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	return start != t.start
}

func (t *unixTarget) stop() (bool, error) {
	return true, t.signal(syscall.SIGTERM)
}

func (t *unixTarget) kill() error { return t.signal(syscall.SIGKILL) }

// signal sends sig; a process that is already done is not an error.
func (t *unixTarget) signal(sig os.Signal) error {
	if err := t.p.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (t *unixTarget) release() { _ = t.p.Release() }
