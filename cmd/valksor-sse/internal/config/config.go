// Package config loads the valksor-sse configuration from defaults, a YAML
// file using the Symfony bundle's schema (valksor: sse: ...) and VALKSOR_SSE_*
// environment variables, in increasing order of precedence. In the file, the
// when@<APP_ENV> block overrides the base keys, as in Symfony. Command-line
// flags, applied by the command afterwards, take precedence over all three.
package config

import (
	"errors"
	"fmt"
	"time"
)

// ErrDisabled is wrapped by the error Load and Validate return when
// valksor.sse.enabled is false: the configuration switches the server off.
var ErrDisabled = errors.New("the SSE server is disabled")

// Config is the complete server configuration. The zero value is not
// useful; start from Default or Load.
type Config struct {
	// Enabled runs the server; false makes Load and Validate fail with
	// ErrDisabled (key enabled, default true).
	Enabled bool
	// Host is the interface to listen on (key host, default "localhost").
	Host string
	// Port is the TCP port, 0 picks a free one (key port, default 8080).
	Port int
	// PingInterval is the heartbeat interval, 0 = no heartbeat (key
	// ping_interval, default 30s).
	PingInterval time.Duration
	// MaxConnections bounds concurrent streams, 0 = no limit (key
	// max_connections, default 100).
	MaxConnections int
	// Timeout is the maximum lifetime of one stream, 0 = no limit (key
	// timeout, default 300s).
	Timeout time.Duration
	// Debug enables verbose logging (key debug, default false).
	Debug bool

	// BasePath is the URL prefix of the endpoints, starting with "/" and not
	// ending with "/" (key base_path, default "/sse").
	BasePath string
	// HistorySize is the number of events kept for replay, >= 0 (key
	// history_size, default 1000).
	HistorySize int
	// QueueSize is the per-subscriber buffer, >= 1 (key queue_size, default 256).
	QueueSize int
	// Retry is the reconnect delay sent to clients (key retry, default 2s;
	// a bare integer is milliseconds).
	Retry time.Duration
	// WriteTimeout drops a stream whose write blocks longer, > 0 (key
	// write_timeout, default 10s).
	WriteTimeout time.Duration
	// ShutdownTimeout bounds a graceful shutdown (key shutdown_timeout,
	// default 10s).
	ShutdownTimeout time.Duration
	// PublishToken is the bearer token for publishing; "" means generate
	// one on first start (key publish_token, default "").
	PublishToken string
	// TokenFile stores the generated token (key token_file, default
	// "var/run/valksor-sse.token").
	TokenFile string
	// AllowAnonymousPublish accepts publishing without a token (key
	// allow_anonymous_publish, default false).
	AllowAnonymousPublish bool
	// CORSOrigins lists the allowed browser origins (key cors_origins,
	// default the http and https localhost and 127.0.0.1 origins on any port).
	CORSOrigins []string
	// Topics is the topic allowlist, empty = any topic; an entry ending in
	// "*" is a prefix wildcard (key topics, default empty).
	Topics []string
	// MaxBodyBytes bounds a publish request body, >= 1 (key
	// max_body_bytes, default 1048576).
	MaxBodyBytes int64
	// PIDFile is the pid file path (key pid_file, default
	// "var/run/valksor-sse.pid").
	PIDFile string
	// SignalFile is the reload signal file path (key signal_file, default
	// "var/run/valksor-reload.signal").
	SignalFile string

	// Transport selects where events are ordered and stored (key transport):
	// "memory" (default) or a Redis URL (redis://host:6379/0, rediss:// for
	// TLS) shared by several servers.
	Transport string
	// RedisPrefix is the prefix of the Redis keys (key redis_prefix).
	RedisPrefix string
	// HistoryMaxAge bounds the Redis history by age too (key history_max_age,
	// 0 = count only).
	HistoryMaxAge time.Duration

	// Assets lists the asset directories served under /assets/ (key assets):
	// "dir" maps the directory at the root of the logical paths,
	// "namespace=dir" under that namespace.
	Assets []string
	// ImportMap lists the import map entries (key importmap) as
	// "name=logical/path.js"; the client entry valksorsse/sse is always
	// present.
	ImportMap []string
	// Preload names the import map entries rendered with modulepreload (key
	// importmap_preload).
	Preload []string

	// Watch lists the paths watched for changes (key watch.paths).
	Watch []string
	// WatchIgnore adds ignore globs to the watcher's defaults (key watch.ignore).
	WatchIgnore []string
	// WatchRules maps globs to actions, "glob=action" (key watch.rules).
	WatchRules []string
	// WatchDebounce is the quiet time before a change is reported (key
	// watch.debounce, 0 = the watcher's default).
	WatchDebounce time.Duration
	// WatchCSSWait makes stylesheet changes wait for the quiet window like
	// other changes instead of going out on their first event (key
	// watch.css_wait).
	WatchCSSWait bool
	// WatchPoll polls instead of using inotify (key watch.poll).
	WatchPoll bool
	// WatchPollInterval is the polling period (key watch.poll_interval, 0 =
	// the watcher's default).
	WatchPollInterval time.Duration
	// WatchMorph lets browsers morph a changed page in place instead of
	// reloading it (key watch.morph).
	WatchMorph bool

	// DevProxy is the app the dev command proxies to (key dev.proxy).
	DevProxy string
	// DevListen is the dev proxy's address (key dev.listen).
	DevListen string
	// DevCmd is the app command the dev command runs and restarts (key dev.cmd).
	DevCmd []string
	// DevMorph lets browsers of the dev proxy morph a changed page in place
	// instead of reloading it (key dev.morph).
	DevMorph bool

	// DashboardEnabled serves the live dashboard (key dashboard.enabled).
	// When the key is not set, DashboardAuto is true and the command
	// decides by the host: on for a loopback host (a developer's machine),
	// off otherwise (a production config).
	DashboardEnabled bool
	// DashboardAuto reports that dashboard.enabled was not set, in the file
	// or the environment; it is not a key.
	DashboardAuto bool
	// DashboardPath is the dashboard's URL path (key dashboard.path); ""
	// means BasePath + "/_dashboard".
	DashboardPath string

	// AuthPublisherKey verifies publisher JWTs (key auth.publisher_key): an
	// HMAC secret, or "file:PATH" naming a PEM public key (RSA, ECDSA,
	// Ed25519) or a file holding the secret. "" = no JWT publishing.
	AuthPublisherKey string
	// AuthSubscriberKey verifies subscriber JWTs (key auth.subscriber_key),
	// in the same forms; "" = the publisher key.
	AuthSubscriberKey string
	// AuthAlgorithm pins the JWT algorithm of both keys (key
	// auth.algorithm); "" = derived from each key.
	AuthAlgorithm string
	// AuthJWKSURL is a JWKS document whose keys verify tokens of both roles
	// (key auth.jwks_url).
	AuthJWKSURL string
	// AuthCookie is the cookie carrying a JWT (key auth.cookie, default
	// "valksorSSEAuthorization"); mercureAuthorization is accepted too.
	AuthCookie string
	// AuthAnonymousSubscribe lets streams without a token receive public
	// events (key auth.anonymous_subscribe, default true).
	AuthAnonymousSubscribe bool

	// LimitStreamsPerSecond bounds new streams per second per client IP,
	// 0 = no limit (key limits.streams_per_second).
	LimitStreamsPerSecond int
	// LimitStreamsPerIP bounds concurrent streams per client IP, 0 = no
	// limit (key limits.streams_per_ip).
	LimitStreamsPerIP int
	// LimitPublishesPerSecond bounds publish requests per second per token
	// (or client IP without one), 0 = no limit (key limits.publishes_per_second).
	LimitPublishesPerSecond int
	// LimitTrustedProxies lists the proxies (IPs or CIDRs) whose
	// X-Forwarded-For is believed (key limits.trusted_proxies).
	LimitTrustedProxies []string

	// TLSCert and TLSKey are the PEM certificate chain and private key
	// served over HTTPS and HTTP/2 (keys tls.cert and tls.key); both or
	// neither.
	TLSCert string
	// TLSKey is the private key file of TLSCert (key tls.key).
	TLSKey string

	// Metrics serves Prometheus metrics at /metrics (key metrics, default true).
	Metrics bool
	// LogFormat is "text" or "json" (key log_format, default "text").
	LogFormat string

	// MercureEnabled serves the Mercure protocol at /.well-known/mercure on
	// the same hub (key mercure.enabled, default false).
	MercureEnabled bool
	// MercurePublisherKey verifies Mercure publisher JWTs (key
	// mercure.publisher_key): an HMAC secret (Symfony's MERCURE_JWT_SECRET)
	// or "file:PATH" naming a PEM public key or a file holding the secret.
	MercurePublisherKey string
	// MercureSubscriberKey verifies Mercure subscriber JWTs (key
	// mercure.subscriber_key), in the same forms; "" = the publisher key.
	MercureSubscriberKey string
	// MercureAlgorithm pins the JWT algorithm of both Mercure keys (key
	// mercure.algorithm); "" = derived from each key.
	MercureAlgorithm string
	// MercureAnonymous lets Mercure subscribers without a token receive
	// public updates (key mercure.anonymous, default false).
	MercureAnonymous bool
	// MercureSubscriptions publishes subscription updates and serves the
	// subscriptions API (key mercure.subscriptions, default false).
	MercureSubscriptions bool
	// MercureIssuer is the iss required in at+jwt access tokens (key
	// mercure.issuer); "" = not checked.
	MercureIssuer string
	// MercureAudience must be in the aud of at+jwt access tokens (key
	// mercure.audience); "" = not checked.
	MercureAudience string

	// Source is the config file Load read, "" when none; it is not a key.
	Source string
}

// Default returns the built-in configuration: the seed's defaults plus ours.
// Every call returns fresh slices.
func Default() Config {
	return Config{
		Enabled:        true,
		Host:           "localhost",
		Port:           8080,
		PingInterval:   30 * time.Second,
		MaxConnections: 100,
		Timeout:        300 * time.Second,
		Debug:          false,

		BasePath:              "/sse",
		HistorySize:           1000,
		QueueSize:             256,
		Retry:                 2 * time.Second,
		WriteTimeout:          10 * time.Second,
		ShutdownTimeout:       10 * time.Second,
		PublishToken:          "",
		TokenFile:             "var/run/valksor-sse.token",
		AllowAnonymousPublish: false,
		CORSOrigins:           []string{"http://localhost:*", "http://127.0.0.1:*", "https://localhost:*", "https://127.0.0.1:*"},
		Topics:                []string{},
		Transport:             "memory",
		RedisPrefix:           "valksor-sse",
		Assets:                []string{},
		Watch:                 []string{},
		WatchIgnore:           []string{},
		WatchRules:            []string{},
		WatchMorph:            true,
		DevListen:             "localhost:3000",
		DevCmd:                []string{},
		DevMorph:              true,
		DashboardEnabled:      true,
		DashboardAuto:         true,
		ImportMap:             []string{},
		Preload:               []string{},
		MaxBodyBytes:          1 << 20,
		PIDFile:               "var/run/valksor-sse.pid",
		SignalFile:            "var/run/valksor-reload.signal",

		AuthCookie:             "valksorSSEAuthorization",
		AuthAnonymousSubscribe: true,
		LimitTrustedProxies:    []string{},
		Metrics:                true,
		LogFormat:              "text",
	}
}

// problem is a validation or parse finding about one key.
type problem struct {
	key string // key name under valksor.sse
	msg string
}

// validate returns the problems of c, in key table order, ignoring Enabled.
func (c Config) validate() []problem {
	var out []problem
	for i := range keys {
		if msg := keys[i].validateKey(c); msg != "" {
			out = append(out, problem{key: keys[i].name, msg: msg})
		}
	}
	return out
}

// Validate checks every key's range and format and the rules between keys
// (such as distinct file paths). It returns nil for a usable configuration,
// an error wrapping ErrDisabled when Enabled is false, and otherwise one
// error listing every problem, one per line, each naming its full key
// ("valksor.sse.port: ...").
func (c Config) Validate() error {
	if !c.Enabled {
		return &disabledError{msg: "valksor.sse.enabled is false: the SSE server is disabled; set it to true to run it"}
	}
	var errs []error
	for _, p := range c.validate() {
		errs = append(errs, fmt.Errorf("%s%s: %s", keyPrefix, p.key, p.msg))
	}
	return errors.Join(errs...)
}

// keyPrefix is the path of the keys in the config file.
const keyPrefix = "valksor.sse."

// disabledError is the error for enabled: false; it wraps ErrDisabled.
type disabledError struct{ msg string }

// Error returns the full message.
func (e *disabledError) Error() string { return e.msg }

// Unwrap returns ErrDisabled.
func (e *disabledError) Unwrap() error { return ErrDisabled }
