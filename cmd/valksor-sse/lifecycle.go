package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/valksor/go-sse/internal/process"
	"github.com/valksor/go-sse/server"
)

// The life of a server process: announcing, waiting for a signal and
// shutting down. Taking over from a running server and listening are
// process.TakeOver and process.Listen.

// releasePIDFile releases the pid file's lock and removes the file.
func releasePIDFile(lock *process.Lock, logger *slog.Logger) {
	if err := lock.Release(); err != nil {
		logger.Warn("cannot remove the pid file", "path", lock.Path(), "err", err)
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
