package process_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/process"
)

func TestPIDFileWriteRead(t *testing.T) {
	dir := t.TempDir()
	f := process.PIDFile{Path: filepath.Join(dir, "var", "run", "valksor-sse.pid")}
	if err := f.Write(4242); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "4242\n" {
		t.Errorf("content = %q, want %q", b, "4242\n")
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("file mode = %v, want 0644", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(f.Path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm()&^0o755 != 0 {
		t.Errorf("dir mode = %v, want at most 0755", di.Mode().Perm())
	}
	// Overwrite, then check that no temporary file is left behind.
	if err := f.Write(7); err != nil {
		t.Fatal(err)
	}
	got, err := f.Read()
	if err != nil || got != 7 {
		t.Errorf("Read() = %d, %v; want 7, nil", got, err)
	}
	entries, err := os.ReadDir(filepath.Dir(f.Path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the pid file", len(entries))
	}
}

func TestPIDFileWriteErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		pid  int
	}{
		{"zero pid", filepath.Join(dir, "a.pid"), 0},
		{"negative pid", filepath.Join(dir, "a.pid"), -3},
		{"parent is a file", filepath.Join(blocker, "a.pid"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := (process.PIDFile{Path: tt.path}).Write(tt.pid); err == nil {
				t.Errorf("Write(%d) to %s: no error", tt.pid, tt.path)
			}
		})
	}
}

func TestPIDFileDefaultPath(t *testing.T) {
	t.Chdir(t.TempDir())
	var f process.PIDFile
	if err := f.Write(99); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(process.DefaultPIDFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "99\n" {
		t.Errorf("content = %q", b)
	}
	if err := f.Remove(); err != nil {
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

func TestPIDFileRemove(t *testing.T) {
	f := process.PIDFile{Path: filepath.Join(t.TempDir(), "x.pid")}
	if err := f.Write(1); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second call finds nothing to remove
		if err := f.Remove(); err != nil {
			t.Fatalf("Remove() #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(f.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pid file still exists: %v", err)
	}
}

func TestPIDFileCheck(t *testing.T) {
	sse := startHolder(t, binSSE, "serve")
	other := startHolder(t, binOther, "serve", "--flag")
	sleep := startSleep(t)

	tests := []struct {
		name        string
		content     string // "" = no file
		wantRunning bool
		wantPID     int
		wantStale   string // substring of Stale; "" = Stale must be empty
	}{
		{"no file", "", false, 0, ""},
		{"running server", strconv.Itoa(sse.pid()) + "\n", true, sse.pid(), ""},
		{"dead pid", strconv.Itoa(deadPID(t)) + "\n", false, 0, "is not running"},
		{"reused by sleep", strconv.Itoa(sleep.Process.Pid) + "\n", false, 0, "now belongs to another program: pid " + strconv.Itoa(sleep.Process.Pid) + " (sleep 30)"},
		{"reused by other server", strconv.Itoa(other.pid()) + "\n", false, 0, "(other-server serve --flag)"},
		{"this process", strconv.Itoa(os.Getpid()) + "\n", false, 0, "is this process"},
		{"garbage", "hello\n", false, 0, `content "hello\n" is not a process id`},
		{"empty", "\n", false, 0, "is not a process id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := process.PIDFile{Path: filepath.Join(t.TempDir(), "valksor-sse.pid")}
			if tt.content != "" {
				if err := os.WriteFile(f.Path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := f.Check()
			if err != nil {
				t.Fatalf("Check() error: %v", err)
			}
			if res.Running != tt.wantRunning || res.PID != tt.wantPID {
				t.Errorf("Check() = %+v, want Running=%v PID=%d", res, tt.wantRunning, tt.wantPID)
			}
			_, statErr := os.Stat(f.Path)
			exists := statErr == nil
			switch {
			case tt.wantStale == "":
				if res.Stale != "" {
					t.Errorf("Stale = %q, want empty", res.Stale)
				}
				if exists != (tt.content != "") {
					t.Errorf("pid file exists = %v, want %v", exists, tt.content != "")
				}
			default:
				if !strings.Contains(res.Stale, tt.wantStale) || !strings.Contains(res.Stale, f.Path) {
					t.Errorf("Stale = %q, want it to name %s and contain %q", res.Stale, f.Path, tt.wantStale)
				}
				if exists {
					t.Error("stale pid file was not removed")
				}
			}
		})
	}

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
