package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// takeOverGrace is how long a replaced server has to stop gracefully.
const takeOverGrace = 5 * time.Second

// TakeOver takes the pid file f for this process. A file left by a server
// that is gone is taken over; one held by a running valksor-sse is an error
// unless killExisting, which stops that server first (SIGTERM, then SIGKILL
// after five seconds). The returned lock is held until it is released or
// the process ends.
func TakeOver(ctx context.Context, f PIDFile, killExisting bool, logger *slog.Logger) (*Lock, error) {
	if res, err := f.Check(); err == nil && res.Stale != "" {
		logger.Info("taking over a stale pid file", "path", f.Path, "why", res.Stale)
	}
	lock, err := f.Acquire()
	var running *RunningError
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
	if err := Terminate(ctx, running.PID, takeOverGrace); err != nil {
		return nil, fmt.Errorf("--kill-existing: %w", err)
	}
	return f.Acquire()
}

// Listen listens on host:port. When the port is taken the error names the
// process holding it (where the system can tell), and with killExisting a
// valksor-sse holding it is stopped and replaced; anything else is never
// stopped.
func Listen(ctx context.Context, host string, port int, killExisting bool, logger *slog.Logger) (net.Listener, error) {
	addr := net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err == nil || !IsAddrInUse(err) {
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w; check host and port in the config", addr, err)
		}
		return ln, nil
	}
	owner, oerr := PortOwner(host, port)
	if errors.Is(oerr, errors.ErrUnsupported) {
		return nil, fmt.Errorf("port %d on %s is in use (this system cannot tell by which program); stop it, or choose another port with --port", port, host)
	}
	if oerr != nil || owner.PID == 0 {
		return nil, fmt.Errorf("port %d on %s is in use by a process this user cannot see; choose another port with --port", port, host)
	}
	switch {
	case !IsValksorSSE(owner.PID):
		return nil, fmt.Errorf("port %d is held by %s, which is not valksor-sse; --kill-existing only replaces valksor-sse servers: stop it or choose another port with --port", port, owner)
	case !killExisting:
		return nil, fmt.Errorf("port %d is held by %s; run with --kill-existing to replace it", port, owner)
	}
	logger.Info("stopping the valksor-sse that holds the port", "port", port, "pid", owner.PID)
	if err := Terminate(ctx, owner.PID, takeOverGrace); err != nil {
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
		if err == nil || !IsAddrInUse(err) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("listen on %s after stopping pid %d: %w", addr, pid, err)
			}
			return ln, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
