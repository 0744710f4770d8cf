package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ExecutableName is the basename of the server binary. IsValksorSSE accepts
// executables whose basename is ExecutableName or starts with it.
const ExecutableName = "valksor-sse"

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

// Alive reports whether a process with this pid exists and has not exited.
// A zombie (exited but not yet reaped by its parent) is not alive. Pids below
// 1 are never alive.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	st, err := readStat(pid)
	if err != nil {
		// Without /proc only the signal probe is available; it said the
		// pid exists (EPERM also means it exists).
		return !errors.Is(err, fs.ErrNotExist)
	}
	return !st.dead()
}

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

// executable returns the path of the program process pid runs: the target of
// /proc/<pid>/exe, or argv[0] when that link cannot be read (for example a
// process of another user).
func executable(pid int) (string, error) {
	exe, err := os.Readlink(filepath.Join(procDir, strconv.Itoa(pid), "exe"))
	if err == nil && exe != "" {
		// A binary replaced or deleted after start shows as "path (deleted)".
		return strings.TrimSuffix(exe, " (deleted)"), nil
	}
	args, cerr := Cmdline(pid)
	if cerr != nil {
		return "", cerr
	}
	if len(args) == 0 || args[0] == "" {
		if err == nil {
			err = errors.New("no executable")
		}
		return "", fmt.Errorf("pid %d: %w", pid, err)
	}
	return args[0], nil
}

// IsValksorSSE reports whether process pid is alive and is a valksor-sse
// server: the basename of its executable (the /proc/<pid>/exe link, falling
// back to argv[0] when the link is unreadable) is ExecutableName or starts
// with it followed by "-" or "_", such as "valksor-sse-dev". Go test
// binaries ("valksor-sse.test") are not servers. It is false for dead, zombie
// and unknown processes.
func IsValksorSSE(pid int) bool {
	if !Alive(pid) {
		return false
	}
	exe, err := executable(pid)
	if err != nil {
		return false
	}
	return isServerName(filepath.Base(exe))
}

// isServerName reports whether an executable basename is a valksor-sse server.
func isServerName(base string) bool {
	rest, ok := strings.CutPrefix(base, ExecutableName)
	return ok && (rest == "" || rest[0] == '-' || rest[0] == '_') && !strings.HasSuffix(rest, ".test")
}
