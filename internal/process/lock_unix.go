//go:build unix && !aix && !solaris && !illumos

package process

import (
	"errors"
	"os"
	"syscall"
)

// openLockFile opens (creating it if needed) the pid file for locking and
// writing.
func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// isTransientOpenError reports whether opening the pid file may succeed if
// tried again. Never here.
func isTransientOpenError(error) bool { return false }

// lockFile tries to take flock(2)'s lock on file without waiting: exclusive
// for the server, shared for a probe. It reports false when another open
// file holds a conflicting lock. The lock belongs to this open file (not to
// the process), so it conflicts with other opens in this process too, and
// it ends when the file is closed or the process exits.
func lockFile(file *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(file.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

// probeLock reports whether a process holds the pid file's lock. It takes a
// shared lock for an instant, which cannot disturb the holder; a server
// starting at that very instant retries (see Acquire). A missing file
// yields an error wrapping fs.ErrNotExist.
func probeLock(path string) (bool, error) {
	file, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer file.Close()
	free, err := lockFile(file, false)
	return !free, err
}
