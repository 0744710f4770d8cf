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
	"runtime"
	"sync"
	"syscall"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/dev"
	"github.com/valksor/go-sse/tmpl"
	"github.com/valksor/go-sse/web"
)

// answeredReload is the reload event for an app known to answer right
// now: it tells the client to reload without first probing the page with
// HEAD (probe: false), which saves the browser a round trip.
func answeredReload(files ...string) sse.Event {
	if files == nil {
		files = []string{}
	}
	return sse.Event{Type: sse.TypeReload, Data: map[string]any{"files": files, "probe": false}}
}

// appReload returns the reload event maker of the watcher: when the app
// accepts a connection at that moment, answeredReload, otherwise the
// standard event, whose probe makes pages wait until the app is back.
func appReload(target *url.URL) func(files ...string) sse.Event {
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
			return sse.Reload(files...)
		}
		_ = c.Close()
		return answeredReload(files...)
	}
}

// dev runs the reloading proxy: valksor-sse dev --proxy URL [--listen ADDR]
// [--cmd CMD]... [--watch DIR]... [--open].
func (m *Main) dev(ctx context.Context, args []string) error {
	fs := m.newFlagSet("dev", "dev --proxy http://localhost:8000 [--listen localhost:3000] [--cmd \"go run ./app\"] [--watch DIR]...")
	var c commonFlags
	c.register(fs)
	proxyURL := fs.String("proxy", "", "`URL` of your app (any language); pages are served through the proxy with live reload")
	listen := fs.String("listen", "", "`address` of the proxy (default dev.listen, localhost:3000)")
	var cmds stringList
	fs.Var(&cmds, "cmd", "`command` that runs the app; restarted when a watched source changes (repeatable: run in order as one shell line each)")
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
	if *listen != "" {
		cfg.DevListen = *listen
	}
	if len(cmds) > 0 {
		cfg.DevCmd = cmds
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
	if len(cfg.DevCmd) > 0 {
		if len(cfg.Watch) == 0 {
			cfg.Watch = []string{"."}
		}
		cfg.WatchRules = append(cfg.WatchRules, "*.go=restart")
	}
	logger := newLogger(m.Stderr, cfg)

	hub, err := sse.New(hubOptions(cfg, m.readToken(cfg), logger)...)
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
					_ = hub.Broadcast(ctx, answeredReload(files...))
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
			_ = hub.Broadcast(runCtx, answeredReload())
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

	ln, err := net.Listen("tcp", cfg.DevListen)
	if err != nil {
		return fmt.Errorf("dev proxy: listen on %s: %w; choose another address with --listen", cfg.DevListen, err)
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
	wt, err := startWatcher(ctx, cfg, m.path, hub, logger, watchHooks{restart: restart, reload: appReload(target)})
	if err != nil {
		logger.Error("file watcher not started", "err", err)
	}

	sigs := make(chan os.Signal, 2)
	// SIGHUP too: when the terminal goes, the app (in its own process
	// group) must not be left holding its port.
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
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
