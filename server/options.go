package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/dashboard"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
	"github.com/valksor/go-sse/watch"
)

// Options configure a Server. The zero value serves a hub with the
// package sse defaults on Addr (or localhost:8080), with the demo page at
// "/", readiness at base/readyz and nothing else.
type Options struct {
	// Addr is the host:port to listen on when Listener is nil (default
	// "localhost:8080"; port 0 picks a free port).
	Addr string
	// Listener, when set, is the listener the server accepts connections
	// on instead of listening on Addr. New takes ownership of it: it is
	// closed when New fails and by Shutdown.
	Listener net.Listener
	// IdleTimeout closes keep-alive connections idle this long between
	// requests (default DefaultIdleTimeout). Open streams are not idle.
	IdleTimeout time.Duration
	// ReadTimeout bounds reading a request's headers and body (default
	// DefaultReadTimeout); an open stream outlives it.
	ReadTimeout time.Duration
	// Logger receives the server's logs and, when AccessLog is set, one
	// line per request (for a stream, when it ends); nil means
	// slog.Default().
	Logger *slog.Logger

	// BasePath is the hub's URL prefix (default "/sse").
	BasePath string
	// AllowedOrigins are the browser origins allowed across origins, as
	// sse.WithAllowedOrigins takes them. They also decide which pages may
	// publish with the JWT cookie (see JWT).
	AllowedOrigins []string
	// Topics is the hub's topic allowlist (sse.WithTopics); empty allows
	// any topic. The dashboard's topic is added when a dashboard is
	// served.
	Topics []string
	// Hub holds the hub's other settings (ping interval, limits, history,
	// transport, publish token...). The server sets the base path, origins,
	// topics, logger, authorizer and the connect, disconnect and delivery
	// hooks itself: Hub must not set the hooks.
	Hub []sse.Option

	// JWT, when set, authorizes publishes and subscriptions with JWTs. A
	// publish authenticated by its cookie is refused (403) unless its page
	// is on the server's own origin or in AllowedOrigins ("*" does not
	// count), and publish rate limits count by its tokens.
	JWT *jwt.Authorizer
	// Limits are the per-client rate limits; the zero value sets none.
	Limits Limits
	// Metrics serves Prometheus metrics at /metrics.
	Metrics bool
	// AccessLog writes one log line per request.
	AccessLog bool

	// Mercure, when set, builds the Mercure handler served at
	// /.well-known/mercure on the server's hub. When it fails, the error
	// is logged and the endpoint answers 503 with it, so Mercure clients
	// see the misconfiguration rather than a 404.
	Mercure func(hub *sse.Hub) (*mercure.Handler, error)
	// Dashboard, when set, serves the live dashboard with these options.
	Dashboard *dashboard.Options
	// Mapper, when set, serves the digested assets under its prefix.
	Mapper *assets.Mapper
	// ImportMap, when set with Mapper, is served next to the assets as
	// importmap.json and importmap.html, for pages the server does not
	// render.
	ImportMap *assets.ImportMap
	// Fallback serves every request no other route takes (the dev
	// command's proxy); nil serves the demo page at "/".
	Fallback http.Handler

	// TLS, when set, serves HTTPS with HTTP/2.
	TLS *TLS

	// Watch, when set, watches files and tells browsers what changed:
	// css-update for stylesheets, reload otherwise.
	Watch *Watch
	// SignalFile, when set, is the reload signal file of PHP setups: each
	// time it appears it is removed and browsers reload.
	SignalFile string
	// Reload makes the reload event of the watcher and the signal file;
	// nil means sse.Reload.
	Reload func(files ...string) sse.Event
}

// Limits are the rate limits of a Server; a zero limit is off. See package
// ratelimit.
type Limits struct {
	// StreamsPerSecond is the rate of new streams per client.
	StreamsPerSecond float64
	// StreamsPerClient caps the streams one client holds open.
	StreamsPerClient int
	// PublishesPerSecond is the rate of publishes per credential (or
	// client without one).
	PublishesPerSecond float64
	// ConnectionsPerClient caps the connections of any kind (streams,
	// requests, idle keep-alives) one client address holds, counted when
	// they are accepted: more are closed at once. Trusted proxies are
	// exempt. See ratelimit.Listener.
	ConnectionsPerClient int
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
}

// Defaults of the timeouts in Options.
const (
	DefaultIdleTimeout = 60 * time.Second
	DefaultReadTimeout = 10 * time.Second
)

// TLS configures HTTPS. Over TLS, HTTP/2 is offered first (ALPN h2, then
// http/1.1); streams are the same on both.
type TLS struct {
	// CertFile and KeyFile are the PEM certificate chain and private key.
	// The certificate file is looked at again at most once a second, so a
	// renewed pair is served without a restart.
	CertFile, KeyFile string
	// SelfSignedDir, when set instead, holds a self-signed certificate for
	// localhost (SelfSignedCert, SelfSignedKey), created on first use.
	SelfSignedDir string
	// SelfSignedHosts are further host names or IP addresses the
	// self-signed certificate is issued for; one that the certificate in
	// SelfSignedDir does not cover makes a new one.
	SelfSignedHosts []string
}

// Watch configures the file watcher of a Server.
type Watch struct {
	// Options are the watcher's options. Paths that do not exist are
	// logged and skipped; the files the process's own output goes to are
	// excluded; Logger defaults to the server's.
	watch.Options
	// AssetDirs are the directories of Mapper's sources: a changed
	// stylesheet under one of them goes out with its new digested URL.
	AssetDirs []AssetDir
	// Restart, when set, handles the batches whose action is
	// watch.Restart (the dev command restarts the app); without it they
	// reload browsers.
	Restart func(ctx context.Context, files []string)
}

// AssetDir is a directory of assets and the namespace its files have in
// the asset mapper ("" for the root).
type AssetDir struct {
	// Namespace is the directory's prefix in the logical paths, "" for
	// the root.
	Namespace string
	// Dir is the directory.
	Dir string
}
