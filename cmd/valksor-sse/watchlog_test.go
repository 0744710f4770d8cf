package main_test

import (
	"github.com/valksor/go-sse/internal/proctest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// batchLine matches the server's log line for one batch and captures its
// files.
var batchLine = regexp.MustCompile(`msg="files changed" .*\bfiles="?\[([^\]]*)\]`)

// TestWatchIgnoresOwnLog: "valksor-sse --watch . > FILE 2>&1" in the
// watched directory. Each batch is logged to FILE; were FILE watched, that
// line would be the next change, and the browsers would reload forever.
// One touch of a page must make one batch, and FILE must never be in one.
// The output files have names no default ignore glob knows, so only the
// exclusion of the process's own output can keep them out.
func TestWatchIgnoresOwnLog(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the server finds its own output through /proc/self/fd")
	}
	t.Parallel()
	for _, c := range []struct {
		name           string
		poll           bool
		stdout, stderr string
	}{
		{"notify, one file for both", false, "server.out", "server.out"},
		{"poll, a file each", true, "stdout.txt", "stderr.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, f := range []string{"index.html", "sentinel.html"} {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			outputs := map[string]*os.File{}
			output := func(name string) *os.File {
				if f := outputs[name]; f != nil {
					return f
				}
				f, err := os.Create(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				outputs[name] = f
				return f
			}
			args := []string{"serve", "--port", "0", "--watch", "."}
			if c.poll {
				args = append(args, "--poll")
			}
			cmd := exec.Command(bin, args...)
			cmd.Dir = dir
			cmd.Env = cleanEnv()
			cmd.Stdout, cmd.Stderr = output(c.stdout), output(c.stderr)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var waitErr error
			go func() {
				waitErr = cmd.Wait()
				close(done)
			}()
			t.Cleanup(func() { proctest.End(cmd.Process, done) })

			logFile := filepath.Join(dir, c.stderr)
			readLog := func() string {
				b, err := os.ReadFile(logFile)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			// awaitLog polls the log until ok accepts it.
			awaitLog := func(what string, ok func(string) bool) string {
				t.Helper()
				var log string
				switch proctest.Poll(20*time.Second, done, func() bool { log = readLog(); return ok(log) }) {
				case proctest.ErrStopped:
					t.Fatalf("server exited (%v) while waiting for %s:\n%s", waitErr, what, readLog())
				case proctest.ErrTimeout:
					t.Fatalf("no %s within 20s:\n%s", what, log)
				}
				return log
			}
			batches := func(log string) [][]string {
				var out [][]string
				for _, m := range batchLine.FindAllStringSubmatch(log, -1) {
					out = append(out, strings.Fields(m[1]))
				}
				return out
			}

			log := awaitLog("start", func(s string) bool {
				return strings.Contains(s, `msg="watching for changes"`) && listening.MatchString(s)
			})
			for name := range outputs {
				p, err := filepath.EvalSymlinks(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if want := `msg="not watching the server's own log" path=` + p + "\n"; !strings.Contains(log, want) {
					t.Errorf("the log does not say %q:\n%s", want, log)
				}
			}

			// One touch: one change event (inotify) or one changed
			// modification time (polling), so exactly one batch.
			touch := func(name string, at time.Time) {
				if err := os.Chtimes(filepath.Join(dir, name), at, at); err != nil {
					t.Fatal(err)
				}
			}
			touch("index.html", time.Unix(1_700_000_000, 0))
			awaitLog("batch for index.html", func(s string) bool { return len(batches(s)) > 0 })

			// The line just logged changed the log file. Were it watched,
			// its batch would come before the sentinel's or with it,
			// since the sentinel changes only now.
			touch("sentinel.html", time.Unix(1_700_000_100, 0))
			log = awaitLog("batch for sentinel.html", func(s string) bool {
				return slices.ContainsFunc(batches(s), func(files []string) bool { return slices.Contains(files, "sentinel.html") })
			})
			got := batches(log)
			want := [][]string{{"index.html"}, {"sentinel.html"}}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("batches %q, want %q:\n%s", got, want, log)
			}
		})
	}
}
