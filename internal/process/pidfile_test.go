package process_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/process"
)

// TestAcquire: the server's pid file is created with its directories,
// holds the pid, is seen as running while held, and is gone after Release.
func TestAcquire(t *testing.T) {
	dir := t.TempDir()
	f := process.PIDFile{Path: filepath.Join(dir, "var", "run", "valksor-sse.pid")}
	l, err := f.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	if l.Path() != f.Path {
		t.Errorf("Path() = %q, want %q", l.Path(), f.Path)
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(os.Getpid()) + "\n"; string(b) != want {
		t.Errorf("content = %q, want %q", b, want)
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&^0o644 != 0 {
		t.Errorf("file mode = %v, want at most 0644", fi.Mode().Perm())
	}
	res, err := f.Check()
	if err != nil || !res.Running || res.PID != os.Getpid() || res.Stale != "" {
		t.Errorf("Check() while held = %+v, %v; want running as pid %d", res, err, os.Getpid())
	}
	// A second server in the same process is refused like one elsewhere.
	if _, err := f.Acquire(); !isRunning(err, os.Getpid()) {
		t.Errorf("second Acquire() = %v, want a RunningError naming pid %d", err, os.Getpid())
	}
	for i := range 2 { // the second call does nothing
		if err := l.Release(); err != nil {
			t.Fatalf("Release() #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(f.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file after Release: %v, want it gone", err)
	}
	if res, err := f.Check(); err != nil || res != (process.CheckResult{}) {
		t.Errorf("Check() after Release = %+v, %v; want the zero result", res, err)
	}
}

// isRunning reports whether err is a *process.RunningError naming pid.
func isRunning(err error, pid int) bool {
	var re *process.RunningError
	return errors.As(err, &re) && re.PID == pid && strings.Contains(err.Error(), strconv.Itoa(pid))
}

// TestPIDFileHeldElsewhere: a pid file held by another process counts as
// a running server whatever that program is called, and neither Check nor
// a refused Acquire touches it.
func TestPIDFileHeldElsewhere(t *testing.T) {
	for _, bin := range []string{binSSE, binRenamed} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			f := process.PIDFile{Path: filepath.Join(t.TempDir(), "valksor-sse.pid")}
			h := startHolder(t, bin, "-pidfile", f.Path)
			res, err := f.Check()
			if err != nil || !res.Running || res.PID != h.pid() {
				t.Fatalf("Check() = %+v, %v; want running as pid %d", res, err, h.pid())
			}
			if _, err := f.Acquire(); !isRunning(err, h.pid()) {
				t.Fatalf("Acquire() = %v, want a RunningError naming pid %d", err, h.pid())
			}
			if got, err := f.Read(); err != nil || got != h.pid() {
				t.Errorf("pid file now holds %d, %v; want %d untouched", got, err, h.pid())
			}
		})
	}
}

// TestPIDFileAfterKill: the pid file of a server that was killed (and so
// could not remove it) is stale at once: Check says so and leaves the file,
// and the next Acquire takes it over.
func TestPIDFileAfterKill(t *testing.T) {
	f := process.PIDFile{Path: filepath.Join(t.TempDir(), "valksor-sse.pid")}
	h := startHolder(t, binSSE, "-pidfile", f.Path)
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = h.wait()
	res, err := f.Check()
	if err != nil || res.Running || res.PID != 0 {
		t.Fatalf("Check() = %+v, %v; want not running", res, err)
	}
	if want := fmt.Sprintf("pid %d", h.pid()); !strings.Contains(res.Stale, f.Path) || !strings.Contains(res.Stale, want) {
		t.Errorf("Stale = %q, want it to name %s and %s", res.Stale, f.Path, want)
	}
	if got, err := f.Read(); err != nil || got != h.pid() {
		t.Errorf("after Check the file holds %d, %v; want the dead server's %d untouched", got, err, h.pid())
	}
	l, err := f.Acquire()
	if err != nil {
		t.Fatalf("Acquire() over a dead server's file: %v", err)
	}
	defer l.Release()
	if got, err := f.Read(); err != nil || got != os.Getpid() {
		t.Errorf("after Acquire the file holds %d, %v; want %d", got, err, os.Getpid())
	}
}

func TestPIDFileAcquireErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		filepath.Join(blocker, "a.pid"), // parent is a file
		dir,                             // a directory
	} {
		if l, err := (process.PIDFile{Path: path}).Acquire(); err == nil {
			l.Release()
			t.Errorf("Acquire() of %s: no error", path)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %s", err, path)
		}
	}
}

func TestPIDFileDefaultPath(t *testing.T) {
	t.Chdir(t.TempDir())
	var f process.PIDFile
	l, err := f.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := (process.PIDFile{Path: process.DefaultPIDFile}).Read(); err != nil || got != os.Getpid() {
		t.Errorf("%s holds %d, %v", process.DefaultPIDFile, got, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(process.DefaultPIDFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file still exists: %v", err)
	}
}

func TestPIDFileRead(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    int
		bad     bool
	}{
		{"php format", "1234\n", 1234, false},
		{"no newline", "1234", 1234, false},
		{"surrounding space", "  1234 \r\n", 1234, false},
		{"letters", "abc\n", 0, true},
		{"empty", "", 0, true},
		{"zero", "0\n", 0, true},
		{"negative", "-5\n", 0, true},
		{"plus sign", "+5\n", 0, true},
		{"two lines", "12\n34\n", 0, true},
		{"overflow", "99999999999999999999999\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := process.PIDFile{Path: filepath.Join(t.TempDir(), "x.pid")}
			if err := os.WriteFile(f.Path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := f.Read()
			if tt.bad {
				if !errors.Is(err, process.ErrBadPIDFile) {
					t.Fatalf("Read() error = %v, want ErrBadPIDFile", err)
				}
				if !strings.Contains(err.Error(), f.Path) {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Read() = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := process.PIDFile{Path: filepath.Join(t.TempDir(), "none.pid")}.Read()
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Read() error = %v, want os.ErrNotExist", err)
		}
	})
}

// TestPIDFileCheckUnheld: a file no process holds is stale whatever it
// says, even the pid of a live valksor-sse or of the caller, and Check
// never removes or changes it.
func TestPIDFileCheckUnheld(t *testing.T) {
	sse := startHolder(t, binSSE, "serve")
	sleep := startSleep(t)

	tests := []struct {
		name      string
		content   string
		wantStale string
	}{
		{"live server that does not hold it", strconv.Itoa(sse.pid()) + "\n", "pid " + strconv.Itoa(sse.pid())},
		{"dead pid", strconv.Itoa(deadPID(t)) + "\n", "stopped without removing it"},
		{"reused by sleep", strconv.Itoa(sleep.Process.Pid) + "\n", "pid " + strconv.Itoa(sleep.Process.Pid)},
		{"this process", strconv.Itoa(os.Getpid()) + "\n", "pid " + strconv.Itoa(os.Getpid())},
		{"garbage", "hello\n", "holds no pid"},
		{"empty", "", "holds no pid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := process.PIDFile{Path: filepath.Join(t.TempDir(), "valksor-sse.pid")}
			if err := os.WriteFile(f.Path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := f.Check()
			if err != nil {
				t.Fatalf("Check() error: %v", err)
			}
			if res.Running || res.PID != 0 {
				t.Errorf("Check() = %+v, want not running", res)
			}
			if !strings.Contains(res.Stale, tt.wantStale) || !strings.Contains(res.Stale, f.Path) {
				t.Errorf("Stale = %q, want it to name %s and contain %q", res.Stale, f.Path, tt.wantStale)
			}
			if b, err := os.ReadFile(f.Path); err != nil || string(b) != tt.content {
				t.Errorf("after Check the file holds %q, %v; want %q untouched", b, err, tt.content)
			}
		})
	}

	t.Run("no file", func(t *testing.T) {
		res, err := process.PIDFile{Path: filepath.Join(t.TempDir(), "none.pid")}.Check()
		if err != nil || res != (process.CheckResult{}) {
			t.Errorf("Check() = %+v, %v; want the zero result", res, err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		f := process.PIDFile{Path: t.TempDir()} // a directory cannot be read as a file
		if _, err := f.Check(); err == nil {
			t.Error("Check() on a directory: no error")
		}
		if _, err := os.Stat(f.Path); err != nil {
			t.Errorf("Check() removed the unreadable path: %v", err)
		}
	})
}
