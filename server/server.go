// Package server assembles a complete valksor-sse server from the
// project's parts: the hub and its HTTP surface (stream, publish, health,
// readiness, the browser client, assets and import map, Mercure, the
// dashboard, metrics), the middleware around it (access log, rate limits,
// the origin check of cookie-authenticated publishes), TLS with HTTP/2,
// the file watcher, the reload signal file and a graceful shutdown.
//
// The valksor-sse command maps its configuration onto Options; a Go
// program that wants the same server in its own process does the same:
//
//	s, err := server.New(server.Options{Addr: "localhost:8080", Metrics: true})
//	if err != nil { ... }
//	if err := s.Open(); err != nil { ... }
//	defer s.Shutdown(context.Background())
//	s.Hub().Broadcast(ctx, sse.Reload())
//
// Open listens (Options.Addr, or a Listener of the caller's) and starts
// serving; Addr says where, which matters with port 0. Done is closed when
// the server stops, on Shutdown or on an error while serving, which Err
// then returns. Shutdown stops the watchers, then the hub (its streams are
// told to reconnect), then the HTTP server. What applies to every
// connection (timeouts, TLS, the per-address connection budget) is set in
// one place, the http.Server this package builds; Options.Fallback serves
// what the hub's routes do not (the valksor-sse dev command puts its proxy
// there).
//
// A program that has its own HTTP server mounts a package sse Hub on its
// mux instead (see examples/app, and docs/go-library.md in the
// repository).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/dashboard"
	"github.com/valksor/go-sse/metrics"
	"github.com/valksor/go-sse/ratelimit"
)

// DefaultAddr is where a Server listens when Options has neither Addr nor
// Listener.
const DefaultAddr = "localhost:8080"

// Server is an assembled valksor-sse server. Create it with New, start it
// with Open and stop it with Shutdown. Its methods are safe for concurrent
// use.
type Server struct {
	opts    Options
	log     *slog.Logger
	hub     *sse.Hub
	srv     *http.Server
	cert    *certReloader // nil without TLS
	limiter *ratelimit.Limiter
	metrics *metrics.Metrics     // nil without Options.Metrics
	dash    *dashboard.Dashboard // nil without Options.Dashboard
	streams streamLog

	ctx    context.Context // ends with Shutdown; owns the watchers
	cancel context.CancelFunc

	mu       sync.Mutex
	ln       net.Listener
	opened   bool
	watcher  *watcher
	signals  *signalFileWatcher
	done     chan struct{} // closed when serving stops
	serveErr error

	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds the server of o: the hub, its routes and middleware, and the
// TLS certificate (created when self-signed). It starts nothing: Open
// does. Errors name the option at fault.
func New(o Options) (s *Server, err error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BasePath == "" {
		o.BasePath = sse.DefaultBasePath
	}
	if o.Reload == nil {
		o.Reload = sse.Reload
	}
	defer func() {
		if err != nil && o.Listener != nil {
			_ = o.Listener.Close()
		}
	}()
	s = &Server{opts: o, log: o.Logger, ln: o.Listener, done: make(chan struct{})}
	s.streams.init()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.limiter, err = s.newLimiter(); err != nil {
		return nil, err
	}
	if s.cert, err = newCert(o.TLS, o.Logger); err != nil {
		return nil, err
	}
	if s.hub, err = sse.New(s.hubOptions()...); err != nil {
		return nil, err
	}
	handler, err := s.routes()
	if err != nil {
		_ = s.hub.Shutdown(context.Background())
		return nil, err
	}
	s.srv = s.newHTTPServer(handler)
	return s, nil
}

// hubOptions are the hub's options: the caller's, then what the server's
// own parts need.
func (s *Server) hubOptions() []sse.Option {
	o := s.opts
	opts := append([]sse.Option{
		sse.WithBasePath(o.BasePath),
		sse.WithLogger(o.Logger),
	}, o.Hub...)
	if len(o.AllowedOrigins) > 0 {
		opts = append(opts, sse.WithAllowedOrigins(o.AllowedOrigins...))
	}
	if len(o.Topics) > 0 {
		opts = append(opts, sse.WithTopics(o.Topics...))
	}
	opts = append(opts, sse.WithOnConnect(s.connected), sse.WithOnDisconnect(s.disconnected))
	if o.JWT != nil {
		opts = append(opts, sse.WithAuthorizer(o.JWT))
	}
	if o.Dashboard != nil {
		dopts := *o.Dashboard
		if dopts.Logger == nil {
			dopts.Logger = o.Logger
		}
		s.dash = dashboard.New(dopts)
		opts = append(opts, sse.WithOnDeliver(s.dash.Observe))
		if len(o.Topics) > 0 {
			opts = append(opts, sse.WithTopics(dashboard.Topic))
		}
	}
	return opts
}

// Hub returns the server's hub, for broadcasting from Go.
func (s *Server) Hub() *sse.Hub { return s.hub }

// Handler returns the server's HTTP handler: its routes behind its
// middleware.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Scheme is "https" when the server serves TLS, else "http".
func (s *Server) Scheme() string {
	if s.cert != nil {
		return "https"
	}
	return "http"
}

// Addr returns the address the server listens on, nil before Open unless
// Options.Listener was given.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// DashboardPath returns the dashboard's URL path, "" without a dashboard.
func (s *Server) DashboardPath() string {
	if s.dash == nil {
		return ""
	}
	return s.dash.Path()
}

// Open starts the server: it listens (unless Options.Listener was given),
// serves, and starts the dashboard, the file watcher and the signal file
// watcher. A watched path that does not exist is logged, not an error.
func (s *Server) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened {
		return errors.New("server: Open called twice")
	}
	if s.ctx.Err() != nil {
		return errors.New("server: Open after Shutdown")
	}
	if s.ln == nil {
		addr := s.opts.Addr
		if addr == "" {
			addr = DefaultAddr
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		s.ln = ln
	}
	s.ln = s.listener(s.ln)
	if err := s.startParts(); err != nil {
		_ = s.ln.Close()
		return err
	}
	s.opened = true
	go s.serve(s.ln)
	return nil
}

// startParts starts the dashboard and the watchers.
func (s *Server) startParts() error {
	if s.dash != nil {
		if err := s.dash.Start(s.ctx); err != nil {
			s.log.Error("dashboard not started", "err", err)
		}
	}
	w, err := s.startWatcher()
	if err != nil {
		return err
	}
	s.watcher = w
	if s.opts.SignalFile != "" {
		s.signals = s.watchSignalFile(s.opts.SignalFile)
	}
	return nil
}

// Done is closed when the server stops serving: after Shutdown, or when
// serving failed (see Err).
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns why serving stopped on its own, nil while it serves and
// after a Shutdown.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serveErr
}

// Shutdown stops the server within ctx: the watchers first, then the hub
// (open streams get a reconnection hint and end), then the HTTP server,
// whose requests in flight get up to a second to finish before every
// connection is closed. It returns ctx's error when the hub's streams did
// not end in time (they are closed all the same). Shutdown may be called
// more than once, and before Open; later calls return the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	opened, ln := s.opened, s.ln
	s.mu.Unlock()
	s.cancel()
	if s.signals != nil {
		s.signals.stop()
	}
	s.watcher.stop()
	err := s.hub.Shutdown(ctx)
	if err != nil {
		s.log.Warn("shutdown timed out; closing the remaining streams", "err", err)
	}
	if opened {
		stopHTTP(ctx, s.srv)
		<-s.done
	} else {
		if ln != nil {
			_ = ln.Close()
		}
		close(s.done)
	}
	if s.dash != nil {
		_ = s.dash.Close()
	}
	return err
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
