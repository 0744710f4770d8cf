package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultPIDFile is the pid file path used when PIDFile.Path is empty. It is
// relative to the working directory, like the PHP component's.
const DefaultPIDFile = "var/run/valksor-sse.pid"

// ErrBadPIDFile is wrapped by the error PIDFile.Read returns when the file
// exists but does not hold a process id.
var ErrBadPIDFile = errors.New("pid file does not hold a process id")

// PIDFile manages the file recording the pid of the running server. The
// content is the decimal pid followed by a newline, compatible with the PHP
// component. The zero value uses DefaultPIDFile.
type PIDFile struct {
	// Path is the file's location; "" means DefaultPIDFile.
	Path string
}

// path returns the effective file path.
func (f PIDFile) path() string {
	if f.Path == "" {
		return DefaultPIDFile
	}
	return f.Path
}

// Write records pid in the file. It creates missing parent directories with
// mode 0755 and replaces the file atomically (a temporary file in the same
// directory renamed over it), so a reader never sees partial content. The
// file gets mode 0644. pid must be positive.
func (f PIDFile) Write(pid int) error {
	path := f.path()
	if pid <= 0 {
		return fmt.Errorf("write pid file %s: invalid pid %d", path, pid)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	if _, err := tmp.WriteString(strconv.Itoa(pid) + "\n"); err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	done = true
	return nil
}

// badContentError reports pid file content that is not a process id.
type badContentError struct {
	path, content string
}

// Error describes the file and its (shortened) content.
func (e *badContentError) Error() string {
	c := e.content
	if len(c) > 40 {
		c = c[:40] + "..."
	}
	return fmt.Sprintf("pid file %s: content %q is not a process id (want a positive decimal number)", e.path, c)
}

// Unwrap makes errors.Is(err, ErrBadPIDFile) true.
func (e *badContentError) Unwrap() error { return ErrBadPIDFile }

// Read returns the pid recorded in the file; surrounding whitespace is
// ignored. A missing file yields an error for which
// errors.Is(err, os.ErrNotExist) is true; content that is not a positive
// decimal number yields an error wrapping ErrBadPIDFile.
func (f PIDFile) Read() (int, error) {
	path := f.path()
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || s[0] == '+' {
		return 0, &badContentError{path: path, content: string(b)}
	}
	return pid, nil
}

// Remove deletes the file. A file that is already gone is not an error.
func (f PIDFile) Remove() error {
	if err := os.Remove(f.path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove pid file: %w", err)
	}
	return nil
}

// CheckResult is what PIDFile.Check found.
type CheckResult struct {
	// PID is the pid of the running valksor-sse server, or 0.
	PID int
	// Running is true when the file names a live valksor-sse process.
	Running bool
	// Stale, when not empty, says which stale pid file Check removed and
	// why, in a form suitable for logging. It is empty when Running is true
	// or when there was no pid file.
	Stale string
}

// Check inspects the pid file without trusting it. When the file names a
// live valksor-sse process (see IsValksorSSE) other than the calling process,
// it returns Running true and that pid. When the file is stale (garbage
// content, the pid is not running, the pid now belongs to another program,
// or it names the calling process itself, as after a container restart) it
// removes the file and explains why in Stale. A missing file yields the zero
// CheckResult. Errors are returned only when the file cannot be read or
// removed.
func (f PIDFile) Check() (CheckResult, error) {
	path := f.path()
	pid, err := f.Read()
	var reason string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return CheckResult{}, nil
	case errors.Is(err, ErrBadPIDFile):
		reason = err.Error()
		reason = strings.TrimPrefix(reason, "pid file "+path+": ")
	case err != nil:
		return CheckResult{}, err
	case pid == os.Getpid():
		reason = fmt.Sprintf("pid %d is this process", pid)
	case !Alive(pid):
		reason = fmt.Sprintf("pid %d is not running", pid)
	case !IsValksorSSE(pid):
		who := "an unknown program"
		if args, err := Cmdline(pid); err == nil && len(args) > 0 {
			who = Owner{PID: pid, Cmdline: args}.String()
		}
		reason = fmt.Sprintf("pid %d now belongs to another program: %s", pid, who)
		if !Alive(pid) { // it exited while we looked
			reason = fmt.Sprintf("pid %d is not running", pid)
		}
	default:
		return CheckResult{PID: pid, Running: true}, nil
	}
	if err := f.Remove(); err != nil {
		return CheckResult{}, fmt.Errorf("remove stale pid file %s (%s): %w", path, reason, err)
	}
	return CheckResult{Stale: fmt.Sprintf("removed stale pid file %s: %s", path, reason)}, nil
}
