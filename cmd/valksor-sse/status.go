package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/internal/process"
)

func (m *Main) status(ctx context.Context, args []string) error {
	fs := m.newFlagSet("status", "status [flags]\n\nExit code 0 when the server runs and answers, 3 when it does not.")
	var c commonFlags
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := m.load(c)
	if err != nil {
		return err
	}
	pidFile := process.PIDFile{Path: m.serverFile(cfg, cfg.PIDFile)}
	res, err := pidFile.Check()
	if err != nil {
		return fmt.Errorf("pid file %s: %w", pidFile.Path, err)
	}
	url := baseURL(cfg)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	health, used, herr := fetchHealth(ctx, m.localTransport(cfg), url+"/healthz", m.readToken(cfg))
	switch {
	case herr == nil:
		pid := "pid unknown (no pid file here)"
		if res.Running && res.PID > 0 {
			pid = fmt.Sprintf("pid %d", res.PID)
		}
		if health.Transport == "" { // the server shows its details only to the publish token
			fmt.Fprintf(m.Stdout, "valksor-sse is running: %s, %s, %s (set publish_token to see its connections and transport)\n", pid, used, health.Status)
			return nil
		}
		fmt.Fprintf(m.Stdout, "valksor-sse is running: %s, %s, %s, %d connection(s) (max %s), %d event(s) published, up %s, transport %s\n",
			pid, used, health.Status, health.Connections, limit(health.MaxConnections), health.Published,
			(time.Duration(health.UptimeSeconds) * time.Second).String(), health.Transport)
		return nil
	case res.Running:
		return exitCode{exitNotRunning, fmt.Sprintf("valksor-sse pid %d is alive but does not answer at %s: %v", res.PID, url, herr)}
	}
	return exitCode{exitNotRunning, fmt.Sprintf("valksor-sse is not running (nothing answers at %s, no live pid in %s)", url, pidFile.Path)}
}

func limit(n int) string {
	if n == 0 {
		return "none"
	}
	return fmt.Sprint(n)
}

// fetchHealth reads the health report at url through rt; base is the
// server's URL as it answered (its scheme may differ from url's). With the
// publish token the report has every detail, else only the status.
func fetchHealth(ctx context.Context, rt http.RoundTripper, url, token string) (h sse.Health, base string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return h, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return h, "", err
	}
	defer resp.Body.Close()
	base = strings.TrimSuffix(resp.Request.URL.String(), "/healthz")
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, base, fmt.Errorf("%s answered %d without a valksor-sse health report", url, resp.StatusCode)
	}
	return h, base, nil
}

func (m *Main) stop(ctx context.Context, args []string) error {
	fs := m.newFlagSet("stop", "stop [flags]\n\n"+
		"Stops the valksor-sse named in the pid file (SIGTERM, then SIGKILL after the grace period).\n"+
		"Without a live pid file it stops the valksor-sse listening on the configured port.\n"+
		"Exit code 0 when it stopped the server or nothing runs, 1 when the port is held by\n"+
		"something it cannot stop.")
	var c commonFlags
	c.register(fs)
	grace := fs.Duration("grace", 0, "how long to wait for a graceful exit before SIGKILL (default: shutdown_timeout + 2s)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("stop takes no arguments, got %q", fs.Args())}
	}
	cfg, err := m.load(c)
	if err != nil {
		return err
	}
	pidFile := process.PIDFile{Path: m.serverFile(cfg, cfg.PIDFile)}
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
		pid, found = owner.PID, fmt.Sprintf(", found listening on port %d", cfg.Port)
	}
	if *grace <= 0 {
		*grace = cfg.ShutdownTimeout + 2*time.Second
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
	if cfg.Port == 0 || !answers(cfg) {
		fmt.Fprintf(m.Stdout, "valksor-sse is not running (no live pid in %s, nothing listens on port %d)\n", pidPath, cfg.Port)
		return nil
	}
	owner, err := process.PortOwner(cfg.Host, cfg.Port)
	if errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("no live pid in %s, but something answers on port %d; on this system stop finds a server only through its pid file: run stop in the server's directory, or give it the server's --config", pidPath, cfg.Port)
	}
	if owner.PID != 0 {
		return fmt.Errorf("no live pid in %s, and port %d is held by %s, which is not valksor-sse, so stop leaves it alone; stop it yourself, or check --config and --port", pidPath, cfg.Port, owner)
	}
	return fmt.Errorf("no live pid in %s, but something answers on port %d and its process is not visible to this user (another user's, or another container's); stop it as its owner (sudo valksor-sse stop, or systemctl stop valksor-sse), or check --config and --port", pidPath, cfg.Port)
}

// answers reports whether something accepts TCP connections on the
// configured port.
func answers(cfg config.Config) bool {
	addr := net.JoinHostPort(clientHost(strings.Trim(cfg.Host, "[]")), strconv.Itoa(cfg.Port))
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// runningServer returns the valksor-sse process listening on the
// configured port, if this user can see one.
func runningServer(cfg config.Config) (process.Owner, bool) {
	if cfg.Port == 0 {
		return process.Owner{}, false
	}
	o, err := process.PortOwner(cfg.Host, cfg.Port)
	if err != nil || o.PID == 0 || o.PID == os.Getpid() || !process.IsValksorSSE(o.PID) {
		return process.Owner{}, false
	}
	return o, true
}

// serverFile resolves a file of the running server, such as the pid file or
// the token file: p against the working directory, as the server does; when
// p is relative and no such file exists here, the same path in the working
// directory of the valksor-sse listening on the configured port, if that
// file exists. So publish, status and stop find the server's files when
// they run elsewhere with --config.
func (m *Main) serverFile(cfg config.Config, p string) string {
	here := m.path(p)
	if p == "" || filepath.IsAbs(p) {
		return here
	}
	if _, err := os.Stat(here); !errors.Is(err, fs.ErrNotExist) {
		return here
	}
	owner, ok := runningServer(cfg)
	if !ok {
		return here
	}
	dir, err := process.Cwd(owner.PID)
	if err != nil {
		return here
	}
	there := filepath.Join(dir, p)
	if _, err := os.Stat(there); err != nil {
		return here
	}
	return there
}
