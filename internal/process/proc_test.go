package process_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/process"
)

func TestAlive(t *testing.T) {
	live := startHolder(t, binOther)
	zombie := startHolder(t, binOther)
	if err := zombie.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Not reaped yet: the process stays a zombie until wait.
	eventually(t, 5*time.Second, "the killed helper to become a zombie", func() bool { return !process.Alive(zombie.pid()) })

	tests := []struct {
		name string
		pid  int
		want bool
	}{
		{"self", os.Getpid(), true},
		{"live child", live.pid(), true},
		{"zombie child", zombie.pid(), false},
		{"reaped child", deadPID(t), false},
		{"zero", 0, false},
		{"negative", -1, false},
		{"beyond pid_max", 1 << 30, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := process.Alive(tt.pid); got != tt.want {
				t.Errorf("Alive(%d) = %v, want %v", tt.pid, got, tt.want)
			}
		})
	}
}

func TestCmdline(t *testing.T) {
	_, err := process.Cmdline(os.Getpid())
	skipUnsupported(t, err)
	h := startHolder(t, binSSE, "serve", "--port", "8080", "with space", "")
	tests := []struct {
		name    string
		pid     int
		want    []string
		wantErr error
	}{
		{"helper", h.pid(), []string{binSSE, "serve", "--port", "8080", "with space", ""}, nil},
		{"self", os.Getpid(), os.Args, nil},
		{"dead", deadPID(t), nil, fs.ErrNotExist},
		{"invalid", 0, nil, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := process.Cmdline(tt.pid)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Cmdline(%d) error = %v, want %v", tt.pid, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Cmdline(%d) = %q, want %q", tt.pid, got, tt.want)
			}
		})
	}
}

// TestIsValksorSSE: a process is the server when its program was built
// from the server's package, whatever the file is called; no other program
// counts, even under the server's name.
func TestIsValksorSSE(t *testing.T) {
	sse := startHolder(t, binSSE, "serve")
	renamed := startHolder(t, binRenamed)
	impostor := startHolder(t, binImpostor, "serve")
	other := startHolder(t, binOther, "valksor-sse") // the name only in an argument does not count
	testBinary := startHolder(t, binTest)
	sleep := startSleep(t)
	zombie := startHolder(t, binSSE)
	if err := zombie.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the killed helper to exit", func() bool { return !process.Alive(zombie.pid()) })

	tests := []struct {
		name string
		pid  int
		want bool
	}{
		{"valksor-sse", sse.pid(), true},
		{"renamed vsse", renamed.pid(), true},
		{"another Go program named valksor-sse", impostor.pid(), false},
		{"another Go program", other.pid(), false},
		{"not a Go program", sleep.Process.Pid, false},
		{"zombie valksor-sse", zombie.pid(), false},
		{"the server's test binary", testBinary.pid(), false},
		{"this test binary", os.Getpid(), false},
		{"dead", deadPID(t), false},
		{"zero", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := process.IsValksorSSE(tt.pid); got != tt.want {
				t.Errorf("IsValksorSSE(%d) = %v, want %v", tt.pid, got, tt.want)
			}
		})
	}
}

// skipUnsupported skips the test where the system cannot answer.
func skipUnsupported(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("not available on this system:", err)
	}
}

func TestCwd(t *testing.T) {
	_, err := process.Cwd(os.Getpid())
	skipUnsupported(t, err)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := startHolderIn(t, dir, binSSE, "serve")
	self, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	self, _ = filepath.EvalSymlinks(self)
	tests := []struct {
		name    string
		pid     int
		want    string
		wantErr error
	}{
		{"helper", h.pid(), dir, nil},
		{"self", os.Getpid(), self, nil},
		{"dead", deadPID(t), "", fs.ErrNotExist},
		{"invalid", 0, "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := process.Cwd(tt.pid)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Cwd(%d) = %q, %v; want an error wrapping %v", tt.pid, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Cwd(%d) = %q, %v; want %q", tt.pid, got, err, tt.want)
			}
		})
	}

	t.Run("removed directory", func(t *testing.T) {
		gone := t.TempDir()
		h := startHolderIn(t, gone, binOther)
		if err := os.Remove(gone); err != nil {
			t.Fatal(err)
		}
		if got, err := process.Cwd(h.pid()); err == nil || !strings.Contains(err.Error(), "was removed") {
			t.Fatalf("Cwd = %q, %v; want an error saying the directory was removed", got, err)
		}
	})
}
