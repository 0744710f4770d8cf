package process_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/process"
)

// Helper binaries built once per test binary by TestMain. IsValksorSSE
// counts the holder as the server, whatever its file is called, and the
// stranger as another program, even under the server's name.
var (
	binSSE      string // <tmp>/valksor-sse: the holder
	binRenamed  string // <tmp>/vsse: the holder under another name
	binImpostor string // <tmp>/impostor/valksor-sse: the stranger under the server's name
	binTest     string // <tmp>/valksor-sse.test: the holder under a test binary's name
	binOther    string // <tmp>/other-server: the stranger
)

// holderPackage is the import path of the helper that plays the server.
const holderPackage = "github.com/valksor/go-sse/internal/process/testdata/holder"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "process-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	binSSE = filepath.Join(dir, "valksor-sse"+exe)
	binRenamed = filepath.Join(dir, "vsse"+exe)
	binImpostor = filepath.Join(dir, "impostor", "valksor-sse"+exe)
	binOther = filepath.Join(dir, "other-server"+exe)
	binTest = filepath.Join(dir, "valksor-sse.test"+exe)
	for _, b := range []struct{ out, pkg string }{
		{binSSE, "./testdata/holder"},
		{binOther, "./testdata/stranger"},
	} {
		build := exec.Command("go", "build", "-o", b.out, b.pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the helper", b.pkg+":", err)
			return 1
		}
	}
	for _, c := range []struct{ from, to string }{{binSSE, binRenamed}, {binOther, binImpostor}, {binSSE, binTest}} {
		if err := copyFile(c.from, c.to); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	process.SetServerPackage(holderPackage)
	return m.Run()
}

// copyFile copies the program from to the new file to, creating its
// directory.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// holder is a running helper process started by the test.
type holder struct {
	cmd  *exec.Cmd
	port int

	once    sync.Once
	waitErr error
}

// pid returns the helper's pid.
func (h *holder) pid() int { return h.cmd.Process.Pid }

// wait reaps the helper once and returns its exit error.
func (h *holder) wait() error {
	h.once.Do(func() { h.waitErr = h.cmd.Wait() })
	return h.waitErr
}

// startHolder starts bin with args, waits until it prints its port, and
// kills and reaps it when the test ends.
func startHolder(t *testing.T, bin string, args ...string) *holder {
	t.Helper()
	return startHolderIn(t, "", bin, args...)
}

// startHolderIn is startHolder with the helper's working directory set to
// dir ("" keeps the test's).
func startHolderIn(t *testing.T, dir, bin string, args ...string) *holder {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = h.wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		h.port, err = strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("holder %s printed %q, want a port", bin, s)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("holder %s did not print its port within 10s", bin)
	}
	return h
}

// startSleep starts an unrelated long-running program ("sleep 30") and
// reaps it when the test ends.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep program:", err)
	}
	cmd := exec.Command(path, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// deadPID returns the pid of a child that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(binOther, "-addr", "256.0.0.1:0") // exits at once: bad address
	_ = cmd.Run()
	if cmd.Process == nil {
		t.Fatal("helper did not start")
	}
	return cmd.Process.Pid
}

// signalOf returns the signal that ended a reaped process, or -1.
func signalOf(err error) syscall.Signal {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return -1
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return -1
	}
	return ws.Signal()
}

// eventually polls cond every 10ms until it is true or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
