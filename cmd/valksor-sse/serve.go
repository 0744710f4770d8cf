package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/process"
	"github.com/valksor/go-sse/redis"
	"github.com/valksor/go-sse/web"
)

func (m *Main) serve(ctx context.Context, args []string) error {
	fs := m.newFlagSet("serve", "serve [flags]")
	var c commonFlags
	c.register(fs)
	killExisting := fs.Bool("kill-existing", false, "stop a valksor-sse that holds the port or the pid file, then start")
	debug := fs.Bool("debug", false, "log every connect, disconnect and event")
	var wf watchFlags
	wf.register(fs)
	var pf productionFlags
	pf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	cfg, err := m.load(c)
	if err != nil {
		return err
	}
	if *debug {
		cfg.Debug = true
	}
	wf.apply(&cfg)
	logger := newLogger(m.Stderr, cfg)

	pidFile := process.PIDFile{Path: m.path(cfg.PIDFile)}
	pidLock, err := m.takeOver(ctx, pidFile, *killExisting, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := pidLock.Release(); err != nil {
			logger.Warn("cannot remove the pid file", "path", pidLock.Path(), "err", err)
		}
	}()
	ln, err := m.listen(ctx, cfg, *killExisting, logger)
	if err != nil {
		return err
	}
	token, err := m.servePublishToken(cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	prod, err := m.newProduction(ctx, cfg, pf, logger)
	if err != nil {
		ln.Close()
		return err
	}
	opts := append(hubOptions(cfg, token, logger), prod.hubOptions()...)
	opts, dash := withDashboard(cfg, token, opts, logger)
	if strings.HasPrefix(cfg.Transport, "redis") {
		tr, err := openRedis(ctx, cfg, logger)
		if err != nil {
			ln.Close()
			return err
		}
		defer tr.Close()
		opts = append(opts, sse.WithTransport(tr))
	}
	hub, err := sse.New(opts...)
	if err != nil {
		ln.Close()
		return err
	}
	mapper, im, err := m.newMapper(cfg, true)
	if err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	hub.Register(mux)
	m.mountMercure(cfg, hub, mux, logger)
	defer dash.mount(ctx, mux, hub, logger)()
	mux.Handle(mapper.Prefix(), mapper)
	registerImportMap(mux, mapper, im)
	web.Register(mux, cfg.BasePath)
	mux.Handle("/{$}", web.DemoHandler(cfg.BasePath))
	srv := &http.Server{
		Handler:           prod.handler(hub, mux),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	prod.configure(srv)

	// watch.morph: false makes the pages reload instead of morphing.
	reload := func(files ...string) sse.Event {
		return web.ReloadEvent(files, web.ReloadOptions{NoMorph: !cfg.WatchMorph})
	}
	wt, err := startWatcher(ctx, cfg, m.path, hub, logger, watchHooks{mapper: mapper, reload: reload})
	if err != nil {
		ln.Close()
		_ = hub.Shutdown(context.Background())
		return err
	}
	defer wt.stop()

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	stopRequests, err := process.NotifyStop(sigs)
	if err != nil {
		logger.Warn("`valksor-sse stop` will end this server without a graceful shutdown", "err", err)
	}
	defer stopRequests()

	serveErr := make(chan error, 1)
	go func() { serveErr <- prod.serve(srv, ln) }()

	addr := ln.Addr().String()
	logger.Info("valksor-sse listening", "url", prod.scheme()+"://"+addr+cfg.BasePath, "pid", os.Getpid(), "config", orNone(cfg.Source), "transport", hub.Health(ctx).Transport, "history", cfg.HistorySize, "max_connections", cfg.MaxConnections)
	if m.ready != nil {
		m.ready(addr)
	}

	signalFile := watchSignalFile(ctx, m.path(cfg.SignalFile), hub, reload, logger)
	defer signalFile.stop()
	for {
		select {
		case err := <-serveErr:
			signalFile.stop()
			_ = hub.Shutdown(context.Background())
			return fmt.Errorf("server stopped: %w", err)
		case <-ctx.Done():
			signalFile.stop()
			return m.shutdown(hub, srv, cfg, logger, nil)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				logger.Info("SIGHUP: reloading every browser")
				if err := hub.Broadcast(ctx, sse.Reload()); err != nil {
					logger.Error("reload broadcast failed", "err", err)
				}
				continue
			}
			logger.Info("shutting down", "signal", sig.String())
			signalFile.stop()
			return m.shutdown(hub, srv, cfg, logger, sigs)
		}
	}
}

// shutdown stops the hub (streams get a reconnect hint) and the HTTP server
// within the shutdown timeout. A second signal on sigs exits at once.
func (m *Main) shutdown(hub *sse.Hub, srv *http.Server, cfg config.Config, logger *slog.Logger, sigs <-chan os.Signal) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if sigs != nil {
		go func() {
			select {
			case sig := <-sigs:
				if sig != syscall.SIGHUP {
					logger.Warn("second signal: exiting now", "signal", sig.String())
					_ = os.Remove(m.path(cfg.PIDFile))
					os.Exit(exitError)
				}
			case <-ctx.Done():
			}
		}()
	}
	if err := hub.Shutdown(ctx); err != nil {
		logger.Warn("shutdown timed out; closing the remaining streams", "err", err)
	}
	stopHTTP(ctx, srv)
	logger.Info("stopped")
	return nil
}

// stopHTTP stops srv once the hub's streams are closed: requests in flight
// get up to a second (within ctx) to finish, then every connection is
// closed. Without the cap, a browser's unused preconnections would hold
// Shutdown for five seconds.
func stopHTTP(ctx context.Context, srv *http.Server) {
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if srv.Shutdown(short) != nil {
		_ = srv.Close()
	}
}

// openRedis connects the Redis transport named by the config.
func openRedis(ctx context.Context, cfg config.Config, logger *slog.Logger) (*redis.Transport, error) {
	if cfg.HistorySize < 1 {
		return nil, fmt.Errorf("history_size 0 cannot work with the Redis transport: every server reads events from the stream; set it to at least 100")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return redis.New(ctx, redis.Options{
		URL:    cfg.Transport,
		Prefix: cfg.RedisPrefix,
		MaxLen: int64(cfg.HistorySize),
		MaxAge: cfg.HistoryMaxAge,
		Logger: logger,
	})
}

func hubOptions(cfg config.Config, token string, logger *slog.Logger) []sse.Option {
	opts := []sse.Option{
		sse.WithBasePath(cfg.BasePath),
		sse.WithPingInterval(cfg.PingInterval),
		sse.WithMaxConnections(cfg.MaxConnections),
		sse.WithStreamTimeout(cfg.Timeout),
		sse.WithHistorySize(cfg.HistorySize),
		sse.WithQueueSize(cfg.QueueSize),
		sse.WithRetry(cfg.Retry),
		sse.WithWriteTimeout(cfg.WriteTimeout),
		sse.WithMaxBodyBytes(cfg.MaxBodyBytes),
		sse.WithLogger(logger),
	}
	if len(cfg.CORSOrigins) > 0 {
		opts = append(opts, sse.WithAllowedOrigins(cfg.CORSOrigins...))
	}
	if len(cfg.Topics) > 0 {
		opts = append(opts, sse.WithTopics(cfg.Topics...))
	}
	if token != "" {
		opts = append(opts, sse.WithPublishToken(token))
	}
	if cfg.AllowAnonymousPublish {
		opts = append(opts, sse.WithAnonymousPublish())
	}
	return opts
}

// takeOver takes the pid file for this server. A file left by a server
// that is gone is taken over; one held by a running valksor-sse is an error
// unless killExisting, which stops that server first.
func (m *Main) takeOver(ctx context.Context, f process.PIDFile, killExisting bool, logger *slog.Logger) (*process.Lock, error) {
	if res, err := f.Check(); err == nil && res.Stale != "" {
		logger.Info("taking over a stale pid file", "path", f.Path, "why", res.Stale)
	}
	lock, err := f.Acquire()
	var running *process.RunningError
	if !errors.As(err, &running) {
		return lock, err
	}
	switch {
	case !killExisting:
		return nil, fmt.Errorf("valksor-sse is already running as pid %d (pid file %s); stop it with `valksor-sse stop`, or start with --kill-existing to replace it", running.PID, f.Path)
	case running.PID == 0 || running.PID == os.Getpid():
		return nil, fmt.Errorf("--kill-existing: %w, but its pid cannot be read from the file; stop it yourself", err)
	}
	logger.Info("stopping the running valksor-sse", "pid", running.PID)
	if err := process.Terminate(ctx, running.PID, 5*time.Second); err != nil {
		return nil, fmt.Errorf("--kill-existing: %w", err)
	}
	return f.Acquire()
}

// listen binds the configured address. When the port is taken it names the
// process holding it, and with killExisting replaces it if it is a
// valksor-sse.
func (m *Main) listen(ctx context.Context, cfg config.Config, killExisting bool, logger *slog.Logger) (net.Listener, error) {
	addr := net.JoinHostPort(strings.Trim(cfg.Host, "[]"), strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err == nil || !process.IsAddrInUse(err) {
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w; check host and port in the config", addr, err)
		}
		return ln, nil
	}
	owner, oerr := process.PortOwner(cfg.Host, cfg.Port)
	if errors.Is(oerr, errors.ErrUnsupported) {
		return nil, fmt.Errorf("port %d on %s is in use (this system cannot tell by which program); stop it, or choose another port with --port", cfg.Port, cfg.Host)
	}
	if oerr != nil || owner.PID == 0 {
		return nil, fmt.Errorf("port %d on %s is in use by a process this user cannot see; choose another port with --port", cfg.Port, cfg.Host)
	}
	isOurs := process.IsValksorSSE(owner.PID)
	switch {
	case !isOurs:
		return nil, fmt.Errorf("port %d is held by %s, which is not valksor-sse; --kill-existing only replaces valksor-sse servers: stop it or choose another port with --port", cfg.Port, owner)
	case !killExisting:
		return nil, fmt.Errorf("port %d is held by %s; run with --kill-existing to replace it", cfg.Port, owner)
	}
	logger.Info("stopping the valksor-sse that holds the port", "port", cfg.Port, "pid", owner.PID)
	if err := process.Terminate(ctx, owner.PID, 5*time.Second); err != nil {
		return nil, fmt.Errorf("--kill-existing: %w", err)
	}
	// The old listener closes with its process; the kernel may need a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || !process.IsAddrInUse(err) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("listen on %s after stopping pid %d: %w", addr, owner.PID, err)
			}
			return ln, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publishToken returns the token publishers must send: from the config, or
// from the token file, which is created with a fresh random token (mode
// 0600) on first start.
func (m *Main) publishToken(cfg config.Config, logger *slog.Logger) (string, error) {
	if cfg.PublishToken != "" || cfg.AllowAnonymousPublish {
		return cfg.PublishToken, nil
	}
	path := m.path(cfg.TokenFile)
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the publish token file: %w", err)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("create the directory of the token file: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the publish token file: %w", err)
	}
	logger.Info("generated a publish token", "file", path)
	return tok, nil
}

// readToken reads the publish token a client should send.
func (m *Main) readToken(cfg config.Config) string {
	if cfg.PublishToken != "" {
		return cfg.PublishToken
	}
	b, err := os.ReadFile(m.serverFile(cfg, cfg.TokenFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func orNone(s string) string {
	if s == "" {
		return "none (defaults)"
	}
	return s
}
