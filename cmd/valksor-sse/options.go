package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/dashboard"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
	"github.com/valksor/go-sse/ratelimit"
	"github.com/valksor/go-sse/redis"
	"github.com/valksor/go-sse/server"
	"github.com/valksor/go-sse/tmpl"
	"github.com/valksor/go-sse/watch"
	"github.com/valksor/go-sse/web"
)

// This file maps the configuration onto server.Options: the only place
// where config keys become server settings.

// selfSignedDir is where --tls-self-signed keeps its certificate and key,
// relative to the working directory like the pid file.
const selfSignedDir = "var/run"

// serveOptions are the server options of serve: everything the config
// asks for. The returned function closes what the options hold open (the
// Redis transport); call it after the server has shut down.
func (m *Main) serveOptions(ctx context.Context, cfg config.Config, selfSigned bool, logger *slog.Logger) (server.Options, func(), error) {
	token, err := m.serverPublishToken(cfg, logger)
	if err != nil {
		return server.Options{}, nil, err
	}
	authz, err := m.authorizer(ctx, cfg, logger)
	if err != nil {
		return server.Options{}, nil, err
	}
	proxies, err := ratelimit.ParseTrustedProxies(cfg.Limits.TrustedProxies)
	if err != nil {
		return server.Options{}, nil, err
	}
	mapper, im, err := m.newMapper(cfg, true)
	if err != nil {
		return server.Options{}, nil, err
	}
	o := m.commonOptions(cfg, token, logger)
	o.JWT = authz
	o.Limits = server.Limits{
		StreamsPerSecond:     float64(cfg.Limits.StreamsPerSecond),
		StreamsPerClient:     cfg.Limits.StreamsPerIP,
		PublishesPerSecond:   float64(cfg.Limits.PublishesPerSecond),
		ConnectionsPerClient: cfg.Limits.ConnectionsPerIP,
		TrustedProxies:       proxies,
	}
	o.Metrics, o.AccessLog = cfg.Server.Metrics, true
	o.Mapper, o.ImportMap = mapper, &im
	o.Dashboard = dashboardOptions(cfg, token, logger)
	if cfg.Mercure.Enabled {
		o.Mercure = func(hub *sse.Hub) (*mercure.Handler, error) { return m.newMercure(cfg, hub, logger) }
	}
	o.TLS = m.tlsOptions(cfg, selfSigned)
	if o.TLS != nil && o.TLS.CertFile != "" && cfg.TLS.Cert == "" {
		logger.Info("serving HTTPS with the certificate of domain found where the Symfony bundle looks for it", "domain", cfg.Server.Domain, "cert", o.TLS.CertFile)
	}
	// watch.morph: false makes the pages reload instead of morphing.
	o.Reload = func(files ...string) sse.Event {
		return web.ReloadEvent(files, web.ReloadOptions{NoMorph: !cfg.Watch.Morph})
	}
	if o.Watch != nil {
		o.Watch.AssetDirs = m.assetDirs(cfg)
	}
	if !strings.HasPrefix(cfg.History.Transport, "redis") {
		return o, func() {}, nil
	}
	tr, err := openRedis(ctx, cfg, logger)
	if err != nil {
		return server.Options{}, nil, err
	}
	o.Hub = append(o.Hub, sse.WithTransport(tr))
	return o, func() { _ = tr.Close() }, nil
}

// commonOptions are the options serve and dev share: the hub's settings,
// the publish token, the watcher and the signal file.
func (m *Main) commonOptions(cfg config.Config, token string, logger *slog.Logger) server.Options {
	o := server.Options{
		IdleTimeout:    cfg.Server.IdleTimeout,
		ReadTimeout:    cfg.Server.ReadTimeout,
		Logger:         logger,
		BasePath:       cfg.Server.BasePath,
		AllowedOrigins: cfg.Server.CORSOrigins,
		Topics:         cfg.Streams.Topics,
		Hub: []sse.Option{
			sse.WithPingInterval(cfg.Streams.PingInterval),
			sse.WithMaxConnections(cfg.Streams.MaxConnections),
			sse.WithStreamTimeout(cfg.Streams.Timeout),
			sse.WithHistorySize(cfg.History.Size),
			sse.WithQueueSize(cfg.Streams.QueueSize),
			sse.WithRetry(cfg.Streams.Retry),
			sse.WithWriteTimeout(cfg.Streams.WriteTimeout),
			sse.WithMaxBodyBytes(cfg.Publish.MaxBodyBytes),
			sse.WithMaxTopics(cfg.Streams.MaxTopics),
		},
		SignalFile: m.path(cfg.Server.SignalFile),
		Watch:      m.watchOptions(cfg),
	}
	if token != "" {
		o.Hub = append(o.Hub, sse.WithPublishToken(token))
	}
	if cfg.Publish.Anonymous {
		o.Hub = append(o.Hub, sse.WithAnonymousPublish())
	}
	return o
}

// watchOptions are the watcher's options of the watch block, nil when
// nothing is watched.
func (m *Main) watchOptions(cfg config.Config) *server.Watch {
	if len(cfg.Watch.Paths) == 0 {
		return nil
	}
	w := &server.Watch{Options: watch.Options{
		Ignore:       cfg.Watch.Ignore,
		Debounce:     cfg.Watch.Debounce,
		CSSWait:      cfg.Watch.CSSWait,
		Poll:         cfg.Watch.Poll,
		PollInterval: cfg.Watch.PollInterval,
	}}
	for _, p := range cfg.Watch.Paths {
		w.Paths = append(w.Paths, m.path(p))
	}
	for _, r := range cfg.Watch.Rules {
		glob, action, _ := strings.Cut(r, "=")
		w.Rules = append(w.Rules, watch.Rule{Pattern: glob, Action: watch.Action(action)})
	}
	return w
}

// tlsOptions are the TLS options: the self-signed certificate of
// --tls-self-signed (for domain too), or the pair of certFiles; nil for
// plain HTTP.
func (m *Main) tlsOptions(cfg config.Config, selfSigned bool) *server.TLS {
	if selfSigned {
		t := &server.TLS{SelfSignedDir: m.path(selfSignedDir)}
		if d := cfg.Server.Domain; d != "" && d != "localhost" {
			t.SelfSignedHosts = []string{d}
		}
		return t
	}
	if cert, key := m.certFiles(cfg); cert != "" {
		return &server.TLS{CertFile: cert, KeyFile: key}
	}
	return nil
}

// domainCertDir is where the Symfony bundle looks for the certificate of
// its domain when none is configured: DOMAIN.crt and DOMAIN.key there.
var domainCertDir = "/etc/ssl/private"

// certFiles returns the certificate and key files of the config: tls.cert
// and tls.key, else, as the Symfony bundle does, DOMAIN.crt and DOMAIN.key
// in domainCertDir when domain is set and both files can be read; "" for
// neither.
func (m *Main) certFiles(cfg config.Config) (cert, key string) {
	if cfg.TLS.Cert != "" {
		return m.path(cfg.TLS.Cert), m.path(cfg.TLS.Key)
	}
	d := cfg.Server.Domain
	if d == "" {
		return "", ""
	}
	cert, key = filepath.Join(domainCertDir, d+".crt"), filepath.Join(domainCertDir, d+".key")
	for _, f := range []string{cert, key} {
		r, err := os.Open(f)
		if err != nil {
			return "", ""
		}
		st, err := r.Stat()
		r.Close()
		if err != nil || !st.Mode().IsRegular() {
			return "", ""
		}
	}
	return cert, key
}

// openRedis connects the Redis transport named by the config.
func openRedis(ctx context.Context, cfg config.Config, logger *slog.Logger) (*redis.Transport, error) {
	if cfg.History.Size < 1 {
		return nil, fmt.Errorf("history_size 0 cannot work with the Redis transport: every server reads events from the stream; set it to at least 100")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return redis.New(ctx, redis.Options{
		URL:    cfg.History.Transport,
		Prefix: cfg.History.RedisPrefix,
		MaxLen: int64(cfg.History.Size),
		MaxAge: cfg.History.MaxAge,
		Logger: logger,
	})
}

// authorizer builds the JWT authorizer of the auth keys, or nil when none
// is configured.
func (m *Main) authorizer(ctx context.Context, cfg config.Config, logger *slog.Logger) (*jwt.Authorizer, error) {
	if !cfg.Auth.Configured() {
		return nil, nil
	}
	jc := jwt.Config{
		JWKSURL: cfg.Auth.JWKSURL, Cookie: cfg.Auth.Cookie, AnonymousSubscribe: cfg.Auth.AnonymousSubscribe,
		RequireExp: cfg.Auth.RequireExp, MaxTTL: cfg.Auth.MaxTTL, Logger: logger,
	}
	subSpec, subName := cfg.Auth.SubscriberKey, "auth.subscriber_key"
	if subSpec == "" {
		subSpec, subName = cfg.Auth.PublisherKey, "auth.publisher_key"
	}
	var err error
	if jc.PublisherKeys, err = m.loadKey("auth.publisher_key", cfg.Auth.PublisherKey, cfg.Auth.Algorithm); err != nil {
		return nil, err
	}
	if jc.SubscriberKeys, err = m.loadKey(subName, subSpec, cfg.Auth.Algorithm); err != nil {
		return nil, err
	}
	a, err := jwt.New(jc)
	if err != nil {
		return nil, err
	}
	if err := a.Refresh(ctx); err != nil {
		logger.Warn("cannot fetch the JWKS yet; tokens signed with its keys are refused until it answers", "url", cfg.Auth.JWKSURL, "err", err)
	}
	return a, nil
}

// keySpec resolves the path of a "file:" key spec against the working
// directory.
func (m *Main) keySpec(spec string) string {
	if path, ok := strings.CutPrefix(spec, "file:"); ok {
		return "file:" + m.path(path)
	}
	return spec
}

// loadKey loads the key spec of the config key name ("file:" paths
// relative to the working directory); none for an empty spec.
func (m *Main) loadKey(name, spec, algorithm string) ([]jwt.Key, error) {
	if spec == "" {
		return nil, nil
	}
	k, err := jwt.LoadKey(m.keySpec(spec), algorithm)
	if err != nil {
		return nil, fmt.Errorf("valksor.sse.%s: %w", name, err)
	}
	return []jwt.Key{k}, nil
}

// newMercure builds the Mercure handler of the configuration on hub.
func (m *Main) newMercure(cfg config.Config, hub *sse.Hub, logger *slog.Logger) (*mercure.Handler, error) {
	pub, err := m.loadKey("mercure.publisher_key", cfg.Mercure.PublisherKey, cfg.Mercure.Algorithm)
	if err != nil {
		return nil, err
	}
	sub, err := m.loadKey("mercure.subscriber_key", cfg.Mercure.SubscriberKey, cfg.Mercure.Algorithm)
	if err != nil {
		return nil, err
	}
	return mercure.New(hub, mercure.Config{
		PublisherKeys:  pub,
		SubscriberKeys: sub, // none: the publisher key
		Anonymous:      cfg.Mercure.Anonymous,
		Subscriptions:  cfg.Mercure.Subscriptions,
		Issuer:         cfg.Mercure.Issuer,
		Audience:       cfg.Mercure.Audience,
		AllowedOrigins: cfg.Server.CORSOrigins,
		MaxBodyBytes:   cfg.Publish.MaxBodyBytes,
		RequireExp:     cfg.Auth.RequireExp, // one lifetime policy for every token
		MaxTTL:         cfg.Auth.MaxTTL,
		Logger:         logger,
	})
}

// dashboardOptions are the dashboard's options, nil when it is off.
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
func dashboardOptions(cfg config.Config, token string, logger *slog.Logger) *dashboard.Options {
	enabled := cfg.Dashboard.Enabled
	if cfg.Dashboard.Auto {
		enabled = loopbackHost(cfg.Server.Host)
	}
	if !enabled {
		if cfg.Dashboard.Auto {
			logger.Info("dashboard off: the server listens beyond this machine; set dashboard.enabled: true to serve it", "host", cfg.Server.Host)
		}
		return nil
	}
	return &dashboard.Options{
		Path:          cfg.Dashboard.Path,
		TokenRequired: token != "" && !cfg.Publish.Anonymous,
		// With JWT keys, only streams granted the dashboard's topic see
		// its events, and the public page embeds none of its data.
		Private: cfg.Auth.Configured(),
	}
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

// clientPath is the logical path of the JS client in the asset mapper.
const clientPath = "valksorsse/sse.js"

// assetDirs are the asset directories of the config, resolved.
func (m *Main) assetDirs(cfg config.Config) []server.AssetDir {
	var dirs []server.AssetDir
	for _, a := range cfg.Assets.Dirs {
		ns, dir, ok := strings.Cut(a, "=")
		if !ok {
			ns, dir = "", a
		}
		dirs = append(dirs, server.AssetDir{Namespace: ns, Dir: m.path(dir)})
	}
	return dirs
}

// newMapper builds the asset mapper from the config, the embedded client
// under valksorsse/ then the configured directories, and the import map.
func (m *Main) newMapper(cfg config.Config, autoReload bool) (*assets.Mapper, assets.ImportMap, error) {
	sources := []assets.Source{{Namespace: "valksorsse", FS: web.ClientFS}}
	for _, a := range cfg.Assets.Dirs {
		ns, dir, ok := strings.Cut(a, "=")
		if !ok {
			ns, dir = "", a
		}
		path := m.path(dir)
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			return nil, assets.ImportMap{}, fmt.Errorf("assets: %s is not a directory; create it or fix the assets list in the config", dir)
		}
		sources = append(sources, assets.Source{Namespace: ns, FS: os.DirFS(path)})
	}
	mapper, err := assets.NewWithOptions(assets.Options{AutoReload: autoReload}, sources...)
	if err != nil {
		return nil, assets.ImportMap{}, err
	}
	im := assets.ImportMap{Entries: []assets.ImportEntry{{Name: tmpl.ClientEntry, Path: clientPath, Preload: true}}}
	for _, e := range cfg.Assets.ImportMap {
		name, path, _ := strings.Cut(e, "=")
		im.Entries = append(im.Entries, assets.ImportEntry{Name: strings.TrimSpace(name), Path: strings.TrimSpace(path), Preload: slices.Contains(cfg.Assets.Preload, name)})
	}
	return mapper, im, nil
}
