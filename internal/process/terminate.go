package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// pollInterval is how often Terminate looks at /proc while waiting.
const pollInterval = 20 * time.Millisecond

// killWait is how long Terminate waits for the process to vanish after SIGKILL.
const killWait = time.Second

// Terminate stops process pid: it sends SIGTERM, waits up to grace for the
// process to exit (polling /proc every 20ms), then sends SIGKILL and waits up
// to one more second. It works for processes that are not children of the
// caller; a zombie counts as exited, so it also works for children, which the
// caller must still reap. The process is identified by its pid and start
// time, so a pid reused by a new process while waiting counts as exited and
// is never signalled. A pid that is not running is not an error. Terminate
// returns an error when pid is not positive or is the calling process, when
// a signal cannot be sent (for example EPERM), when ctx ends first (the error
// wraps ctx.Err()), and when the process survives SIGKILL.
func Terminate(ctx context.Context, pid int, grace time.Duration) error {
	if pid <= 0 {
		return fmt.Errorf("terminate: invalid pid %d", pid)
	}
	if pid == os.Getpid() {
		return fmt.Errorf("terminate: pid %d is the calling process", pid)
	}
	st, err := readStat(pid)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("terminate pid %d: %w", pid, err)
	}
	if st.dead() {
		return nil
	}
	// On Linux FindProcess holds a pidfd, which pins the process: signals
	// sent through it cannot reach a later process reusing the pid.
	p, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("terminate pid %d: %w", pid, err)
	}
	defer func() { _ = p.Release() }()
	if gone(pid, st.start) { // exited or replaced before the pidfd was taken
		return nil
	}

	if err := p.Signal(syscall.SIGTERM); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return nil
		}
		return fmt.Errorf("terminate pid %d: send SIGTERM: %w", pid, err)
	}
	if ok, err := waitGone(ctx, pid, st.start, grace); ok {
		return nil
	} else if err != nil {
		return fmt.Errorf("terminate pid %d: still running after SIGTERM: %w", pid, err)
	}

	if err := p.Signal(syscall.SIGKILL); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return nil
		}
		return fmt.Errorf("terminate pid %d: still running %v after SIGTERM; send SIGKILL: %w", pid, grace, err)
	}
	if ok, err := waitGone(ctx, pid, st.start, killWait); ok {
		return nil
	} else if err != nil {
		return fmt.Errorf("terminate pid %d: still running after SIGKILL: %w", pid, err)
	}
	return fmt.Errorf("terminate pid %d: still running %v after SIGTERM and %v after SIGKILL (stuck in the kernel?)", pid, grace, killWait)
}

// gone reports whether the process with this pid and start time no longer
// runs: it does not exist, is a zombie, or the pid now names another process.
func gone(pid int, start uint64) bool {
	st, err := readStat(pid)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	return st.dead() || st.start != start
}

// waitGone polls until the process is gone (true), d elapses (false, nil) or
// ctx ends (false, ctx.Err()).
func waitGone(ctx context.Context, pid int, start uint64, d time.Duration) (bool, error) {
	if gone(pid, start) {
		return true, nil
	}
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return gone(pid, start), ctx.Err()
		case <-deadline.C:
			return gone(pid, start), nil
		case <-tick.C:
			if gone(pid, start) {
				return true, nil
			}
		}
	}
}
