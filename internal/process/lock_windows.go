package process

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffset is where the one locked byte lies. Windows locks are
// mandatory: a locked range cannot be read by anyone else. Locking a byte
// far past the end of the file leaves the pid itself readable.
const lockOffset = 1 << 40

// openLockFile opens (creating it if needed) the pid file for locking and
// writing. Unlike os.OpenFile it lets the file be deleted while open, so
// that the server can remove its pid file while it still holds the lock.
func openLockFile(path string) (*os.File, error) {
	return openShared(path, windows.GENERIC_READ|windows.GENERIC_WRITE, windows.OPEN_ALWAYS)
}

// openShared opens path with every kind of sharing allowed.
func openShared(path string, access, disposition uint32) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, access,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, disposition, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// isTransientOpenError reports whether opening the pid file may succeed if
// tried again: a file that its server is deleting cannot be opened until
// the server has closed it.
func isTransientOpenError(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_DELETE_PENDING)
}

// lockFile tries to lock the byte at lockOffset without waiting: exclusive
// for the server, shared for a probe. It reports false when another handle
// holds a conflicting lock. The lock belongs to this handle and ends when
// it is closed or the process exits.
func lockFile(file *os.File, exclusive bool) (bool, error) {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	ol := windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
	err := windows.LockFileEx(windows.Handle(file.Fd()), flags, 0, 1, 0, &ol)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, err
}

// probeLock reports whether a process holds the pid file's lock, by taking
// a shared lock for an instant. A missing file yields an error wrapping
// fs.ErrNotExist.
func probeLock(path string) (bool, error) {
	file, err := openShared(path, windows.GENERIC_READ, windows.OPEN_EXISTING)
	if err != nil {
		return false, err
	}
	defer file.Close()
	free, err := lockFile(file, false)
	return !free, err
}
