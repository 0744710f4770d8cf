package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/process"
)

// stopAbout is the help text of stop.
const stopAbout = `Stops the valksor-sse named in the pid file (SIGTERM, then SIGKILL after the grace period).
Without a live pid file it stops the valksor-sse listening on the configured port.
Exit code 0 when it stopped the server or nothing runs, 1 when the port is held by
something it cannot stop.`

// stop stops the server of the config.
func (m *Main) stop(ctx context.Context, args []string) error {
	var c configFlags
	fs := m.newFlagSet("stop", "stop [flags]", stopAbout)
	c.register(fs, roleClient)
	grace := fs.Duration("grace", 0, "how long to wait for a graceful exit before SIGKILL (default: shutdown_timeout + 2s)")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	cfg, err := m.load(c)
	if err != nil {
		return err
	}
	pidFile := process.PIDFile{Path: m.serverFile(cfg, cfg.Server.PIDFile)}
	res, err := pidFile.Check()
	if err != nil {
		return fmt.Errorf("pid file %s: %w", pidFile.Path, err)
	}
	pid, found := res.PID, ""
	if !res.Running || res.PID == 0 {
		owner, ok := runningServer(cfg)
		if !ok {
			return m.notRunning(cfg, pidFile.Path)
		}
		pid, found = owner.PID, fmt.Sprintf(", found listening on port %d", cfg.Server.Port)
	}
	if *grace <= 0 {
		*grace = cfg.Server.ShutdownTimeout + 2*time.Second
	}
	if err := process.Terminate(ctx, pid, *grace); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "stopped valksor-sse (pid %d%s)\n", pid, found)
	return nil
}

// notRunning ends stop when neither the pid file nor the port names a
// valksor-sse: fine when the port is free, an error when something we may
// not stop still answers there.
func (m *Main) notRunning(cfg config.Config, pidPath string) error {
	if cfg.Server.Port == 0 || !answers(cfg) {
		fmt.Fprintf(m.Stdout, "valksor-sse is not running (no live pid in %s, nothing listens on port %d)\n", pidPath, cfg.Server.Port)
		return nil
	}
	owner, err := process.PortOwner(cfg.Server.Host, cfg.Server.Port)
	if errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("no live pid in %s, but something answers on port %d; on this system stop finds a server only through its pid file: run stop in the server's directory, or give it the server's --config", pidPath, cfg.Server.Port)
	}
	if owner.PID != 0 {
		return fmt.Errorf("no live pid in %s, and port %d is held by %s, which is not valksor-sse, so stop leaves it alone; stop it yourself, or check --config and --port", pidPath, cfg.Server.Port, owner)
	}
	return fmt.Errorf("no live pid in %s, but something answers on port %d and its process is not visible to this user (another user's, or another container's); stop it as its owner (sudo valksor-sse stop, or systemctl stop valksor-sse), or check --config and --port", pidPath, cfg.Server.Port)
}

// answers reports whether something accepts TCP connections on the
// configured port.
func answers(cfg config.Config) bool {
	addr := net.JoinHostPort(clientHost(strings.Trim(cfg.Server.Host, "[]")), strconv.Itoa(cfg.Server.Port))
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
