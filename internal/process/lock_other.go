//go:build (!unix && !windows) || aix || solaris || illumos

package process

import "os"

// openLockFile opens (creating it if needed) the pid file for writing.
func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// isTransientOpenError reports false: opening is not retried here.
func isTransientOpenError(error) bool { return false }

// lockFile returns errNoLocks: this system has no lock the package uses.
func lockFile(*os.File, bool) (bool, error) { return false, errNoLocks }

// probeLock returns errNoLocks, or an error wrapping fs.ErrNotExist for a
// missing file.
func probeLock(path string) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		return false, err
	}
	return false, errNoLocks
}
