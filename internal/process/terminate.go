package process

import (
	"context"
	"fmt"
	"os"
	"time"
)

// pollInterval is how often Terminate looks whether the process is gone.
const pollInterval = 20 * time.Millisecond

// killWait is how long Terminate waits for the process to vanish after it
// was killed.
const killWait = time.Second

// target is a process being terminated, pinned so that a later process
// reusing its pid is never mistaken for it. The platform files provide it.
type target interface {
	// gone reports whether the process has exited (a zombie counts) or its
	// pid now names another process.
	gone() bool
	// stop asks the process to exit gracefully (SIGTERM on Unix, the stop
	// event on Windows). It reports false, without error, when the process
	// offers no way to be asked, and then Terminate kills it at once.
	stop() (bool, error)
	// kill ends the process without its cooperation.
	kill() error
	// release frees what pins the process.
	release()
}

// Terminate stops process pid: it asks the process to exit (SIGTERM on
// Unix; on Windows the stop request a valksor-sse waits for, see
// NotifyStop), waits up to grace for it to exit (polling every 20ms), then
// kills it (SIGKILL, or TerminateProcess) and waits up to one more second.
// A process that cannot be asked is killed at once. It works for processes
// that are not children of the caller; a zombie counts as exited, so it
// also works for children, which the caller must still reap. The process is
// pinned when Terminate starts, so a pid reused by a new process while
// waiting counts as exited and is never signalled. A pid that is not
// running is not an error. Terminate returns an error when pid is not
// positive or is the calling process, when the process cannot be signalled
// (for example it belongs to another user), when ctx ends first (the error
// wraps ctx.Err()), and when the process survives being killed.
func Terminate(ctx context.Context, pid int, grace time.Duration) error {
	if pid <= 0 {
		return fmt.Errorf("terminate: invalid pid %d", pid)
	}
	if pid == os.Getpid() {
		return fmt.Errorf("terminate: pid %d is the calling process", pid)
	}
	p, err := openTarget(pid)
	if err != nil {
		return fmt.Errorf("terminate pid %d: %w", pid, err)
	}
	if p == nil { // not running
		return nil
	}
	defer p.release()
	return terminate(ctx, p, pid, grace)
}

// terminate is Terminate's sequence for a pinned process.
func terminate(ctx context.Context, p target, pid int, grace time.Duration) error {
	asked, err := p.stop()
	if err != nil {
		if p.gone() {
			return nil
		}
		return fmt.Errorf("terminate pid %d: ask it to stop (%s): %w", pid, stopName, err)
	}
	if asked {
		if ok, err := waitGone(ctx, p, grace); ok {
			return nil
		} else if err != nil {
			return fmt.Errorf("terminate pid %d: still running after %s: %w", pid, stopName, err)
		}
	}
	if err := p.kill(); err != nil {
		if p.gone() {
			return nil
		}
		return fmt.Errorf("terminate pid %d: still running %v after %s; %s: %w", pid, grace, stopName, killName, err)
	}
	if ok, err := waitGone(ctx, p, killWait); ok {
		return nil
	} else if err != nil {
		return fmt.Errorf("terminate pid %d: still running after %s: %w", pid, killName, err)
	}
	return fmt.Errorf("terminate pid %d: still running %v after %s and %v after %s (stuck in the kernel?)", pid, grace, stopName, killWait, killName)
}

// waitGone polls until p is gone (true), d elapses (false, nil) or ctx
// ends (false, ctx.Err()).
func waitGone(ctx context.Context, p target, d time.Duration) (bool, error) {
	if p.gone() {
		return true, nil
	}
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return p.gone(), ctx.Err()
		case <-deadline.C:
			return p.gone(), nil
		case <-tick.C:
			if p.gone() {
				return true, nil
			}
		}
	}
}
