package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/dashboard"
)

// serverDashboard is the dashboard of serve; a nil one (dashboard.enabled
// false) does nothing.
type serverDashboard struct {
	d *dashboard.Dashboard
}

// withDashboard creates the dashboard when dashboard.enabled is true and
// returns opts with what the hub needs for it: the delivery hook, and the
// dashboard's topic when a topic allowlist is configured.
//
// The page is public, like the stream: it shows what any subscriber could
// see (the data of private events is left out) and the clients. Publishing
// from its form needs the publish token (or a publisher JWT) unless
// anonymous publishing is allowed; the user pastes it, and the page keeps it
// in the tab's sessionStorage. Unless dashboard.enabled says otherwise, the
// dashboard is on when the server listens on a loopback host (a developer's
// machine) and off otherwise (a production config); with JWT keys
// configured its events are private (a subscriber JWT must grant the
// dashboard's topic).
func withDashboard(cfg config.Config, token string, opts []sse.Option, logger *slog.Logger) ([]sse.Option, *serverDashboard) {
	enabled := cfg.DashboardEnabled
	if cfg.DashboardAuto {
		enabled = loopbackHost(cfg.Host)
	}
	if !enabled {
		if cfg.DashboardAuto {
			logger.Info("dashboard off: the server listens beyond this machine; set dashboard.enabled: true to serve it", "host", cfg.Host)
		}
		return opts, nil
	}
	d := dashboard.New(dashboard.Options{
		Path:          cfg.DashboardPath,
		TokenRequired: token != "" && !cfg.AllowAnonymousPublish,
		// With JWT keys, only streams granted the dashboard's topic see
		// its events, and the public page embeds none of its data.
		Private: cfg.AuthPublisherKey != "" || cfg.AuthSubscriberKey != "" || cfg.AuthJWKSURL != "",
		Logger:  logger,
	})
	opts = append(opts, sse.WithOnDeliver(d.Observe))
	if len(cfg.Topics) > 0 {
		opts = append(opts, sse.WithTopics(dashboard.Topic))
	}
	return opts, &serverDashboard{d: d}
}

// mount attaches the dashboard to hub, serves it on mux and starts it. It
// returns the function that stops it.
func (s *serverDashboard) mount(ctx context.Context, mux *http.ServeMux, hub *sse.Hub, logger *slog.Logger) (stop func()) {
	if s == nil {
		return func() {}
	}
	s.d.Attach(hub)
	s.d.Register(mux)
	if err := s.d.Start(ctx); err != nil {
		logger.Error("dashboard not started", "err", err)
		return func() {}
	}
	logger.Info("dashboard enabled", "path", s.d.Path())
	return func() { _ = s.d.Close() }
}

// loopbackHost reports whether host names this machine only: localhost or
// a loopback address.
func loopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
