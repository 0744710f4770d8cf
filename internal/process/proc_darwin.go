package process

import (
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/sys/unix"
)

// sZomb is the p_stat of a zombie in the kernel's kinfo_proc.
const sZomb = 5

// startTime identifies process pid across pid reuse: its start time in
// microseconds, from the kernel's process table. The error wraps
// fs.ErrNotExist when the process does not exist or has exited (a zombie).
func startTime(pid int) (uint64, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	if int(kp.Proc.P_pid) != pid || kp.Proc.P_stat == sZomb {
		return 0, fmt.Errorf("pid %d has exited: %w", pid, fs.ErrNotExist)
	}
	tv := kp.Proc.P_starttime
	return uint64(tv.Sec)*1e6 + uint64(tv.Usec), nil
}

// procArgs reads the kernel's record of how process pid was started: the
// path of its executable and its argument vector (kern.procargs2). Only
// the caller's own processes can be read, unless run as root.
func procArgs(pid int) (exe string, args []string, err error) {
	if pid <= 0 {
		return "", nil, fmt.Errorf("invalid pid %d: %w", pid, fs.ErrNotExist)
	}
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return "", nil, fmt.Errorf("arguments of pid %d: %w", pid, err)
	}
	exe, args, err = parseProcArgs(b)
	if err != nil {
		return "", nil, fmt.Errorf("arguments of pid %d: %w", pid, err)
	}
	return exe, args, nil
}

// Cmdline returns the argument vector of process pid. It fails for
// processes of another user.
func Cmdline(pid int) ([]string, error) {
	_, args, err := procArgs(pid)
	if args == nil && err == nil {
		args = []string{}
	}
	return args, err
}

// Cwd is not available on macOS: it returns an error wrapping
// errors.ErrUnsupported.
func Cwd(pid int) (string, error) {
	return "", fmt.Errorf("cwd of pid %d: %w", pid, errUnsupported)
}

// executable returns the path of the program process pid runs, twice: to
// read it, and as its name.
func executable(pid int) (path, name string, err error) {
	exe, _, err := procArgs(pid)
	if err == nil && !strings.HasPrefix(exe, "/") {
		err = fmt.Errorf("pid %d: executable path %q is not absolute", pid, exe)
	}
	return exe, exe, err
}
