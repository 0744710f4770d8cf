package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/process"
	"github.com/valksor/go-sse/server"
)

// serveFlags are the flags of serve.
type serveFlags struct {
	common        configFlags
	killExisting  bool
	debug         bool
	tlsSelfSigned bool
	watch         watchFlags
}

func (f *serveFlags) register(fs *flagSet) {
	f.common.register(fs, roleServer)
	fs.BoolVar(&f.killExisting, "kill-existing", false, "stop a valksor-sse that holds the port or the pid file, then start")
	fs.BoolVar(&f.debug, "debug", false, "log every connect, disconnect and event")
	f.watch.register(fs)
	fs.BoolVar(&f.tlsSelfSigned, "tls-self-signed", false, "serve HTTPS and HTTP/2 with a self-signed localhost certificate (written to "+selfSignedDir+"/ on first use)")
}

// serveAbout is the help text of serve, above its flags.
const serveAbout = `Runs the hub: the event stream, publishing, the browser client and, on a
developer's machine, the dashboard. --watch DIR reloads browsers when files
under DIR change. SIGINT and SIGTERM stop it gracefully (a second one at
once); SIGHUP reloads every browser.`

// serve runs the server: it takes the pid file (taking over from a running
// server when asked), listens, says where it listens and serves until a
// signal stops it. SIGHUP reloads every browser.
func (m *Main) serve(ctx context.Context, args []string) error {
	var f serveFlags
	fs := m.newFlagSet("serve", "serve [flags]", serveAbout)
	f.register(fs)
	if err := fs.parse(args, -1); err != nil {
		return err
	}
	if a := fs.arguments(); len(a) > 0 {
		if c, ok := lookup(a[0]); ok && c.usage != "" {
			return usageError{fmt.Sprintf("the command goes first: valksor-sse %s [flags] (its flags go before or after its arguments)", c.name)}
		}
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", a)}
	}
	cfg, err := m.load(f.common)
	if err != nil {
		return err
	}
	cfg.Server.Debug = cfg.Server.Debug || f.debug
	f.watch.apply(&cfg)
	logger, release := newLogger(m.Stderr, cfg)
	defer release()
	pidFile := process.PIDFile{Path: m.path(cfg.Server.PIDFile)}
	pidLock, err := process.TakeOver(ctx, pidFile, f.killExisting, logger)
	if err != nil {
		return err
	}
	defer releasePIDFile(pidLock, logger)
	sigs, stopSignals := notifySignals()
	defer stopSignals()
	defer notifyStop(sigs, logger)()
	s, closeAll, err := m.newServer(ctx, cfg, f, logger)
	if err != nil {
		return err
	}
	defer closeAll()
	if err := s.Open(); err != nil {
		_ = s.Shutdown(context.Background())
		return err
	}
	m.announce(s, cfg, logger, release)
	hup := func() {
		logger.Info("SIGHUP: reloading every browser")
		if err := s.Hub().Broadcast(ctx, sse.Reload()); err != nil {
			logger.Error("reload broadcast failed", "err", err)
		}
	}
	return lifetime{sigs: sigs, onHUP: hup, pidFile: pidFile.Path, timeout: cfg.Server.ShutdownTimeout, logger: logger}.run(ctx, s)
}

// newServer listens and builds the server of the config. The returned
// function closes what the server's options hold open.
func (m *Main) newServer(ctx context.Context, cfg config.Config, f serveFlags, logger *slog.Logger) (*server.Server, func(), error) {
	ln, err := process.Listen(ctx, cfg.Server.Host, cfg.Server.Port, f.killExisting, logger)
	if err != nil {
		return nil, nil, err
	}
	o, closeAll, err := m.serveOptions(ctx, cfg, f.tlsSelfSigned, logger)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	o.Listener = ln
	s, err := server.New(o)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return s, closeAll, nil
}

// announce says where the server listens: one line a person reads (a JSON
// log record with log_format: json), then what the logger held while the
// server started, then the details. The URLs name the domain when one is
// set.
func (m *Main) announce(s *server.Server, cfg config.Config, logger *slog.Logger, release func()) {
	host := cfg.Server.Host
	if cfg.Server.Domain != "" {
		host = cfg.Server.Domain // the name browsers reach it by
	}
	url := urlOf(s, host, cfg.Server.BasePath)
	var dash string
	if p := s.DashboardPath(); p != "" {
		dash = urlOf(s, host, p)
	}
	switch {
	case cfg.Server.LogFormat == "json":
		release()
		logger.Info("valksor-sse listening", "url", url, "dashboard", dash)
	case dash != "":
		fmt.Fprintf(m.Stderr, "valksor-sse listening on %s · dashboard %s\n", url, dash)
	default:
		fmt.Fprintf(m.Stderr, "valksor-sse listening on %s\n", url)
	}
	release()
	logger.Info("started", "addr", s.Addr().String(), "pid", os.Getpid(), "config", orNone(cfg.Source),
		"transport", s.Hub().Health(context.Background()).Transport, "history", cfg.History.Size, "max_connections", cfg.Streams.MaxConnections)
	if m.ready != nil {
		m.ready(s.Addr().String())
	}
}

func orNone(s string) string {
	if s == "" {
		return "none (defaults)"
	}
	return s
}
