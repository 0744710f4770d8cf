package dev_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/dev"
	"github.com/valksor/go-sse/internal/process"
)

// appPIDs reads the "<app pid> <child pid>" file the test app writes.
func appPIDs(t *testing.T, file string) (app, child int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(string(b), &app, &child); err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return app, child
}

// noKeepAlive is a client that leaves no idle connection behind.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

func getBody(t *testing.T, u string) string {
	t.Helper()
	resp, err := noKeepAlive.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestRunnerLifecycle(t *testing.T) {
	before := runtime.NumGoroutine()
	addr := freeAddr(t)
	pids := filepath.Join(t.TempDir(), "pids")
	rec := &recorder{t: t}
	var out syncBuffer
	r, err := dev.NewRunner(dev.RunnerOptions{
		Command:      []string{appBin},
		Env:          []string{"APP_ADDR=" + addr, "APP_PIDS=" + pids, "APP_CHILD=1"},
		ReadyURL:     "http://" + addr + "/",
		ReadyTimeout: 15 * time.Second,
		StopTimeout:  3 * time.Second,
		Stdout:       &out,
		Prefix:       "[t] ",
		Logger:       quietLogger(),
		OnState:      rec.onState,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.State(); s.Phase != dev.PhaseStopped || s.ExitCode != -1 {
		t.Fatalf("new runner: state %+v, want stopped", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t.Cleanup(func() { _ = r.Stop(context.Background()) })

	if err := r.Start(ctx); err != nil {
		t.Fatalf("Start: %v\noutput:\n%s", err, r.State().Output)
	}
	s := r.State()
	if s.Phase != dev.PhaseReady || s.Err != nil || s.ExitCode != -1 {
		t.Fatalf("after Start: %+v, want ready", s)
	}
	if !strings.Contains(s.Output, "app: starting\n") || strings.Contains(s.Output, "\x1b") {
		t.Errorf("Output %q: want the app's lines without ANSI escapes", s.Output)
	}
	app1, child1 := appPIDs(t, pids)
	if !process.Alive(app1) || !process.Alive(child1) {
		t.Fatalf("app %d or its child %d not running", app1, child1)
	}
	if got, want := getBody(t, "http://"+addr+"/"), fmt.Sprintf("app pid %d\n", app1); got != want {
		t.Errorf("app answered %q, want %q", got, want)
	}
	if err := r.Start(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Start: %v, want an 'already running' error", err)
	}

	if err := r.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v\noutput:\n%s", err, r.State().Output)
	}
	if process.Alive(app1) || process.Alive(child1) {
		t.Errorf("old app %d or its child %d still running after Restart", app1, child1)
	}
	app2, child2 := appPIDs(t, pids)
	if app2 == app1 {
		t.Fatalf("Restart did not start a new process (pid %d)", app2)
	}
	if got, want := getBody(t, "http://"+addr+"/"), fmt.Sprintf("app pid %d\n", app2); got != want {
		t.Errorf("after Restart the app answered %q, want %q", got, want)
	}

	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if process.Alive(app2) || process.Alive(child2) {
		t.Errorf("app %d or its child %d still running after Stop", app2, child2)
	}
	if got, want := rec.phases(), "starting ready starting ready stopped"; got != want {
		t.Errorf("OnState phases %q, want %q", got, want)
	}
	if s := r.State(); s.Phase != dev.PhaseStopped || s.Err != nil {
		t.Errorf("after Stop: %+v, want stopped", s)
	}
	if err := r.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if got := rec.phases(); got != "starting ready starting ready stopped" {
		t.Errorf("a second Stop reported more phases: %q", got)
	}
	// The copy to Stdout is prefixed and unfiltered.
	if o := out.String(); !strings.Contains(o, "[t] \x1b[1;32mapp\x1b[0m: starting\n") || !strings.Contains(o, "[t] app: listening on ") {
		t.Errorf("Stdout copy:\n%s\nwant prefixed, unfiltered lines", o)
	}

	eventually(t, 5*time.Second, "the runner's goroutines to end", func() bool {
		return runtime.NumGoroutine() <= before+1 // tolerance for runtime helpers
	})
}

func TestRunnerFailures(t *testing.T) {
	type want struct {
		err      string // substring of Err and of the Start error
		exitCode int
		output   string // substring of Output, or the exact output with exact set
		exact    bool
	}
	addr := freeAddr(t)
	readyURL := "http://" + addr + "/"
	tests := []struct {
		name string
		o    dev.RunnerOptions
		want want
	}{
		{
			name: "exits at once",
			o:    dev.RunnerOptions{Command: []string{"echo 'config: missing DATABASE_URL' >&2; exit 1"}},
			want: want{err: "app command exited with status 1 before answering on " + readyURL, exitCode: 1, output: "config: missing DATABASE_URL"},
		},
		{
			name: "compile error",
			o:    dev.RunnerOptions{Command: []string{"echo '# example.com/app' >&2; echo './main.go:12:2: undefined: handler' >&2; exit 2"}},
			want: want{err: "exited with status 2 before answering", exitCode: 2,
				output: "# example.com/app\n./main.go:12:2: undefined: handler\n", exact: true},
		},
		{
			name: "exits 0 before answering",
			o:    dev.RunnerOptions{Command: []string{"true"}},
			want: want{err: "exited with status 0 before answering", exitCode: 0},
		},
		{
			name: "killed by a signal",
			o:    dev.RunnerOptions{Command: []string{"sh", "-c", "echo dying; kill -9 $$"}},
			want: want{err: "was killed by signal killed before answering", exitCode: -1, output: "dying"},
		},
		{
			name: "ANSI and carriage returns",
			o:    dev.RunnerOptions{Command: []string{`printf '\033]0;title\007\033[31mprogress 10%%\r\033[0mprogress 100%%\r\nok\033(B\n'; exit 3`}},
			want: want{err: "status 3", exitCode: 3, output: "progress 10%\nprogress 100%\nok\n", exact: true},
		},
		{
			name: "shell: not found",
			o:    dev.RunnerOptions{Command: []string{"/nonexistent/program --flag"}},
			want: want{err: "exited with status 127", exitCode: 127, output: "/nonexistent/program"},
		},
		{
			name: "cannot start",
			o:    dev.RunnerOptions{Command: []string{"/nonexistent/program", "--flag"}},
			want: want{err: "cannot start the app command", exitCode: -1},
		},
		{
			name: "missing directory",
			o:    dev.RunnerOptions{Command: []string{"true"}, Dir: "/nonexistent/dir"},
			want: want{err: "cannot start the app command", exitCode: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{t: t}
			o := tt.o
			o.ReadyURL, o.Stdout, o.Logger, o.OnState = readyURL, io.Discard, quietLogger(), rec.onState
			r, err := dev.NewRunner(o)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			defer r.Stop(ctx)
			for attempt := range 2 { // a failed runner stays usable: Restart tries again
				start := r.Start
				if attempt == 1 {
					start = r.Restart
				}
				err := start(ctx)
				if err == nil || !strings.Contains(err.Error(), tt.want.err) {
					t.Fatalf("attempt %d: error %v, want one containing %q", attempt, err, tt.want.err)
				}
				s := r.State()
				if s.Phase != dev.PhaseFailed || s.Err == nil || s.Err.Error() != err.Error() || s.ExitCode != tt.want.exitCode {
					t.Errorf("attempt %d: state %+v, want failed with exit code %d and the returned error", attempt, s, tt.want.exitCode)
				}
				if tt.want.exact && s.Output != tt.want.output || !strings.Contains(s.Output, tt.want.output) {
					t.Errorf("attempt %d: Output %q, want %q", attempt, s.Output, tt.want.output)
				}
			}
			if err := r.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := rec.phases(), "starting failed starting failed stopped"; got != want {
				t.Errorf("phases %q, want %q", got, want)
			}
		})
	}
}

func TestRunnerRecoversAfterFailure(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	rec := &recorder{t: t}
	r, err := dev.NewRunner(dev.RunnerOptions{
		// Fails until the file "fixed" exists, as a build fails until the
		// developer fixes the code.
		Command:  []string{`if [ -f fixed ]; then exec "$APP_BIN"; fi; echo './main.go:3:1: syntax error' >&2; exit 2`},
		Dir:      dir,
		Env:      []string{"APP_BIN=" + appBin, "APP_ADDR=" + addr},
		ReadyURL: "http://" + addr + "/",
		Stdout:   io.Discard,
		Logger:   quietLogger(),
		OnState:  rec.onState,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	defer r.Stop(ctx)
	if err := r.Start(ctx); err == nil {
		t.Fatal("Start succeeded before the fix")
	}
	if s := rec.last(); s.Phase != dev.PhaseFailed || !strings.Contains(s.Output, "syntax error") || s.ExitCode != 2 {
		t.Errorf("OnState got %+v, want failed with the compiler's output", s)
	}
	if err := os.WriteFile(filepath.Join(dir, "fixed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Restart(ctx); err != nil {
		t.Fatalf("Restart after the fix: %v\n%s", err, r.State().Output)
	}
	if s := rec.last(); s.Phase != dev.PhaseReady || s.Err != nil || strings.Contains(s.Output, "syntax error") {
		t.Errorf("OnState got %+v, want ready with the new run's output only", s)
	}
	if got, want := rec.phases(), "starting failed starting ready"; got != want {
		t.Errorf("phases %q, want %q", got, want)
	}
}

func TestRunnerReadyTimeout(t *testing.T) {
	addr := freeAddr(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	r, err := dev.NewRunner(dev.RunnerOptions{
		Command:      []string{`echo $$ > "$PID_FILE"; echo 'warming up'; exec sleep 60`},
		Env:          []string{"PID_FILE=" + pidFile},
		ReadyURL:     "http://" + addr + "/",
		ReadyTimeout: 300 * time.Millisecond,
		StopTimeout:  time.Second,
		Stdout:       io.Discard,
		Logger:       quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer r.Stop(ctx)
	err = r.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "did not answer on http://"+addr+"/ within 300ms") {
		t.Fatalf("Start: %v, want a ready-timeout error", err)
	}
	s := r.State()
	if s.Phase != dev.PhaseFailed || !strings.Contains(s.Output, "warming up") {
		t.Errorf("state %+v, want failed with the output", s)
	}
	var pid int
	b, _ := os.ReadFile(pidFile)
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	if process.Alive(pid) {
		t.Errorf("the command (pid %d) still runs after the ready timeout", pid)
	}
}

func TestRunnerStopEscalates(t *testing.T) {
	for _, tt := range []struct {
		name    string
		timeout time.Duration // StopTimeout
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"SIGKILL after StopTimeout", 200 * time.Millisecond, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 10*time.Second)
		}, nil},
		{"SIGKILL when ctx ends", time.Minute, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := freeAddr(t)
			pids := filepath.Join(t.TempDir(), "pids")
			rec := &recorder{t: t}
			r, err := dev.NewRunner(dev.RunnerOptions{
				Command:     []string{appBin},
				Env:         []string{"APP_ADDR=" + addr, "APP_PIDS=" + pids, "APP_CHILD=1", "APP_IGNORE_TERM=1"},
				ReadyURL:    "http://" + addr + "/",
				StopTimeout: tt.timeout,
				Stdout:      io.Discard,
				Logger:      quietLogger(),
				OnState:     rec.onState,
			})
			if err != nil {
				t.Fatal(err)
			}
			startCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Start(startCtx); err != nil {
				t.Fatalf("Start: %v\n%s", err, r.State().Output)
			}
			app, child := appPIDs(t, pids)
			ctx, cancelStop := tt.ctx()
			defer cancelStop()
			if err := r.Stop(ctx); !errors.Is(err, tt.wantErr) {
				t.Errorf("Stop: %v, want %v", err, tt.wantErr)
			}
			if process.Alive(app) || process.Alive(child) {
				t.Errorf("app %d ignoring SIGTERM or its child %d still runs after Stop", app, child)
			}
			if s := r.State(); s.Phase != dev.PhaseStopped || s.ExitCode != -1 {
				t.Errorf("state %+v, want stopped by a signal", s)
			}
			// With ctx done Stop does not wait for OnState.
			eventually(t, 5*time.Second, "OnState(stopped)", func() bool { return rec.phases() == "starting ready stopped" })
		})
	}
}

func TestRunnerCrashAfterReady(t *testing.T) {
	addr := freeAddr(t)
	rec := &recorder{t: t}
	r, err := dev.NewRunner(dev.RunnerOptions{
		Command:  []string{appBin},
		Env:      []string{"APP_ADDR=" + addr},
		ReadyURL: "http://" + addr + "/",
		Stdout:   io.Discard,
		Logger:   quietLogger(),
		OnState:  rec.onState,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	defer r.Stop(ctx)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	getBody(t, "http://"+addr+"/exit?code=3")
	eventually(t, 5*time.Second, "the crash to be reported", func() bool { return rec.last().Phase == dev.PhaseFailed })
	s := rec.last()
	if s.ExitCode != 3 || s.Err == nil || !strings.Contains(s.Err.Error(), "exited with status 3 while serving http://"+addr+"/") ||
		!strings.Contains(s.Output, "exiting with status 3 on request") {
		t.Errorf("crash reported as %+v", s)
	}
	if err := r.Restart(ctx); err != nil {
		t.Fatalf("Restart after the crash: %v", err)
	}
	if got, want := rec.phases(), "starting ready failed starting ready"; got != want {
		t.Errorf("phases %q, want %q", got, want)
	}
}

func TestRunnerNoReadyURL(t *testing.T) {
	r, err := dev.NewRunner(dev.RunnerOptions{Command: []string{"sleep", "60"}, Stdout: io.Discard, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatalf("Start without ReadyURL: %v", err)
	}
	if p := r.State().Phase; p != dev.PhaseReady {
		t.Errorf("phase %s, want ready as soon as started", p)
	}
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNewRunnerErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    dev.RunnerOptions
		want string
	}{
		{"no command", dev.RunnerOptions{}, "Command is empty"},
		{"blank command", dev.RunnerOptions{Command: []string{"  "}}, "Command is empty"},
		{"relative ready URL", dev.RunnerOptions{Command: []string{"true"}, ReadyURL: "localhost:8000"}, "invalid ReadyURL"},
		{"ftp ready URL", dev.RunnerOptions{Command: []string{"true"}, ReadyURL: "ftp://localhost/"}, "invalid ReadyURL"},
		{"negative timeout", dev.RunnerOptions{Command: []string{"true"}, StopTimeout: -1}, "negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dev.NewRunner(tt.o)
			if err == nil || !strings.HasPrefix(err.Error(), "dev: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRunner: %v, want a dev: error containing %q", err, tt.want)
			}
		})
	}
}
