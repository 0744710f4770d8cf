package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Phase is where the app command of a [Runner] is in its life.
type Phase string

// The phases of a run. A run begins starting and becomes ready or failed;
// a ready run becomes failed when the command exits on its own. Stop makes
// the phase stopped; Restart begins a new run (starting).
const (
	// PhaseStarting means the command has been started (or is about to be)
	// and has not answered on the ready URL yet.
	PhaseStarting Phase = "starting"
	// PhaseReady means the command answers on the ready URL.
	PhaseReady Phase = "ready"
	// PhaseFailed means the command could not be started, exited, or did
	// not answer within the ready timeout (and was then stopped); State.Err
	// says which and State.Output holds what it printed.
	PhaseFailed Phase = "failed"
	// PhaseStopped means no command runs because Stop was called (or
	// nothing was started yet).
	PhaseStopped Phase = "stopped"
)

// State is a snapshot of a [Runner]'s current (or last) run.
type State struct {
	// Phase is the run's phase.
	Phase Phase
	// Output is the last OutputLimit bytes of what the run printed on
	// stdout and stderr (interleaved as written), with ANSI escape
	// sequences and control characters removed and line endings "\n".
	Output string
	// ExitCode is the command's exit status once it has exited, and -1
	// while it runs, when it was ended by a signal, or when it never
	// started.
	ExitCode int
	// Err explains a failed phase, in words meant for the developer (for
	// example "app command exited with status 1 before answering on
	// http://localhost:8000/"); it is nil in the other phases.
	Err error
}

// Defaults for the zero values of [RunnerOptions] fields.
const (
	// DefaultReadyTimeout is how long a run may take to answer when
	// RunnerOptions.ReadyTimeout is zero.
	DefaultReadyTimeout = 30 * time.Second
	// DefaultStopTimeout is how long a stopping run's process group may
	// take to exit after SIGTERM when RunnerOptions.StopTimeout is zero.
	DefaultStopTimeout = 5 * time.Second
	// DefaultOutputPrefix starts every line of the app's output copied to
	// RunnerOptions.Stdout when RunnerOptions.Prefix is empty.
	DefaultOutputPrefix = "[app] "
)

// ErrStopped is returned by [Runner.Start] and [Runner.Restart] when the run
// they started was stopped (by Stop or another Restart) before it answered
// or failed.
var ErrStopped = errors.New("dev: the app was stopped before it answered")

// RunnerOptions configures a [Runner].
type RunnerOptions struct {
	// Command is the app command: a program and its arguments, or a single
	// element holding a shell command line, run with "/bin/sh -c" (so
	// "go run ./app" and "npm run dev" work as typed; a lone program path
	// containing spaces must then be quoted). Required.
	Command []string

	// Dir is the command's working directory; "" means the current one.
	Dir string

	// Env holds "KEY=value" entries added to the environment the command
	// inherits; later entries win.
	Env []string

	// ReadyURL is the URL polled (GET, every 50 to 250ms) until the app
	// answers: any HTTP response, even 404 or 500, makes the run ready.
	// Redirects are not followed. "" means the run is ready as soon as the
	// command has started.
	ReadyURL string

	// ReadyTimeout bounds the time from start to the first answer; a run
	// that has not answered by then is stopped and fails. 0 means
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration

	// StopTimeout is how long a stopping run's process group (the command
	// and everything it started) has to exit after SIGTERM before the
	// group gets SIGKILL. 0 means DefaultStopTimeout.
	StopTimeout time.Duration

	// Stdout receives a copy of the app's output, unfiltered, with Prefix
	// at the start of every line. Nil means os.Stderr; use io.Discard for
	// none. Writes come from one goroutine at a time.
	Stdout io.Writer

	// Prefix starts every line copied to Stdout; "" means
	// DefaultOutputPrefix.
	Prefix string

	// Logger receives the Runner's own messages (started, ready, failed,
	// stopped). Nil means slog.Default().
	Logger *slog.Logger

	// OnState, when set, is called with the new State on every phase change
	// and when a restart begins a new run. Calls come from a goroutine
	// owned by the Runner, one at a time and in order; Stop returns only
	// after the call reporting PhaseStopped has returned. OnState may call
	// State but must not call Start, Restart or Stop (Stop would wait for
	// it forever).
	OnState func(State)
}

// Runner runs an app command, restarts it on demand and tells when it
// answers. Each run's command leads its own process group (on Unix), and
// ending a run — by Stop, Restart, the ready timeout, or the command
// exiting on its own — ends the whole group, so that "sh -c", "go run" and
// "npm run" leave nothing behind (on Linux, members left as zombies for
// init to reap do not count). A Runner is safe for concurrent use; Start,
// Restart and Stop are serialized. It stays usable after a run fails and
// after Stop. The goroutines of a run (output reader, process waiter,
// readiness poller) are owned by the Runner and are gone when Stop
// returns.
type Runner struct {
	o      RunnerOptions
	argv   []string
	log    *slog.Logger
	client *http.Client
	lines  *linePrefixer

	ops sync.Mutex // serializes Start, Restart and Stop

	mu        sync.Mutex
	state     State // Output is filled in by State from cur
	cur       *run
	pending   []State       // states waiting to be handed to OnState
	notifying chan struct{} // closed when the delivering goroutine returns; nil when none runs
}

// run is one execution of the command.
type run struct {
	cmd   *exec.Cmd
	group *group // the process group (job object on Windows) of cmd
	out   outputTail

	stopReq  chan struct{} // closed to ask the supervisor to stop the run
	stopOnce sync.Once
	hurry    chan struct{} // closed to skip the rest of the SIGTERM grace period
	hurryOne sync.Once

	settled    chan struct{} // closed when the run is first ready, failed or stopped
	settleOnce sync.Once
	err        error // the settled result; written before settled is closed

	done     chan struct{} // closed when the supervisor and its goroutines are gone
	exitCode int           // written before done is closed
}

// NewRunner validates o and returns a Runner in PhaseStopped; nothing runs
// until Start. It fails when Command is empty or its first element is
// blank, when ReadyURL is not "" or an absolute http(s) URL, or when a
// timeout is negative.
func NewRunner(o RunnerOptions) (*Runner, error) {
	if len(o.Command) == 0 || strings.TrimSpace(o.Command[0]) == "" {
		return nil, errors.New("dev: RunnerOptions.Command is empty; give a program and its arguments, or one shell command line such as \"go run ./app\"")
	}
	if o.ReadyURL != "" {
		u, err := url.Parse(o.ReadyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("dev: invalid ReadyURL %q: want an absolute http(s) URL such as \"http://localhost:8000/\"", o.ReadyURL)
		}
	}
	if o.ReadyTimeout < 0 || o.StopTimeout < 0 {
		return nil, errors.New("dev: ReadyTimeout and StopTimeout must not be negative")
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.Stdout == nil {
		o.Stdout = os.Stderr
	}
	if o.Prefix == "" {
		o.Prefix = DefaultOutputPrefix
	}
	r := &Runner{
		o:     o,
		argv:  o.Command,
		log:   o.Logger,
		lines: &linePrefixer{w: o.Stdout, prefix: []byte(o.Prefix)},
		state: State{Phase: PhaseStopped, ExitCode: -1},
	}
	if len(o.Command) == 1 {
		r.argv = []string{"/bin/sh", "-c", o.Command[0]}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.client = &http.Client{
		// One connection per probe, closed after it: nothing lingers.
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return r, nil
}

// State returns the current state; Output is the current run's output so
// far.
func (r *Runner) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state
	if r.cur != nil {
		s.Output = r.cur.out.String()
	}
	return s
}

// Start starts the command and waits until it answers on the ready URL
// (nil), fails (the State's Err), is stopped by a concurrent Stop or
// Restart (ErrStopped), or ctx ends (ctx.Err(); the run carries on and
// reports through OnState). When it returns nil or the State's Err, OnState
// has returned from reporting that outcome. It returns an error at once
// when a run is already starting or ready; use Restart to replace it.
func (r *Runner) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.ops.Lock()
	r.mu.Lock()
	phase, prev := r.state.Phase, r.cur
	r.mu.Unlock()
	if phase == PhaseStarting || phase == PhaseReady {
		r.ops.Unlock()
		return errors.New("dev: the app is already running; use Restart to replace it")
	}
	if prev != nil {
		_ = r.stopRun(context.Background(), prev) // already over; waits for its goroutines
	}
	rn := r.spawn()
	r.ops.Unlock()
	return r.await(ctx, rn)
}

// Restart stops the current run, if any, as Stop does (so the new run
// never finds the old one holding its port), then starts the command again
// and waits as Start does. It works in every phase: after a failure it
// simply tries again. When ctx ends while the old run is being stopped, the
// old group is killed, no new run is started, the phase becomes stopped
// and ctx.Err() is returned.
func (r *Runner) Restart(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.ops.Lock()
	r.mu.Lock()
	prev := r.cur
	r.mu.Unlock()
	if prev != nil {
		if err := r.stopRun(ctx, prev); err != nil {
			r.setStopped(prev)
			r.ops.Unlock()
			return err
		}
	}
	rn := r.spawn()
	r.ops.Unlock()
	return r.await(ctx, rn)
}

// Stop stops the current run, if any: SIGTERM to its process group, then
// SIGKILL to the group when the command or any other member is still
// running after StopTimeout (or at once when ctx ends). It returns once the
// whole group is gone (waiting at most 2s more after SIGKILL), the output
// has been read and OnState has returned from reporting PhaseStopped. It is
// idempotent: when nothing runs it only makes the phase stopped. When ctx
// ends first it still kills the group and waits for it, but not for
// OnState, and returns ctx.Err(). On Windows the group is a job object
// holding every process the command started: it gets Ctrl-Break in place
// of SIGTERM (killed at once when dev has no console to send it through),
// and TerminateJobObject in place of SIGKILL.
func (r *Runner) Stop(ctx context.Context) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	r.mu.Lock()
	prev := r.cur
	r.mu.Unlock()
	var err error
	if prev != nil {
		err = r.stopRun(ctx, prev)
	}
	r.setStopped(prev)
	r.mu.Lock()
	wait := r.notifying
	r.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

// setStopped makes the phase stopped (if it is not already), keeping the
// exit code of rn.
func (r *Runner) setStopped(rn *run) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Phase == PhaseStopped {
		return
	}
	code := -1
	if rn != nil {
		code = rn.exitCode // rn.done is closed: written before
	}
	r.setLocked(rn, State{Phase: PhaseStopped, ExitCode: code})
	r.log.Info("app stopped")
}

// stopRun asks rn's supervisor to stop it and waits until it is gone. When
// ctx ends first the group is killed without further grace and ctx.Err()
// is returned once it is gone.
func (r *Runner) stopRun(ctx context.Context, rn *run) error {
	rn.stopOnce.Do(func() { close(rn.stopReq) })
	select {
	case <-rn.done:
		return nil
	case <-ctx.Done():
		rn.hurryOne.Do(func() { close(rn.hurry) })
		<-rn.done
		return ctx.Err()
	}
}

// await waits for rn to settle and OnState to be told, or ctx to end.
func (r *Runner) await(ctx context.Context, rn *run) error {
	select {
	case <-rn.settled:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The settled state was queued before settled was closed.
	r.mu.Lock()
	wait := r.notifying
	r.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return rn.err
}

// settle records the first outcome of rn.
func (rn *run) settle(err error) {
	rn.settleOnce.Do(func() {
		rn.err = err
		close(rn.settled)
	})
}

// spawn starts a new run and makes it current. The caller holds r.ops and
// the previous run is gone.
func (r *Runner) spawn() *run {
	rn := &run{
		stopReq:  make(chan struct{}),
		hurry:    make(chan struct{}),
		settled:  make(chan struct{}),
		done:     make(chan struct{}),
		exitCode: -1,
	}
	r.mu.Lock()
	r.cur = rn
	r.setLocked(rn, State{Phase: PhaseStarting, ExitCode: -1})
	r.mu.Unlock()

	fail := func(err error) *run {
		close(rn.done)
		r.setState(rn, State{Phase: PhaseFailed, ExitCode: -1, Err: err})
		rn.settle(err)
		r.log.Warn("app failed", "err", err)
		return rn
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("cannot start the app command: %w", err))
	}
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Dir = r.o.Dir
	if len(r.o.Env) > 0 {
		cmd.Env = append(os.Environ(), r.o.Env...)
	}
	// One pipe for both streams keeps their interleaving; an *os.File
	// spares exec its copying goroutines, so Wait returns when the
	// process exits even if something it started still holds the pipe.
	cmd.Stdout, cmd.Stderr = pw, pw
	g, err := newGroup(cmd)
	if err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return fail(fmt.Errorf("cannot start the app command: %w", err))
	}
	err = cmd.Start()
	_ = pw.Close()
	if err != nil {
		_ = pr.Close()
		g.close()
		return fail(fmt.Errorf("cannot start the app command %q: %w", strings.Join(r.o.Command, " "), err))
	}
	if err := g.started(cmd.Process); err != nil {
		r.log.Warn("the app's child processes cannot be tracked; stopping the app may leave them running", "err", err)
	}
	rn.cmd, rn.group = cmd, g
	r.log.Info("app starting", "cmd", strings.Join(r.o.Command, " "), "pid", cmd.Process.Pid)
	go r.supervise(rn, pr)
	return rn
}

// outputGrace is how long the output reader may go on after the process
// group is gone, for something that escaped the group but holds the pipe.
const outputGrace = time.Second

// supervise owns a started run until it is over: it copies the output,
// polls the ready URL, enforces the ready timeout, stops the group when
// asked and reports ready and failed.
func (r *Runner) supervise(rn *run, pr *os.File) {
	defer close(rn.done)
	defer rn.group.close()
	started := time.Now()

	exited := make(chan struct{})
	go func() {
		_ = rn.cmd.Wait() // the exit status is read from cmd.ProcessState
		close(exited)
	}()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		r.copyOutput(rn, pr)
	}()
	pollCtx, cancelPoll := context.WithCancel(context.Background())
	answered, polled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(polled)
		if r.awaitAnswer(pollCtx) {
			close(answered)
		}
	}()
	timeout := time.NewTimer(r.o.ReadyTimeout)
	defer timeout.Stop()

	const (
		endExited = iota
		endTimeout
		endStopped
	)
	end, ready := endExited, false
loop:
	for {
		select {
		case <-answered:
			answered, ready = nil, true
			timeout.Stop()
			r.setState(rn, State{Phase: PhaseReady, ExitCode: -1})
			rn.settle(nil)
			r.log.Info("app ready", "url", r.o.ReadyURL, "after", time.Since(started).Round(time.Millisecond))
		case <-exited:
			break loop
		case <-timeout.C:
			end = endTimeout
			break loop
		case <-rn.stopReq:
			end = endStopped
			break loop
		}
	}
	cancelPoll()
	<-polled
	r.stopGroup(rn, exited) // after an exit of its own: whatever the command left behind
	select {
	case <-copied:
	case <-time.After(outputGrace):
		_ = pr.Close() // unblocks the reader
		<-copied
	}
	_ = pr.Close()
	r.lines.endLine()

	ps := rn.cmd.ProcessState
	rn.exitCode = ps.ExitCode()
	var err error
	switch {
	case end == endStopped:
		rn.settle(ErrStopped)
		return // the caller of stopRun sets the next state
	case end == endTimeout:
		err = fmt.Errorf("app command did not answer on %s within %v; stopped it", r.o.ReadyURL, r.o.ReadyTimeout)
	default:
		err = r.exitError(ps, ready)
	}
	r.setState(rn, State{Phase: PhaseFailed, ExitCode: rn.exitCode, Err: err})
	rn.settle(err)
	r.log.Warn("app failed", "err", err)
}

// exitError describes a command that exited on its own.
func (r *Runner) exitError(ps *os.ProcessState, ready bool) error {
	how := fmt.Sprintf("exited with status %d", ps.ExitCode())
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		how = "was killed by signal " + ws.Signal().String()
	}
	switch {
	case r.o.ReadyURL == "":
		return fmt.Errorf("app command %s", how)
	case ready:
		return fmt.Errorf("app command %s while serving %s", how, r.o.ReadyURL)
	}
	return fmt.Errorf("app command %s before answering on %s", how, r.o.ReadyURL)
}

// killWait bounds the wait for a process group to vanish after SIGKILL,
// which the kernel delivers asynchronously.
const killWait = 2 * time.Second

// stopGroup ends the run's process group: SIGTERM to the group, then, once
// the command has exited and no other member is left, it returns; when
// that takes longer than StopTimeout, or when hurried, the group gets
// SIGKILL and stopGroup waits (up to killWait) for it to vanish. It is
// also used after the command exited on its own, for what it left behind.
// It returns once the command has been reaped.
func (r *Runner) stopGroup(rn *run, exited <-chan struct{}) {
	g := rn.group
	hurry := rn.hurry
	if !g.terminate() { // nothing can ask it to stop: kill at once
		closed := make(chan struct{})
		close(closed)
		hurry = closed
	}
	grace := time.NewTimer(r.o.StopTimeout)
	defer grace.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	reaped := false
wait:
	for {
		if reaped && !g.alive() {
			return // everything exited after SIGTERM
		}
		select {
		case <-exited:
			reaped, exited = true, nil
		case <-tick.C:
		case <-grace.C:
			r.log.Warn("app did not exit after SIGTERM; sending SIGKILL", "after", r.o.StopTimeout)
			break wait
		case <-hurry:
			break wait
		}
	}
	g.kill()
	if !reaped {
		<-exited
	}
	for deadline := time.Now().Add(killWait); g.alive() && time.Now().Before(deadline); {
		<-tick.C
	}
}

// copyOutput reads the run's output until the pipe is closed, keeping the
// tail and copying it to the terminal.
func (r *Runner) copyOutput(rn *run, pr *os.File) {
	buf := make([]byte, 32<<10)
	for {
		n, err := pr.Read(buf)
		if n > 0 {
			_, _ = rn.out.Write(buf[:n])
			_, _ = r.lines.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// awaitAnswer polls the ready URL until any HTTP response arrives (true)
// or ctx ends (false).
func (r *Runner) awaitAnswer(ctx context.Context) bool {
	if r.o.ReadyURL == "" {
		return true
	}
	delay := 50 * time.Millisecond
	for {
		if r.probe(ctx) {
			return true
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// probe makes one request to the ready URL.
func (r *Runner) probe(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.o.ReadyURL, nil)
	if err != nil {
		return false
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return true
}

// setState records s as rn's state, if rn is still the current run, and
// queues it for OnState.
func (r *Runner) setState(rn *run, s State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setLocked(rn, s)
}

// setLocked is setState with r.mu held.
func (r *Runner) setLocked(rn *run, s State) {
	if rn != r.cur {
		return
	}
	r.state = s
	if r.o.OnState == nil {
		return
	}
	if rn != nil {
		s.Output = rn.out.String()
	}
	r.pending = append(r.pending, s)
	if r.notifying == nil {
		done := make(chan struct{})
		r.notifying = done
		go r.deliver(done)
	}
}

// deliver hands the pending states to OnState, in order, until none is
// left.
func (r *Runner) deliver(done chan struct{}) {
	defer close(done)
	for {
		r.mu.Lock()
		if len(r.pending) == 0 {
			r.notifying = nil
			r.mu.Unlock()
			return
		}
		s := r.pending[0]
		r.pending[0] = State{}
		r.pending = r.pending[1:]
		r.mu.Unlock()
		r.o.OnState(s)
	}
}
