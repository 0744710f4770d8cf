package process

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// stillActive is the exit code GetExitCodeProcess reports for a process
// that has not exited.
const stillActive = 259

// Alive reports whether a process with this pid exists and has not exited.
// Pids below 1 are never alive.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		// Access denied means the process exists but is not ours to open.
		return errors.Is(err, windows.ERROR_ACCESS_DENIED)
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	return code == stillActive
}

// Cmdline is not available on Windows: it returns an error wrapping
// errors.ErrUnsupported.
func Cmdline(pid int) ([]string, error) {
	return nil, fmt.Errorf("cmdline of pid %d: %w", pid, errUnsupported)
}

// Cwd is not available on Windows: it returns an error wrapping
// errors.ErrUnsupported.
func Cwd(pid int) (string, error) {
	return "", fmt.Errorf("cwd of pid %d: %w", pid, errUnsupported)
}

// executable returns the full path of the program process pid runs,
// twice: to read it, and as its name.
func executable(pid int) (path, name string, err error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return "", "", fmt.Errorf("executable of pid %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return "", "", fmt.Errorf("executable of pid %d: %w", pid, err)
	}
	path = windows.UTF16ToString(buf[:n])
	return path, path, nil
}
