package process

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procDir is the procfs mount point.
const procDir = "/proc"

// procStat is the part of /proc/<pid>/stat this package needs.
type procStat struct {
	state byte   // R, S, D, Z, X, ...
	start uint64 // start time in clock ticks since boot; identifies the process across pid reuse
}

// readStat parses /proc/<pid>/stat. The error wraps fs.ErrNotExist when the
// process does not exist.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may itself contain
	// spaces and parentheses, so parse from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed start time: %w", pid, err)
	}
	return procStat{state: fields[0][0], start: start}, nil
}

// dead reports whether a stat state letter means the process has exited
// (a zombie waiting to be reaped counts as exited).
func (s procStat) dead() bool { return s.state == 'Z' || s.state == 'X' || s.state == 'x' }

// Cmdline returns the argument vector of process pid, read from
// /proc/<pid>/cmdline and split on NUL bytes. It returns an empty slice for
// processes without a command line (kernel threads, zombies) and an error
// wrapping fs.ErrNotExist when the process does not exist.
func Cmdline(pid int) ([]string, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("cmdline: invalid pid %d: %w", pid, fs.ErrNotExist)
	}
	b, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil, err
	}
	// Every argument is NUL-terminated, so only the final NUL is dropped;
	// further ones are empty arguments.
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return []string{}, nil
	}
	return strings.Split(string(b), "\x00"), nil
}

// Cwd returns the working directory of process pid, read from the
// /proc/<pid>/cwd link. It fails for a process that does not exist (the
// error wraps fs.ErrNotExist) and for one of another user (the error wraps
// fs.ErrPermission). A directory removed while the process runs is
// reported as an error: no file can be found relative to it.
func Cwd(pid int) (string, error) {
	if pid <= 0 {
		return "", fmt.Errorf("cwd: invalid pid %d: %w", pid, fs.ErrNotExist)
	}
	dir, err := os.Readlink(filepath.Join(procDir, strconv.Itoa(pid), "cwd"))
	if err != nil {
		return "", fmt.Errorf("cwd of pid %d: %w", pid, err)
	}
	if strings.HasSuffix(dir, " (deleted)") {
		return "", fmt.Errorf("cwd of pid %d: %s was removed", pid, strings.TrimSuffix(dir, " (deleted)"))
	}
	return dir, nil
}

// executable returns a path from which the program of process pid can be
// read, and the program file's name. The path is the /proc/<pid>/exe link,
// which opens the running program even when its file has since been
// replaced or deleted. It fails for processes of another user unless the
// caller may trace them.
func executable(pid int) (path, name string, err error) {
	path = filepath.Join(procDir, strconv.Itoa(pid), "exe")
	name, err = os.Readlink(path)
	if err != nil {
		return "", "", err
	}
	return path, strings.TrimSuffix(name, " (deleted)"), nil
}

// startTime identifies process pid across pid reuse: its start time in
// clock ticks since boot. The error wraps fs.ErrNotExist when the process
// does not exist or has exited (a zombie).
func startTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	if st.dead() {
		return 0, fmt.Errorf("pid %d has exited: %w", pid, fs.ErrNotExist)
	}
	return st.start, nil
}
