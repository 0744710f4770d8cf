package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/process"
	"github.com/valksor/go-sse/server"
)

// The life of a server process: taking over from a running one, listening,
// announcing, waiting for a signal and shutting down.

// takeOver takes the pid file for this server. A file left by a server
// that is gone is taken over; one held by a running valksor-sse is an error
// unless killExisting, which stops that server first. The returned lock is
// held until it is released (see releasePIDFile) or the process ends.
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

// releasePIDFile releases the pid file's lock and removes the file.
func releasePIDFile(lock *process.Lock, logger *slog.Logger) {
	if err := lock.Release(); err != nil {
		logger.Warn("cannot remove the pid file", "path", lock.Path(), "err", err)
	}
}

// listen binds the configured address. When the port is taken it names the
// process holding it, and with killExisting replaces it if it is a
// valksor-sse.
func (m *Main) listen(ctx context.Context, cfg config.Config, killExisting bool, logger *slog.Logger) (net.Listener, error) {
	addr := net.JoinHostPort(strings.Trim(cfg.Server.Host, "[]"), strconv.Itoa(cfg.Server.Port))
	ln, err := net.Listen("tcp", addr)
	if err == nil || !process.IsAddrInUse(err) {
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w; check host and port in the config", addr, err)
		}
		return ln, nil
	}
	owner, oerr := process.PortOwner(cfg.Server.Host, cfg.Server.Port)
	if errors.Is(oerr, errors.ErrUnsupported) {
		return nil, fmt.Errorf("port %d on %s is in use (this system cannot tell by which program); stop it, or choose another port with --port", cfg.Server.Port, cfg.Server.Host)
	}
	if oerr != nil || owner.PID == 0 {
		return nil, fmt.Errorf("port %d on %s is in use by a process this user cannot see; choose another port with --port", cfg.Server.Port, cfg.Server.Host)
	}
	switch {
	case !process.IsValksorSSE(owner.PID):
		return nil, fmt.Errorf("port %d is held by %s, which is not valksor-sse; --kill-existing only replaces valksor-sse servers: stop it or choose another port with --port", cfg.Server.Port, owner)
	case !killExisting:
		return nil, fmt.Errorf("port %d is held by %s; run with --kill-existing to replace it", cfg.Server.Port, owner)
	}
	logger.Info("stopping the valksor-sse that holds the port", "port", cfg.Server.Port, "pid", owner.PID)
	if err := process.Terminate(ctx, owner.PID, 5*time.Second); err != nil {
		return nil, fmt.Errorf("--kill-existing: %w", err)
	}
	return relisten(addr, owner.PID)
}

// relisten listens on addr once the process that held it has stopped: its
// listener closes with it, and the kernel may need a moment.
func relisten(addr string, pid int) (net.Listener, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !process.IsAddrInUse(err) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("listen on %s after stopping pid %d: %w", addr, pid, err)
			}
			return ln, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// urlOf is the URL of path on s as a person on this machine types it:
// the configured host (localhost for the wildcard addresses) and the port
// the server listens on.
func urlOf(s *server.Server, host, path string) string {
	_, port, _ := net.SplitHostPort(s.Addr().String())
	return s.Scheme() + "://" + net.JoinHostPort(clientHost(strings.Trim(host, "[]")), port) + path
}

// notifySignals returns the channel of the signals that stop a server
// (and SIGHUP), registered before the server listens so that a signal sent
// once it answers is handled.
func notifySignals() (chan os.Signal, func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	return sigs, func() { signal.Stop(sigs) }
}

// notifyStop delivers the stop requests of `valksor-sse stop` on sigs as
// SIGTERM until the returned function is called (see process.NotifyStop:
// on Windows, where no signal can be sent to another process, stop asks
// through a named event).
func notifyStop(sigs chan<- os.Signal, logger *slog.Logger) func() {
	stop, err := process.NotifyStop(sigs)
	if err != nil {
		logger.Warn("`valksor-sse stop` will end this server without a graceful shutdown", "err", err)
	}
	return stop
}

// lifetime says how a server process ends.
type lifetime struct {
	sigs <-chan os.Signal
	// onHUP handles SIGHUP; nil means SIGHUP stops the server too.
	onHUP func()
	// pidFile, when set, lets a second signal during the shutdown exit at
	// once, removing it.
	pidFile string
	timeout time.Duration
	logger  *slog.Logger
}

// run waits until ctx ends, the server fails or a signal stops it, then
// shuts the server down within the shutdown timeout.
func (l lifetime) run(ctx context.Context, s *server.Server) error {
	for {
		select {
		case <-s.Done():
			_ = s.Shutdown(context.Background())
			return fmt.Errorf("server stopped: %w", s.Err())
		case <-ctx.Done():
			return l.shutdown(s, false)
		case sig := <-l.sigs:
			if sig == syscall.SIGHUP && l.onHUP != nil {
				l.onHUP()
				continue
			}
			l.logger.Info("shutting down", "signal", sig.String())
			return l.shutdown(s, true)
		}
	}
}

// shutdown stops s within the timeout. When signalled, a second signal
// (SIGINT or SIGTERM) exits at once, however the shutdown is going,
// removing the pid file when one is set.
func (l lifetime) shutdown(s *server.Server, signalled bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	finished := make(chan struct{})
	defer close(finished)
	if signalled {
		go func() {
			for {
				select {
				case sig := <-l.sigs:
					if sig == syscall.SIGHUP {
						continue
					}
					l.logger.Warn("second signal: exiting now", "signal", sig.String())
					if l.pidFile != "" {
						_ = os.Remove(l.pidFile)
					}
					os.Exit(exitError)
				case <-finished:
					return
				}
			}
		}()
	}
	_ = s.Shutdown(ctx)
	l.logger.Info("stopped")
	return nil
}
