//go:build unix

package process

import (
	"errors"
	"io/fs"
	"syscall"
)

// Alive reports whether a process with this pid exists and has not exited.
// A zombie (exited but not yet reaped by its parent) is not alive where the
// system can tell one (Linux and macOS). Pids below 1 are never alive.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	// EPERM means the pid exists but belongs to another user.
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	_, err := startTime(pid)
	return !errors.Is(err, fs.ErrNotExist)
}
