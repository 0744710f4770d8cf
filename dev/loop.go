package dev

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/tmpl"
	"github.com/valksor/go-sse/web"
)

// Loop is the dev loop in front of an app: the proxy to it, the Runner of
// its command when there is one, and the events that keep the browsers in
// step with it, wired as the package documentation describes. The
// valksor-sse dev command serves its Proxy as the fallback handler of a
// server, watches files with Restart and Reload, and gives Start the
// server's hub.
type Loop struct {
	target   *url.URL
	noMorph  bool
	log      *slog.Logger
	runner   *Runner   // nil without a command
	comeback *Comeback // nil with a command
	proxy    *Proxy
	ctx      context.Context
	cancel   context.CancelFunc

	mu      sync.Mutex
	hub     sse.Broadcaster
	changed []string // the files of the change the app restarts for
}

// LoopOptions configure a Loop.
type LoopOptions struct {
	// Target is the app's URL. Required.
	Target *url.URL
	// Command runs the app (see RunnerOptions.Command); empty means the
	// app runs on its own, and nobody knows when it is back after it went
	// away: the proxy asks it every 250 ms after a failed request, and
	// reloads the pages once it answers.
	Command []string
	// Dir is the command's working directory; "" means the current one.
	Dir string
	// Stdout receives the app's output (see RunnerOptions.Stdout).
	Stdout io.Writer
	// Renderer renders the client injected into the app's pages. Required.
	Renderer *tmpl.Renderer
	// Logger receives the loop's messages; nil means slog.Default().
	Logger *slog.Logger
	// NoMorph makes every reload event of the loop carry morph: false, so
	// that browsers reload a changed page instead of morphing it in place
	// (dev.morph or watch.morph is false).
	NoMorph bool
}

// NewLoop returns the loop of o; Start starts it.
func NewLoop(o LoopOptions) (*Loop, error) {
	if o.Target == nil || o.Renderer == nil {
		return nil, errors.New("dev: NewLoop needs the app's URL and a Renderer")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	l := &Loop{target: o.Target, noMorph: o.NoMorph, log: o.Logger}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	popts := ProxyOptions{Renderer: o.Renderer, Logger: o.Logger}
	if len(o.Command) > 0 {
		r, err := NewRunner(RunnerOptions{Command: o.Command, Dir: o.Dir, ReadyURL: o.Target.String(), Stdout: o.Stdout, Logger: o.Logger, OnState: l.state})
		if err != nil {
			return nil, err
		}
		l.runner, popts.State = r, r.State
	} else {
		l.comeback = &Comeback{Ctx: l.ctx, Target: o.Target.String(), OnUp: l.appBack}
		popts.Transport = l.comeback
	}
	p, err := NewProxy(o.Target, popts)
	if err != nil {
		return nil, err
	}
	l.proxy = p
	return l, nil
}

// Proxy returns the proxy to the app.
func (l *Loop) Proxy() http.Handler { return l.proxy }

// Reload makes the reload event of changed files: AnsweredReload when the
// app is known to answer, otherwise the standard event (see ReloadFor).
func (l *Loop) Reload(files ...string) sse.Event {
	return ReloadFor(l.target, l.runner, l.noMorph)(files...)
}

// Restart restarts the app for a change of files; the browsers reload
// once it answers. Without a command it reloads them at once.
func (l *Loop) Restart(ctx context.Context, files []string) {
	if l.runner == nil {
		l.broadcast(l.Reload(files...))
		return
	}
	l.mu.Lock()
	l.changed = files
	l.mu.Unlock()
	if err := l.runner.Restart(ctx); err != nil && ctx.Err() == nil {
		l.log.Warn("app restart", "err", err)
	}
}

// Start publishes the loop's events on hub from now on, and starts the
// app's command in the background.
func (l *Loop) Start(hub sse.Broadcaster) {
	l.mu.Lock()
	l.hub = hub
	l.mu.Unlock()
	if l.runner == nil {
		return
	}
	go func() {
		if err := l.runner.Start(l.ctx); err != nil && l.ctx.Err() == nil {
			l.log.Warn("app did not start; fix it and save a file to try again", "err", err)
		}
	}()
}

// Stop stops the app within ctx and the polling of an app that went away.
func (l *Loop) Stop(ctx context.Context) error {
	l.cancel()
	l.comeback.Wait()
	if l.runner == nil {
		return nil
	}
	return l.runner.Stop(ctx)
}

// state forwards the runner's phases: the overlay follows them, and the
// browsers reload only once the app answers.
func (l *Loop) state(s State) {
	l.broadcast(StateEvent(s))
	if s.Phase == PhaseReady {
		l.mu.Lock()
		files := l.changed
		l.changed = nil
		l.mu.Unlock()
		l.broadcast(AnsweredReload(l.noMorph, files...))
	}
}

// appBack reloads the pages showing the app-down page once an app that
// went away answers again. Pages already showing the app (a tab whose own
// probe found it back first) ignore the event.
func (l *Loop) appBack() {
	l.log.Info("the app answers again; reloading browsers", "app", l.target.String())
	l.broadcast(web.ReloadEvent(nil, web.ReloadOptions{NoProbe: true, NoMorph: l.noMorph, AppDownOnly: true}))
}

// broadcast publishes e on the hub given to Start, if any.
func (l *Loop) broadcast(e sse.Event) {
	l.mu.Lock()
	hub := l.hub
	l.mu.Unlock()
	if hub != nil {
		_ = hub.Broadcast(l.ctx, e)
	}
}
