package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/dev"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/tmpl"
	"github.com/valksor/go-sse/web"
)

// answeredReload is the reload event for an app known to answer right
// now: it tells the client to reload (or morph) without first probing the
// page (probe: false), which saves the browser a round trip. noMorph adds
// morph: false (dev.morph or watch.morph is false).
func answeredReload(noMorph bool, files ...string) sse.Event {
	return web.ReloadEvent(files, web.ReloadOptions{NoProbe: true, NoMorph: noMorph})
}

// appReload returns the reload event maker of the watcher and the signal
// file: answeredReload when the app is known to answer, otherwise the
// standard event, whose probe makes pages wait until the app is back. With
// a runner its state says (ready, or not); without one the app is asked
// for a connection (a quarter of a second at most).
func appReload(target *url.URL, runner *dev.Runner, noMorph bool) func(files ...string) sse.Event {
	if runner != nil {
		return func(files ...string) sse.Event {
			if runner.State().Phase == dev.PhaseReady {
				return answeredReload(noMorph, files...)
			}
			return web.ReloadEvent(files, web.ReloadOptions{NoMorph: noMorph})
		}
	}
	addr := target.Host
	if target.Port() == "" {
		port := "80"
		if target.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(target.Hostname(), port)
	}
	return func(files ...string) sse.Event {
		c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		if err != nil {
			return web.ReloadEvent(files, web.ReloadOptions{NoMorph: noMorph})
		}
		_ = c.Close()
		return answeredReload(noMorph, files...)
	}
}

// devSynopsis is the usage text of the dev command, above its flags.
const devSynopsis = `dev --proxy http://localhost:8000 [--listen localhost:3000 | --port 3000] [--cmd "go run ./app"] [--watch DIR]...

Serves your app through a proxy that injects the live-reload client into
its HTML pages and hosts the event stream (/sse) on the proxy's address.

Browsers reload when:
  - a watched file changes: the --watch directories and watch.paths, or,
    when there are none, the whole working directory, minus the watcher's
    default ignores (.git, node_modules, vendor, var, editors' temporary
    files and the like; watch.ignore skips more). With --cmd, a *.go
    change (or one matching --restart GLOB) restarts the app first.
    A change to anything but a script morphs the page in place instead
    of reloading it, keeping its state (dev.morph: false turns that off).
  - valksor-sse publish reload --port 3000 runs in this directory.
    Publishers authenticate as with serve (publish_token, the token file
    created on first start, or with JWT keys a publisher JWT), so the app
    can publish its own events to the proxy too.
  - the reload signal file appears (signal_file, default
    var/run/valksor-reload.signal), as under serve.

SIGINT, SIGTERM and SIGHUP stop dev and the app it runs. Unlike serve,
where SIGHUP reloads every browser, SIGHUP here means the terminal went
away; reload by hand with valksor-sse publish reload --port 3000 or by
touching the signal file.`

// dev runs the reloading proxy: valksor-sse dev --proxy URL [--listen ADDR
// | --host HOST --port PORT] [--cmd CMD]... [--watch DIR]... [--open].
func (m *Main) dev(ctx context.Context, args []string) error {
	fs := m.newFlagSet("dev", devSynopsis)
	var c commonFlags
	c.register(fs)
	// --host and --port place the proxy, as they place the server of serve.
	fs.Lookup("host").Usage = "`host` of the proxy when --listen is not given (default: the host of dev.listen, localhost)"
	fs.Lookup("port").Usage = "`port` of the proxy when --listen is not given (default: the port of dev.listen, 3000; 0 picks a free port); publish to it with valksor-sse publish --port PORT"
	proxyURL := fs.String("proxy", "", "`URL` of your app (any language); pages are served through the proxy with live reload")
	listen := fs.String("listen", "", "`address` of the proxy, host:port (default dev.listen, localhost:3000); or give --host/--port")
	var cmds stringList
	fs.Var(&cmds, "cmd", "`command` that runs the app; restarted when a watched source changes (repeatable: run in order as one shell line each)")
	var restarts stringList
	fs.Var(&restarts, "restart", "with --cmd, also restart the app when files matching `GLOB` change, as *.go files do: templates the app reads only when it starts, e.g. 'templates/**' (repeatable; the same as watch.rules GLOB=restart)")
	open := fs.Bool("open", false, "open the proxy in the browser once it is up")
	debug := fs.Bool("debug", false, "log every connect, disconnect and event")
	var wf watchFlags
	wf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := m.load(c)
	if err != nil {
		return err
	}
	wf.apply(&cfg)
	if *proxyURL != "" {
		cfg.DevProxy = *proxyURL
	}
	if err := devListen(&cfg, c, *listen); err != nil {
		return err
	}
	if len(cmds) > 0 {
		cfg.DevCmd = cmds
	}
	if len(restarts) > 0 && len(cfg.DevCmd) == 0 {
		return usageError{"--restart restarts the app that --cmd runs: give --cmd too (without it, every change reloads or morphs the pages)"}
	}
	for _, g := range restarts {
		cfg.WatchRules = append(cfg.WatchRules, g+"=restart")
	}
	if *debug {
		cfg.Debug = true
	}
	if cfg.DevProxy == "" {
		return usageError{"dev needs the app's URL: valksor-sse dev --proxy http://localhost:8000 (or dev.proxy in the config)"}
	}
	target, err := url.Parse(cfg.DevProxy)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return usageError{fmt.Sprintf("--proxy %q: want the app's URL, such as http://localhost:8000", cfg.DevProxy)}
	}
	// Without watch paths, the working directory: a save anywhere in the
	// project reloads, as a user who gave only --proxy expects.
	watchAll := len(cfg.Watch) == 0
	if watchAll {
		cfg.Watch = []string{"."}
	}
	if len(cfg.DevCmd) > 0 {
		cfg.WatchRules = append(cfg.WatchRules, "*.go=restart")
	}
	noMorph := !cfg.DevMorph || !cfg.WatchMorph
	logger := newLogger(m.Stderr, cfg)
	if watchAll {
		dir, _ := filepath.Abs(m.path("."))
		logger.Info("no --watch or watch.paths given: watching the whole working directory, minus the default ignores (.git, node_modules, vendor, var, editors' temporary files and the like); narrow it with --watch DIR (repeatable) or watch.paths, skip more with watch.ignore", "dir", dir)
	}

	// Publishers authenticate as with serve, so that valksor-sse publish
	// run in this directory, and the app, publish to dev as they would to
	// serve: the static token (publish_token, or the token file, created
	// on first start), or with JWT keys a publisher JWT.
	token, err := m.servePublishToken(cfg, logger)
	if err != nil {
		return err
	}
	opts := hubOptions(cfg, token, logger)
	authz, err := m.authorizer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	if authz != nil {
		opts = append(opts, sse.WithAuthorizer(devAuthorizer{authz}))
		logger.Info("JWT keys configured: publishes are checked as under serve (a publisher JWT, or publish_token when set); every stream may subscribe to public events, so that live reload works without a token")
	}
	hub, err := sse.New(opts...)
	if err != nil {
		return err
	}
	// The client's files live under the base path: the app keeps /assets/.
	mapper, err := assets.NewWithOptions(assets.Options{Prefix: cfg.BasePath + "/assets/"}, assets.Source{Namespace: "valksorsse", FS: web.ClientFS})
	if err != nil {
		return err
	}
	renderer, err := tmpl.New(tmpl.Options{
		Enabled:   true,
		BasePath:  cfg.BasePath,
		Mapper:    mapper,
		ImportMap: assets.ImportMap{Entries: []assets.ImportEntry{{Name: tmpl.ClientEntry, Path: clientPath, Preload: true}}},
	})
	if err != nil {
		return err
	}

	var runner *dev.Runner
	var mu sync.Mutex
	var changed []string
	if len(cfg.DevCmd) > 0 {
		runner, err = dev.NewRunner(dev.RunnerOptions{
			Command:  cfg.DevCmd,
			Dir:      m.Dir,
			ReadyURL: target.String(),
			Stdout:   m.Stderr,
			Logger:   logger,
			OnState: func(s dev.State) {
				_ = hub.Broadcast(ctx, dev.StateEvent(s))
				if s.Phase == dev.PhaseReady {
					mu.Lock()
					files := changed
					changed = nil
					mu.Unlock()
					// Browsers reload only now that the app answers.
					_ = hub.Broadcast(ctx, answeredReload(noMorph, files...))
				}
			},
		})
		if err != nil {
			return err
		}
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	popts := dev.ProxyOptions{Renderer: renderer, State: stateOf(runner), Logger: logger}
	var comeback *appWatcher
	if runner == nil {
		// Nobody restarts the app, so nobody knows when it is back: watch
		// for it after a failed request, and reload the 502 pages then.
		comeback = &appWatcher{ctx: runCtx, target: target.String(), rt: http.DefaultTransport, onUp: func() {
			logger.Info("the app answers again; reloading browsers", "app", target.String())
			_ = hub.Broadcast(runCtx, answeredReload(noMorph))
		}}
		popts.Transport = comeback
	}
	proxy, err := dev.NewProxy(target, popts)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	hub.Register(mux)
	web.Register(mux, cfg.BasePath)
	mux.Handle(mapper.Prefix(), mapper)
	mux.Handle("/", proxy)

	// Before listening, so that a signal sent once the proxy answers stops
	// it cleanly. SIGHUP too: when the terminal goes, the app (in its own
	// process group) must not be left holding its port. (serve reloads
	// browsers on SIGHUP instead; devSynopsis says so.)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	ln, err := net.Listen("tcp", cfg.DevListen)
	if err != nil {
		return fmt.Errorf("dev proxy: listen on %s: %w; choose another port with --port (or an address with --listen)", cfg.DevListen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	proxyAddr := "http://" + ln.Addr().String()
	logger.Info("valksor-sse dev proxy listening", "url", proxyAddr+"/", "app", target.String(), "stream", proxyAddr+cfg.BasePath)
	if m.ready != nil {
		m.ready(ln.Addr().String())
	}

	var restart func(context.Context, []string)
	if runner != nil {
		restart = func(ctx context.Context, files []string) {
			mu.Lock()
			changed = files
			mu.Unlock()
			if err := runner.Restart(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("app restart", "err", err)
			}
		}
	}
	wt, err := startWatcher(ctx, cfg, m.path, hub, logger, watchHooks{restart: restart, reload: appReload(target, runner, noMorph)})
	if err != nil {
		logger.Error("file watcher not started", "err", err)
	}
	// The reload signal file of PHP setups, as under serve; the reload
	// skips the probe when the app answers.
	signalFile := watchSignalFile(ctx, m.path(cfg.SignalFile), hub, appReload(target, runner, noMorph), logger)

	if runner != nil {
		go func() {
			if err := runner.Start(runCtx); err != nil && runCtx.Err() == nil {
				logger.Warn("app did not start; fix it and save a file to try again", "err", err)
			}
		}()
	}
	if *open {
		openBrowser(proxyAddr+"/", logger)
	}

	select {
	case err = <-serveErr:
	case <-ctx.Done():
	case sig := <-sigs:
		logger.Info("shutting down", "signal", sig.String())
	}
	stopRun()
	comeback.wait()
	wt.stop()
	signalFile.stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if runner != nil {
		_ = runner.Stop(shutdownCtx)
	}
	_ = hub.Shutdown(shutdownCtx)
	stopHTTP(shutdownCtx, srv)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// appWatcher is the proxy's transport when dev runs no command: after a
// request to the app fails, it asks the app every 250 ms until it answers,
// then calls onUp once.
type appWatcher struct {
	ctx    context.Context
	target string
	rt     http.RoundTripper
	onUp   func()

	mu      sync.Mutex
	polling bool
	stopped bool
	done    sync.WaitGroup
}

// RoundTrip forwards req and notices when the app does not answer.
func (a *appWatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.rt.RoundTrip(req)
	if err != nil && req.Context().Err() == nil {
		a.startPolling()
	}
	return resp, err
}

func (a *appWatcher) startPolling() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.polling || a.stopped || a.ctx.Err() != nil {
		return
	}
	a.polling = true
	a.done.Add(1)
	go func() {
		defer a.done.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-a.ctx.Done():
				return
			case <-t.C:
			}
			req, err := http.NewRequestWithContext(a.ctx, http.MethodHead, a.target, nil)
			if err != nil {
				return
			}
			if resp, err := a.rt.RoundTrip(req); err == nil {
				resp.Body.Close()
				a.mu.Lock()
				a.polling = false
				a.mu.Unlock()
				a.onUp()
				return
			}
		}
	}()
}

// wait waits for the polling goroutine, after its context ended. A nil
// watcher is fine.
func (a *appWatcher) wait() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	a.done.Wait()
}

// stateOf returns the runner's state function, or nil without a runner.
func stateOf(r *dev.Runner) func() dev.State {
	if r == nil {
		return nil
	}
	return r.State
}

// openBrowser opens url in the desktop's browser, if there is one.
func openBrowser(url string, logger *slog.Logger) {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	cmd := exec.Command(name, url)
	if err := cmd.Start(); err != nil {
		logger.Info("open the proxy in your browser", "url", url)
		return
	}
	go func() { _ = cmd.Wait() }()
}

// devAuthorizer is the authorizer of dev with JWT keys: publishes are
// checked as under serve, and a stream the JWT rules refuse (no token
// while auth.anonymous_subscribe is false, or a bad one) still opens for
// public events, since the live-reload client injected into the pages
// sends no token.
type devAuthorizer struct{ *jwt.Authorizer }

// AuthorizeSubscribe grants what the JWT rules grant, and public events
// when they refuse.
func (a devAuthorizer) AuthorizeSubscribe(r *http.Request, topics []string) (sse.Grant, error) {
	if g, err := a.Authorizer.AuthorizeSubscribe(r, topics); err == nil {
		return g, nil
	}
	return sse.Grant{}, nil
}

// devListen sets cfg.DevListen, the proxy's address: --listen, else
// --host and --port (each defaulting to its part of dev.listen), else
// dev.listen. The host and port of the config file and the environment
// are serve's and do not move the proxy.
func devListen(cfg *config.Config, c commonFlags, listen string) error {
	switch {
	case listen != "" && (c.host != "" || c.port != ""):
		return usageError{"--listen and --host/--port both choose the proxy's address: give --listen HOST:PORT, or --host and --port"}
	case listen != "":
		cfg.DevListen = listen
	case c.host != "" || c.port != "":
		host, port, err := net.SplitHostPort(cfg.DevListen)
		if err != nil {
			return fmt.Errorf("dev.listen %q is not host:port (such as localhost:3000): fix it in the config, or give --listen HOST:PORT", cfg.DevListen)
		}
		if c.host != "" {
			host = strings.Trim(cfg.Host, "[]")
		}
		if c.port != "" {
			port = strconv.Itoa(cfg.Port)
		}
		cfg.DevListen = net.JoinHostPort(host, port)
	}
	return nil
}
