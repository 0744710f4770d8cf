package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/dev"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/server"
	"github.com/valksor/go-sse/tmpl"
	"github.com/valksor/go-sse/web"
)

// devAbout is the help text of the dev command, above its flags.
const devAbout = `Serves your app through a proxy that injects the live-reload client into
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

// devFlags are the flags of dev.
type devFlags struct {
	common   configFlags
	proxy    string
	listen   string
	cmds     stringList
	restarts stringList
	open     bool
	debug    bool
	watch    watchFlags
}

func (f *devFlags) register(fs *flagSet) {
	f.common.register(fs, roleConfig)
	// --host and --port place the proxy, as they place the server of serve.
	fs.StringVar(&f.common.host, "host", "", "`host` of the proxy when --listen is not given (default: the host of dev.listen, localhost)")
	fs.StringVar(&f.common.port, "port", "", "`port` of the proxy when --listen is not given (default: the port of dev.listen, 3000; 0 picks a free port); publish to it with valksor-sse publish --port PORT")
	fs.StringVar(&f.proxy, "proxy", "", "`URL` of your app (any language); pages are served through the proxy with live reload")
	fs.StringVar(&f.listen, "listen", "", "`address` of the proxy, host:port (default dev.listen, localhost:3000); or give --host/--port")
	fs.Var(&f.cmds, "cmd", "`command` that runs the app; restarted when a watched source changes (repeatable: run in order as one shell line each)")
	fs.Var(&f.restarts, "restart", "with --cmd, also restart the app when files matching `GLOB` change, as *.go files do: templates the app reads only when it starts, e.g. 'templates/**' (repeatable; the same as watch.rules GLOB=restart)")
	fs.BoolVar(&f.open, "open", false, "open the proxy in the browser once it is up")
	fs.BoolVar(&f.debug, "debug", false, "log every connect, disconnect and event")
	f.watch.register(fs)
}

// dev runs the reloading proxy: the server of serve, reduced to the hub
// and the client, with the proxy to the app as its fallback handler.
func (m *Main) dev(ctx context.Context, args []string) error {
	var f devFlags
	fs := m.newFlagSet("dev", `dev --proxy http://localhost:8000 [--listen localhost:3000 | --port 3000] [--cmd "go run ./app"] [--watch DIR]...`, devAbout)
	f.register(fs)
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	cfg, target, err := m.devConfig(f)
	if err != nil {
		return err
	}
	logger, release := newLogger(m.Stderr, cfg)
	defer release()
	if len(cfg.Watch.Paths) == 0 {
		m.logWatchAll(logger)
		cfg.Watch.Paths = []string{"."}
	}
	sigs, stopSignals := notifySignals()
	defer stopSignals()
	s, loop, err := m.newDevServer(ctx, cfg, target, logger)
	if err != nil {
		return err
	}
	if err := s.Open(); err != nil {
		_ = s.Shutdown(context.Background())
		return err
	}
	m.announceDev(s, cfg, target, logger, release)
	release()
	loop.Start(s.Hub())
	if f.open {
		openBrowser(urlOf(s, devHost(cfg), "/"), logger)
	}
	err = lifetime{sigs: sigs, timeout: cfg.Server.ShutdownTimeout, logger: logger}.run(ctx, s)
	stop, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	_ = loop.Stop(stop)
	return err
}

// devConfig loads the config and applies dev's flags to it; target is the
// app's URL.
func (m *Main) devConfig(f devFlags) (config.Config, *url.URL, error) {
	host, port := f.common.host, f.common.port
	f.common.host, f.common.port = "", "" // they place the proxy, not serve's server
	cfg, err := m.load(f.common)
	if err != nil {
		return cfg, nil, err
	}
	f.watch.apply(&cfg)
	cfg.Server.Debug = cfg.Server.Debug || f.debug
	if f.proxy != "" {
		cfg.Dev.Proxy = f.proxy
	}
	if len(f.cmds) > 0 {
		cfg.Dev.Cmd = f.cmds
	}
	if len(f.restarts) > 0 && len(cfg.Dev.Cmd) == 0 {
		return cfg, nil, usageError{"--restart restarts the app that --cmd runs: give --cmd too (without it, every change reloads or morphs the pages)"}
	}
	for _, g := range f.restarts {
		cfg.Watch.Rules = append(cfg.Watch.Rules, g+"=restart")
	}
	if err := devListen(&cfg, host, port, f.listen); err != nil {
		return cfg, nil, err
	}
	if cfg.Dev.Proxy == "" {
		return cfg, nil, usageError{"dev needs the app's URL: valksor-sse dev --proxy http://localhost:8000 (or dev.proxy in the config)"}
	}
	target, err := url.Parse(cfg.Dev.Proxy)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return cfg, nil, usageError{fmt.Sprintf("--proxy %q: want the app's URL, such as http://localhost:8000", cfg.Dev.Proxy)}
	}
	if len(cfg.Dev.Cmd) > 0 {
		cfg.Watch.Rules = append(cfg.Watch.Rules, "*.go=restart")
	}
	return cfg, target, nil
}

// logWatchAll says that dev watches the working directory, as it does
// when no path is watched: a save anywhere in the project reloads, as a
// user who gave only --proxy expects.
func (m *Main) logWatchAll(logger *slog.Logger) {
	dir, _ := filepath.Abs(m.path("."))
	logger.Info("no --watch or watch.paths given: watching the whole working directory, minus the default ignores (.git, node_modules, vendor, var, editors' temporary files and the like); narrow it with --watch DIR (repeatable) or watch.paths, skip more with watch.ignore", "dir", dir)
}

// devListen sets cfg.DevListen, the proxy's address: --listen, else
// --host and --port (each defaulting to its part of dev.listen), else
// dev.listen. The host and port of the config file and the environment
// are serve's and do not move the proxy.
func devListen(cfg *config.Config, host, port, listen string) error {
	switch {
	case listen != "" && (host != "" || port != ""):
		return usageError{"--listen and --host/--port both choose the proxy's address: give --listen HOST:PORT, or --host and --port"}
	case listen != "":
		cfg.Dev.Listen = listen
	case host != "" || port != "":
		h, p, err := net.SplitHostPort(cfg.Dev.Listen)
		if err != nil {
			return fmt.Errorf("dev.listen %q is not host:port (such as localhost:3000): fix it in the config, or give --listen HOST:PORT", cfg.Dev.Listen)
		}
		if host != "" {
			h = strings.Trim(host, "[]")
		}
		if port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n < 0 || n > 65535 {
				return usageError{fmt.Sprintf("--port %q: want a number between 0 and 65535", port)}
			}
			p = port
		}
		cfg.Dev.Listen = net.JoinHostPort(h, p)
	}
	return nil
}

// newDevServer builds the server of dev and the loop of the app: the hub,
// the client and the proxy, on the proxy's address.
func (m *Main) newDevServer(ctx context.Context, cfg config.Config, target *url.URL, logger *slog.Logger) (*server.Server, *dev.Loop, error) {
	o, err := m.devOptions(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	renderer, err := tmpl.New(tmpl.Options{
		Enabled:   true,
		BasePath:  cfg.Server.BasePath,
		Mapper:    o.Mapper,
		ImportMap: assets.ImportMap{Entries: []assets.ImportEntry{{Name: tmpl.ClientEntry, Path: clientPath, Preload: true}}},
	})
	if err != nil {
		return nil, nil, err
	}
	loop, err := dev.NewLoop(dev.LoopOptions{Target: target, Command: cfg.Dev.Cmd, Dir: m.Dir, Stdout: m.Stderr, Renderer: renderer, Logger: logger,
		NoMorph: !cfg.Dev.Morph || !cfg.Watch.Morph}) // either key false: pages reload instead of morphing
	if err != nil {
		return nil, nil, err
	}
	o.Fallback, o.Reload, o.Watch.Restart = loop.Proxy(), loop.Reload, loop.Restart
	if o.Listener, err = net.Listen("tcp", cfg.Dev.Listen); err != nil {
		return nil, nil, fmt.Errorf("dev proxy: listen on %s: %w; choose another port with --port (or an address with --listen)", cfg.Dev.Listen, err)
	}
	s, err := server.New(o)
	return s, loop, err
}

// devOptions are the server options of dev. Publishers authenticate as
// with serve, so that valksor-sse publish run in this directory, and the
// app, publish to dev as they would to serve: the static token
// (publish_token, or the token file, created on first start), or with JWT
// keys a publisher JWT.
func (m *Main) devOptions(ctx context.Context, cfg config.Config, logger *slog.Logger) (server.Options, error) {
	token, err := m.serverPublishToken(cfg, logger)
	if err != nil {
		return server.Options{}, err
	}
	o := m.commonOptions(cfg, token, logger)
	authz, err := m.authorizer(ctx, cfg, logger)
	if err != nil {
		return server.Options{}, err
	}
	if authz != nil {
		o.Hub = append(o.Hub, sse.WithAuthorizer(devAuthorizer{authz}))
		logger.Info("JWT keys configured: publishes are checked as under serve (a publisher JWT, or publish_token when set); every stream may subscribe to public events, so that live reload works without a token")
	}
	// The client's files live under the base path: the app keeps /assets/.
	o.Mapper, err = assets.NewWithOptions(assets.Options{Prefix: cfg.Server.BasePath + "/assets/"}, assets.Source{Namespace: "valksorsse", FS: web.ClientFS})
	return o, err
}

// devHost is the host of the proxy's address, for its URL.
func devHost(cfg config.Config) string {
	host, _, _ := net.SplitHostPort(cfg.Dev.Listen)
	return host
}

// announceDev says where the proxy listens, first (see announce).
func (m *Main) announceDev(s *server.Server, cfg config.Config, target *url.URL, logger *slog.Logger, release func()) {
	url := urlOf(s, devHost(cfg), "/")
	if cfg.Server.LogFormat == "json" {
		release()
		logger.Info("valksor-sse dev listening", "url", url, "app", target.String(), "stream", urlOf(s, devHost(cfg), cfg.Server.BasePath))
	} else {
		fmt.Fprintf(m.Stderr, "valksor-sse dev listening on %s · app %s\n", url, target)
	}
	if m.ready != nil {
		m.ready(s.Addr().String())
	}
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
