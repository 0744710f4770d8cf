package main

import (
	"fmt"
	"log/slog"
	"net/http"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
)

// mountMercure serves the Mercure protocol at /.well-known/mercure on mux
// when mercure.enabled is true, on the same hub as the base path: one
// history, transport and connection limit for both. A key that cannot be
// loaded is logged, and the endpoint answers 503 with the reason, so that
// Mercure clients see the misconfiguration rather than a 404.
func (m *Main) mountMercure(cfg config.Config, hub *sse.Hub, mux *http.ServeMux, logger *slog.Logger) {
	if !cfg.MercureEnabled {
		return
	}
	h, err := m.newMercure(cfg, hub, logger)
	if err != nil {
		logger.Error("the Mercure hub is not available", "err", err)
		down := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, "the Mercure hub is misconfigured: "+err.Error(), http.StatusServiceUnavailable)
		})
		mux.Handle(mercure.Path, down)
		mux.Handle(mercure.Path+"/", down)
		return
	}
	h.Register(mux)
	logger.Info("Mercure hub enabled", "path", mercure.Path, "anonymous", cfg.MercureAnonymous, "subscriptions", cfg.MercureSubscriptions)
}

// newMercure builds the Mercure handler of the configuration.
func (m *Main) newMercure(cfg config.Config, hub *sse.Hub, logger *slog.Logger) (*mercure.Handler, error) {
	load := func(name, spec string) ([]jwt.Key, error) {
		if spec == "" {
			return nil, nil
		}
		k, err := jwt.LoadKey(m.keySpec(spec), cfg.MercureAlgorithm)
		if err != nil {
			return nil, fmt.Errorf("valksor.sse.%s: %w", name, err)
		}
		return []jwt.Key{k}, nil
	}
	pub, err := load("mercure.publisher_key", cfg.MercurePublisherKey)
	if err != nil {
		return nil, err
	}
	sub, err := load("mercure.subscriber_key", cfg.MercureSubscriberKey)
	if err != nil {
		return nil, err
	}
	return mercure.New(hub, mercure.Config{
		PublisherKeys:  pub,
		SubscriberKeys: sub, // none: the publisher key
		Anonymous:      cfg.MercureAnonymous,
		Subscriptions:  cfg.MercureSubscriptions,
		Issuer:         cfg.MercureIssuer,
		Audience:       cfg.MercureAudience,
		AllowedOrigins: cfg.CORSOrigins,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Logger:         logger,
	})
}
