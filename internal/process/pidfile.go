package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultPIDFile is the pid file path used when PIDFile.Path is empty. It is
// relative to the working directory, like the PHP component's.
const DefaultPIDFile = "var/run/valksor-sse.pid"

// ErrBadPIDFile is wrapped by the error PIDFile.Read returns when the file
// exists but does not hold a process id.
var ErrBadPIDFile = errors.New("pid file does not hold a process id")

// PIDFile is the file recording the pid of the running server. The content
// is the decimal pid followed by a newline, compatible with the PHP
// component. The server holds an OS file lock on it for as long as it runs
// (see Acquire), so whether a server runs is told by the lock, not by the
// pid written inside. The zero value uses DefaultPIDFile.
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

// RunningError is the error Acquire returns when a running server holds
// the pid file.
type RunningError struct {
	// Path is the pid file.
	Path string
	// PID is the pid the holder wrote, or 0 when it could not be read.
	PID int
}

// Error names the file and the holder.
func (e *RunningError) Error() string {
	who := "a running valksor-sse"
	if e.PID > 0 {
		who += fmt.Sprintf(" (pid %d)", e.PID)
	}
	return fmt.Sprintf("pid file %s is held by %s", e.Path, who)
}

// Lock is a pid file held by this process. The lock is the operating
// system's: it ends with the process however the process ends, so a pid
// file left behind by a crash is never mistaken for a running server.
type Lock struct {
	path string
	file *os.File

	once sync.Once
	err  error
}

// acquireAttempts bounds how often Acquire retries a lock that is held
// only for a moment (a client's Check looks at it) or a file being deleted.
const (
	acquireAttempts = 10
	acquireRetry    = 10 * time.Millisecond
)

// Acquire takes the pid file for this process: it creates the file (and
// missing parent directories, mode 0755) if needed, locks it, and writes the
// calling process's pid into it (mode 0644). The lock is held until Release
// or the end of the process. A file left by a server that is gone is simply
// taken over. When a running server holds the lock, Acquire returns a
// *RunningError naming its pid. On systems without file locks the file is
// written without one.
func (f PIDFile) Acquire() (*Lock, error) {
	path := f.path()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("pid file %s: %w", path, err)
	}
	for attempt := 1; ; attempt++ {
		l, retry, err := f.tryAcquire(path)
		if err == nil {
			return l, nil
		}
		if !retry || attempt == acquireAttempts {
			return nil, err
		}
		time.Sleep(acquireRetry)
	}
}

// tryAcquire makes one attempt at Acquire. retry reports an error that may
// go away by itself.
func (f PIDFile) tryAcquire(path string) (l *Lock, retry bool, err error) {
	file, err := openLockFile(path)
	if err != nil {
		return nil, isTransientOpenError(err), fmt.Errorf("pid file %s: %w", path, err)
	}
	locked, err := lockFile(file, true)
	switch {
	case errors.Is(err, errNoLocks):
		// Nothing to hold: the pid written is all there is.
	case err != nil:
		_ = file.Close()
		return nil, false, fmt.Errorf("pid file %s: lock: %w", path, err)
	case !locked:
		_ = file.Close()
		pid, _ := f.Read()
		return nil, true, &RunningError{Path: path, PID: pid}
	}
	// The file may have been removed (by the server that held it, on its
	// way out) between the open and the lock: then the lock is on a file
	// nobody else can find. Start again with the file the path names now.
	if !samePath(file, path) {
		_ = file.Close()
		return nil, true, fmt.Errorf("pid file %s was replaced while it was being locked", path)
	}
	if err := writePID(file, os.Getpid()); err != nil {
		_ = file.Close()
		return nil, false, fmt.Errorf("pid file %s: %w", path, err)
	}
	return &Lock{path: path, file: file}, false, nil
}

// samePath reports whether path still names the open file.
func samePath(file *os.File, path string) bool {
	a, err := file.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// writePID replaces the file's content with pid and a newline.
func writePID(file *os.File, pid int) error {
	if err := file.Truncate(0); err != nil {
		return err
	}
	if _, err := file.WriteAt([]byte(strconv.Itoa(pid)+"\n"), 0); err != nil {
		return err
	}
	return file.Sync()
}

// Path returns the pid file's path.
func (l *Lock) Path() string { return l.path }

// Release removes the pid file, if it is still the one this lock holds,
// and then releases the lock. Where the file cannot be removed (on Windows
// while another program has it open) it is emptied instead, which readers
// take as no server. Release may be called more than once; only the first
// call acts, and later calls return its result.
func (l *Lock) Release() error {
	l.once.Do(func() {
		if samePath(l.file, l.path) {
			if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				if terr := l.file.Truncate(0); terr != nil {
					l.err = fmt.Errorf("remove pid file %s: %w", l.path, err)
				}
			}
		}
		if err := l.file.Close(); err != nil && l.err == nil {
			l.err = fmt.Errorf("release pid file %s: %w", l.path, err)
		}
	})
	return l.err
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
// decimal number yields an error wrapping ErrBadPIDFile. Read says nothing
// about whether that process runs: see Check.
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

// CheckResult is what PIDFile.Check found.
type CheckResult struct {
	// PID is the pid the running server wrote into the file, or 0: when no
	// server runs, or when one holds the file but its pid cannot be read.
	PID int
	// Running is true when a live process holds the pid file's lock.
	Running bool
	// Stale, when not empty, says that the file exists but no server holds
	// it, and why it may be there, in a form suitable for logging. The file
	// is left alone: the next server to start takes it over.
	Stale string
}

// contentWait bounds how long Check waits for a server that holds the lock
// to finish writing its pid.
const contentWait = 200 * time.Millisecond

// Check tells, without changing anything, whether a running server holds
// the pid file. A missing file yields the zero CheckResult. A file held by
// a live process yields Running true and the pid written in it, whatever
// the holder's executable is called. A file nobody holds (left by a server
// that was killed, or by another program) yields Running false and a Stale
// explanation; it is never removed, since only the holder may remove it.
// On systems without file locks, a file counts as held when the pid in it
// is a live valksor-sse (see IsValksorSSE). Errors are returned only when
// the file cannot be read or its lock cannot be tested.
func (f PIDFile) Check() (CheckResult, error) {
	path := f.path()
	held, err := probeLock(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return CheckResult{}, nil
	case errors.Is(err, errNoLocks):
		return f.checkUnlocked(path)
	case err != nil:
		return CheckResult{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	pid, rerr := f.Read()
	if errors.Is(rerr, fs.ErrNotExist) {
		return CheckResult{}, nil // removed by its server meanwhile
	}
	if !held {
		why := "no running server holds it"
		switch {
		case errors.Is(rerr, ErrBadPIDFile):
			why += ", and it holds no pid"
		case rerr != nil:
			return CheckResult{}, rerr
		default:
			why += fmt.Sprintf(" (pid %d, written by a server that stopped without removing it)", pid)
		}
		return CheckResult{Stale: fmt.Sprintf("pid file %s is stale: %s", path, why)}, nil
	}
	// The holder writes its pid right after locking: give it a moment.
	for deadline := time.Now().Add(contentWait); rerr != nil && time.Now().Before(deadline); {
		time.Sleep(acquireRetry)
		pid, rerr = f.Read()
	}
	if rerr != nil {
		pid = 0
	}
	return CheckResult{PID: pid, Running: true}, nil
}

// checkUnlocked is Check where files cannot be locked.
func (f PIDFile) checkUnlocked(path string) (CheckResult, error) {
	pid, err := f.Read()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return CheckResult{}, nil
	case errors.Is(err, ErrBadPIDFile):
		return CheckResult{Stale: err.Error()}, nil
	case err != nil:
		return CheckResult{}, err
	case pid != os.Getpid() && IsValksorSSE(pid):
		return CheckResult{PID: pid, Running: true}, nil
	}
	return CheckResult{Stale: fmt.Sprintf("pid file %s is stale: pid %d is not a running valksor-sse", path, pid)}, nil
}
