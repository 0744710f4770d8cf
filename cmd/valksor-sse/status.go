package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/process"
)

// status tells whether the server of the config runs, and how: exit code
// 0 when it answers, 3 when it does not.
func (m *Main) status(ctx context.Context, args []string) error {
	var c configFlags
	fs := m.newFlagSet("status", "status [flags]", "Tells whether the server runs, and how.\nExit code 0 when the server runs and answers, 3 when it does not.")
	c.register(fs, roleClient)
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
	url := m.baseURL(cfg)
	token, _ := m.clientPublishToken(cfg)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	health, used, herr := fetchHealth(ctx, m.localTransport(cfg), url+"/healthz", token)
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
