package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "VALKSOR_SSE_"

// EnvConfig names the environment variable holding the config file path. It
// is read by the command, not by Load, which ignores it.
const EnvConfig = EnvPrefix + "CONFIG"

// ReservedEnv lists VALKSOR_SSE_* variables that are not config keys and
// that Load therefore neither applies nor reports as unknown. The command may
// append its own names during initialisation, before any call to Load; the
// slice must not be modified concurrently with Load.
var ReservedEnv = []string{EnvConfig}

// IsReserved reports whether name is in ReservedEnv.
func IsReserved(name string) bool {
	for _, r := range ReservedEnv {
		if r == name {
			return true
		}
	}
	return false
}

// Key documents one configuration key, for generating the reference table of
// docs/config.md and the output of "valksor-sse config keys" from a single
// source.
type Key struct {
	// Name is the key under valksor.sse in the config file, e.g. "ping_interval".
	Name string
	// Env is the environment variable overriding the key, e.g. "VALKSOR_SSE_PING_INTERVAL".
	Env string
	// Type is the value type: "bool", "string", "integer", "duration" or "list".
	Type string
	// Default is the default value as it would be written in the environment.
	Default string
	// Doc is a one or two sentence description of the key.
	Doc string
	// AliasOf, when set, is the key this one is another name for (the
	// Symfony bundle's names, such as bind for host): it sets the same
	// value, and has no environment variable of its own: Env is that key's.
	AliasOf string
}

// kind is the value type of a key; it selects parsing and range checking.
type kind int

const (
	kindBool    kind = iota // bool
	kindString              // string
	kindInt                 // int or int64
	kindSeconds             // time.Duration; a bare integer is seconds
	kindMillis              // time.Duration; a bare integer is milliseconds
	kindList                // []string
)

// typeName is the Key.Type of a kind.
func (k kind) typeName() string {
	switch k {
	case kindBool:
		return "bool"
	case kindString:
		return "string"
	case kindInt:
		return "integer"
	case kindSeconds, kindMillis:
		return "duration"
	default:
		return "list"
	}
}

// keyDef describes one key; the keys table drives parsing, environment
// overrides, validation and documentation, so adding a key is one entry.
type keyDef struct {
	name string
	// alias, when set, names the key this one is another name for; of is
	// that key's definition. An alias shares its field, kind and checks,
	// and has no environment variable of its own.
	alias string
	of    *keyDef
	kind  kind
	// min and max bound integers and durations (in nanoseconds); hasMax
	// says whether max applies.
	min, max int64
	hasMax   bool
	doc      string
	// field returns a pointer to the key's field in c: *bool, *string,
	// *int, *int64, *time.Duration or *[]string, matching kind.
	field func(c *Config) any
	// check, when set, validates the value beyond its kind and range; it
	// sees the whole Config for cross-field rules and returns "" when fine.
	check func(c Config) string
}

// env returns the name of the environment variable that overrides the
// key: its own, or for an alias that of the key it names.
func (d *keyDef) env() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(d.target().name, ".", "_"))
}

// target returns the key d sets: d itself, or for an alias the key it
// names.
func (d *keyDef) target() *keyDef {
	if d.of != nil {
		return d.of
	}
	return d
}

// keys is the table of configuration keys: those of the PHP component's
// README first, then ours.
// The check of a key lives next to the type of its group (server.go,
// auth.go...), where the field is.
var keys = []keyDef{
	{name: "enabled", kind: kindBool, field: func(c *Config) any { return &c.Enabled },
		doc: "Run the SSE server. false makes the binary refuse to start (the Symfony bundle's on/off switch)."},
	{name: "host", kind: kindString, field: func(c *Config) any { return &c.Server.Host }, check: checkHost,
		doc: "Interface to listen on: a host name or IP address, without port; 0.0.0.0 or :: listens on all interfaces."},
	{name: "port", kind: kindInt, max: 65535, hasMax: true, field: func(c *Config) any { return &c.Server.Port },
		doc: "TCP port to listen on; 0 picks a free port."},
	{name: "ping_interval", kind: kindSeconds, field: func(c *Config) any { return &c.Streams.PingInterval },
		doc: "Interval between ping events (data {\"timestamp\": ms}) sent on every stream; 0 disables heartbeats. An integer is seconds."},
	{name: "max_connections", kind: kindInt, field: func(c *Config) any { return &c.Streams.MaxConnections },
		doc: "Maximum number of concurrent streams; 0 means no limit."},
	{name: "timeout", kind: kindSeconds, field: func(c *Config) any { return &c.Streams.Timeout },
		doc: "Maximum lifetime of one stream, after which the server closes it and the client reconnects; 0 means no limit. An integer is seconds."},
	{name: "debug", kind: kindBool, field: func(c *Config) any { return &c.Server.Debug },
		doc: "Log verbosely."},

	// The keys the Symfony bundle's code defines (its SseConfiguration):
	// other names for ours, and domain.
	{name: "bind", alias: "host",
		doc: "The Symfony bundle's name for host: the address to listen on. Without it (and without host) the default stays localhost, not the bundle's 0.0.0.0."},
	{name: "path", alias: "base_path",
		doc: "The Symfony bundle's name for base_path: the URL path of the stream, with the health check at path/healthz."},
	{name: "domain", kind: kindString, field: func(c *Config) any { return &c.Server.Domain }, check: checkDomain,
		doc: "Host name browsers reach the server by, as in the Symfony bundle: the URLs the server prints use it, --tls-self-signed issues its certificate for it as well as localhost, and with no certificate configured the server serves HTTPS with /etc/ssl/private/DOMAIN.crt and DOMAIN.key when both can be read. Empty: the host name clients on this machine use (localhost for 0.0.0.0 and ::)."},
	{name: "ssl_cert_path", alias: "tls.cert",
		doc: "The Symfony bundle's name for tls.cert: the PEM certificate chain, with ssl_key_path."},
	{name: "ssl_key_path", alias: "tls.key",
		doc: "The Symfony bundle's name for tls.key: the PEM private key of ssl_cert_path."},

	{name: "base_path", kind: kindString, field: func(c *Config) any { return &c.Server.BasePath }, check: checkBasePath,
		doc: `URL path prefix of the endpoints; starts with "/" and does not end with "/".`},
	{name: "history_size", kind: kindInt, field: func(c *Config) any { return &c.History.Size },
		doc: "Number of recent events kept for replay to clients reconnecting with Last-Event-ID; 0 disables replay."},
	{name: "queue_size", kind: kindInt, min: 1, field: func(c *Config) any { return &c.Streams.QueueSize },
		doc: "Events buffered per subscriber; a subscriber that falls further behind is dropped. At least 1."},
	{name: "retry", kind: kindMillis, field: func(c *Config) any { return &c.Streams.Retry },
		doc: "Reconnect delay advertised to clients in the retry field. An integer is milliseconds."},
	{name: "write_timeout", kind: kindSeconds, min: 1, field: func(c *Config) any { return &c.Streams.WriteTimeout },
		doc: "A stream whose write blocks longer than this is dropped; must be positive. An integer is seconds."},
	{name: "idle_timeout", kind: kindSeconds, min: 1, field: func(c *Config) any { return &c.Server.IdleTimeout },
		doc: "A keep-alive connection idle this long between requests is closed. Open event streams are never idle. An integer is seconds."},
	{name: "read_timeout", kind: kindSeconds, min: 1, field: func(c *Config) any { return &c.Server.ReadTimeout },
		doc: "Reading a request's headers and body must finish within this; a slower client is cut off. It does not limit open event streams. An integer is seconds."},
	{name: "max_topics", kind: kindInt, min: 1, field: func(c *Config) any { return &c.Streams.MaxTopics },
		doc: "Most topics one stream may listen to and one event may be published to; more is refused with 400."},
	{name: "shutdown_timeout", kind: kindSeconds, field: func(c *Config) any { return &c.Server.ShutdownTimeout },
		doc: "How long a graceful shutdown waits for open requests to finish; 0 closes them at once. An integer is seconds."},
	{name: "publish_token", kind: kindString, field: func(c *Config) any { return &c.Publish.Token }, check: checkToken,
		doc: "Bearer token required to publish. Empty: a random token is generated on first start and stored in token_file."},
	{name: "token_file", kind: kindString, field: func(c *Config) any { return &c.Publish.TokenFile }, check: checkFiles("token_file"),
		doc: "File storing the generated publish token."},
	{name: "allow_anonymous_publish", kind: kindBool, field: func(c *Config) any { return &c.Publish.Anonymous },
		doc: "Accept publish requests without a token. Only for trusted networks."},
	{name: "cors_origins", kind: kindList, field: func(c *Config) any { return &c.Server.CORSOrigins }, check: checkOrigins,
		doc: `Origins allowed to connect from browsers: "*", or scheme://host[:port] where the port may be "*" and the host may start with "*." for every subdomain. Comma-separated in the environment.`},
	{name: "topics", kind: kindList, field: func(c *Config) any { return &c.Streams.Topics }, check: checkTopics,
		doc: `Topics clients may use; empty allows any. An entry ending in "*" matches every topic with that prefix. Comma-separated in the environment.`},
	{name: "max_body_bytes", kind: kindInt, min: 1, field: func(c *Config) any { return &c.Publish.MaxBodyBytes },
		doc: "Maximum size in bytes of a publish request body."},
	{name: "pid_file", kind: kindString, field: func(c *Config) any { return &c.Server.PIDFile }, check: checkFiles("pid_file"),
		doc: "File recording the pid of the running server."},
	{name: "signal_file", kind: kindString, field: func(c *Config) any { return &c.Server.SignalFile }, check: checkFiles("signal_file"),
		doc: "Reload signal file shared with the PHP component."},
	{name: "transport", kind: kindString, field: func(c *Config) any { return &c.History.Transport }, check: checkTransport,
		doc: `Where events are ordered and kept: "memory" (one server), or a Redis URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS, redis://:password@host:6379/0) shared by several servers behind a load balancer.`},
	{name: "redis_prefix", kind: kindString, field: func(c *Config) any { return &c.History.RedisPrefix },
		doc: "Prefix of the Redis keys; servers with the same Redis and prefix share one stream."},
	{name: "history_max_age", kind: kindSeconds, field: func(c *Config) any { return &c.History.MaxAge },
		doc: "With Redis, also drop history entries older than this; 0 bounds the history by history_size only. An integer is seconds."},
	{name: "watch.paths", kind: kindList, field: func(c *Config) any { return &c.Watch.Paths },
		doc: "Files and directories watched (recursively) while the server runs: a saved stylesheet is swapped in place (css-update), anything else reloads the page. Also --watch DIR. Comma-separated in the environment."},
	{name: "watch.ignore", kind: kindList, field: func(c *Config) any { return &c.Watch.Ignore },
		doc: "Globs ignored in addition to the defaults (.git, node_modules, vendor, var, editor swap and backup files, logs (*.log), SQLite databases and journals (*.sqlite, *.sqlite3, *.db), Python bytecode (__pycache__, *.pyc)). The files the server's own output is redirected to are never watched. Comma-separated in the environment."},
	{name: "watch.rules", kind: kindList, field: func(c *Config) any { return &c.Watch.Rules }, check: checkRules,
		doc: `What a change does, as "glob=action" with action reload, css-update, restart or ignore, e.g. "*.tmpl=reload"; first match wins, then *.css=css-update, *.map=ignore (source maps) and everything else reload. Comma-separated in the environment.`},
	{name: "watch.debounce", kind: kindMillis, field: func(c *Config) any { return &c.Watch.Debounce },
		doc: "Quiet time before a change is reported; 0 keeps the watcher's default (5 ms for a save, longer for bursts of many files). An integer is milliseconds."},
	{name: "watch.css_wait", kind: kindBool, field: func(c *Config) any { return &c.Watch.CSSWait },
		doc: "Make a saved stylesheet wait for the quiet time like any other change. By default a change that is one stylesheet goes out as soon as its new content is there, which saves the quiet time on the most frequent edit; set this if a tool writes your stylesheets in several steps and the page shows the half-written state."},
	{name: "watch.poll", kind: kindBool, field: func(c *Config) any { return &c.Watch.Poll },
		doc: "Poll the watched paths instead of using inotify: for Docker bind mounts, network drives and WSL, where change events never arrive. Also --poll."},
	{name: "watch.poll_interval", kind: kindMillis, field: func(c *Config) any { return &c.Watch.PollInterval },
		doc: "How often polling looks at the files; 0 keeps the watcher's default. An integer is milliseconds."},
	{name: "watch.morph", kind: kindBool, field: func(c *Config) any { return &c.Watch.Morph },
		doc: "Let pages morph in place when a watched page or template changes: the browser fetches the page again and updates only what changed, keeping scroll, focus, typed text and JavaScript state. false reloads the page instead, as does a change to a script. Under dev, dev.morph: false does the same."},
	{name: "dev.proxy", kind: kindString, field: func(c *Config) any { return &c.Dev.Proxy },
		doc: "URL of the app that valksor-sse dev proxies, e.g. http://localhost:8000. Also --proxy."},
	{name: "dev.listen", kind: kindString, field: func(c *Config) any { return &c.Dev.Listen },
		doc: "Address of the dev proxy. Also --listen."},
	{name: "dev.cmd", kind: kindList, field: func(c *Config) any { return &c.Dev.Cmd },
		doc: `Command that runs the app under valksor-sse dev (e.g. "go run ./app"); it is restarted when a watched file matching a restart rule changes. Also --cmd.`},
	{name: "dev.morph", kind: kindBool, field: func(c *Config) any { return &c.Dev.Morph },
		doc: "Let the pages of valksor-sse dev morph in place when a page or template changes (see watch.morph); false reloads them instead."},
	{name: "dashboard.enabled", kind: kindBool, field: func(c *Config) any { return &c.Dashboard.Enabled },
		doc: "Serve the live dashboard (open streams, throughput, event tail, clients, a publish form) at dashboard.path. It shows what any subscriber could see plus the clients' addresses. Not set: on when host is a loopback address (localhost, 127.0.0.1, ::1: a developer's machine), off otherwise (a production config)."},
	{name: "dashboard.path", kind: kindString, field: func(c *Config) any { return &c.Dashboard.Path }, check: checkDashboardPath,
		doc: "URL path of the dashboard. Empty: base_path followed by /_dashboard (/sse/_dashboard)."},
	{name: "assets", kind: kindList, field: func(c *Config) any { return &c.Assets.Dirs }, check: checkAssets,
		doc: `Asset directories served under /assets/ with content-digested names: "dir" maps the directory at the root, "namespace=dir" under namespace/. Comma-separated in the environment.`},
	{name: "importmap", kind: kindList, field: func(c *Config) any { return &c.Assets.ImportMap }, check: checkImportMap,
		doc: `Import map entries as "name=logical/path.js" (e.g. "app=app.js"); valksorsse/sse is always included. Comma-separated in the environment.`},
	{name: "importmap_preload", kind: kindList, field: func(c *Config) any { return &c.Assets.Preload }, check: checkPreload,
		doc: "Import map entries rendered with <link rel=modulepreload>. Comma-separated in the environment."},
	{name: "auth.publisher_key", kind: kindString, field: func(c *Config) any { return &c.Auth.PublisherKey }, check: checkKeySpec("auth.publisher_key", func(c Config) string { return c.Auth.PublisherKey }),
		doc: `Verifies publisher JWTs: an HMAC secret of at least 32 bytes, or "file:/path/key.pem" with an RSA, ECDSA or Ed25519 public key (a file without PEM holds the secret). Empty: no JWT publishing, only publish_token.`},
	{name: "auth.subscriber_key", kind: kindString, field: func(c *Config) any { return &c.Auth.SubscriberKey }, check: checkKeySpec("auth.subscriber_key", func(c Config) string { return c.Auth.SubscriberKey }),
		doc: "Verifies subscriber JWTs, in the same forms as auth.publisher_key. Empty: the publisher key."},
	{name: "auth.algorithm", kind: kindString, field: func(c *Config) any { return &c.Auth.Algorithm }, check: checkAlgorithm,
		doc: "The one JWT algorithm accepted (HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA). Empty: HS256 for secrets, RS256 for RSA keys, ES256/ES384/ES512 by curve, EdDSA for Ed25519."},
	{name: "auth.jwks_url", kind: kindString, field: func(c *Config) any { return &c.Auth.JWKSURL }, check: checkJWKSURL,
		doc: "URL of a JWKS document whose keys verify publisher and subscriber JWTs; fetched at start, cached, and fetched again for an unknown kid."},
	{name: "auth.cookie", kind: kindString, field: func(c *Config) any { return &c.Auth.Cookie }, check: checkCookie,
		doc: "Cookie carrying the JWT of browsers (mercureAuthorization is accepted too); tokens are also read from Authorization: Bearer and the authorization query parameter."},
	{name: "auth.anonymous_subscribe", kind: kindBool, field: func(c *Config) any { return &c.Auth.AnonymousSubscribe }, check: checkAnonymous,
		doc: "With JWT keys, let streams without a token receive public events. false: every stream needs a token whose subscribe claim covers each of its topics."},
	{name: "auth.require_exp", kind: kindBool, field: func(c *Config) any { return &c.Auth.RequireExp },
		doc: "Refuse JWTs without an expiry (exp claim), which would never expire; Mercure tokens too. Off for tokens minted the Mercure way without one; recommended in production."},
	{name: "auth.max_ttl", kind: kindSeconds, field: func(c *Config) any { return &c.Auth.MaxTTL },
		doc: "Refuse JWTs (Mercure tokens too) that expire later than this from now, and JWTs without exp: a leaked token is useful for at most this long. 0 means no bound. An integer is seconds."},
	{name: "limits.streams_per_second", kind: kindInt, field: func(c *Config) any { return &c.Limits.StreamsPerSecond },
		doc: "New streams per second from one client IP (bursts of twice as many); over it the answer is 429 with Retry-After. 0 means no limit."},
	{name: "limits.streams_per_ip", kind: kindInt, field: func(c *Config) any { return &c.Limits.StreamsPerIP },
		doc: "Concurrent streams from one client IP (IPv6 by /64); 0 means no limit. A browser needs one per tab without SharedWorker."},
	{name: "limits.publishes_per_second", kind: kindInt, field: func(c *Config) any { return &c.Limits.PublishesPerSecond },
		doc: "Publish requests per second per token, or per client IP without one (bursts of twice as many); 0 means no limit."},
	{name: "limits.connections_per_ip", kind: kindInt, field: func(c *Config) any { return &c.Limits.ConnectionsPerIP },
		doc: "Connections of any kind (streams, requests, idle keep-alives) one client IP (IPv6 by /64) may hold; more are closed as soon as they are accepted. Trusted proxies are exempt. 0 means no limit."},
	{name: "limits.trusted_proxies", kind: kindList, field: func(c *Config) any { return &c.Limits.TrustedProxies }, check: checkProxies,
		doc: "Reverse proxies (IPs or CIDRs) whose X-Forwarded-For names the client: the rightmost address not in this list is the client IP. Empty: the peer address. Comma-separated in the environment."},
	{name: "tls.cert", kind: kindString, field: func(c *Config) any { return &c.TLS.Cert }, check: checkTLS,
		doc: "PEM certificate chain: with tls.key the server speaks HTTPS and HTTP/2 only. Also --tls-self-signed for a localhost certificate."},
	{name: "tls.key", kind: kindString, field: func(c *Config) any { return &c.TLS.Key },
		doc: "PEM private key of tls.cert."},
	{name: "metrics", kind: kindBool, field: func(c *Config) any { return &c.Server.Metrics },
		doc: "Serve Prometheus metrics at /metrics: streams, events, deliveries, limits, publish latency and the Go runtime."},
	{name: "log_format", kind: kindString, field: func(c *Config) any { return &c.Server.LogFormat }, check: checkLogFormat,
		doc: `Log (and access log) format: "text" or "json".`},
	{name: "mercure.enabled", kind: kindBool, field: func(c *Config) any { return &c.Mercure.Enabled }, check: checkMercure,
		doc: "Serve the Mercure protocol at /.well-known/mercure on the same hub (same history, transport and limits as base_path): Symfony's Mercure component, API Platform and EventSource clients work unchanged. Needs mercure.publisher_key."},
	{name: "mercure.publisher_key", kind: kindString, field: func(c *Config) any { return &c.Mercure.PublisherKey }, check: checkKeySpec("mercure.publisher_key", func(c Config) string { return c.Mercure.PublisherKey }),
		doc: `Verifies Mercure publisher JWTs: the HMAC secret of Symfony's MERCURE_JWT_SECRET (at least 32 bytes), or "file:/path/key.pem" with an RSA, ECDSA or Ed25519 public key.`},
	{name: "mercure.subscriber_key", kind: kindString, field: func(c *Config) any { return &c.Mercure.SubscriberKey }, check: checkKeySpec("mercure.subscriber_key", func(c Config) string { return c.Mercure.SubscriberKey }),
		doc: "Verifies Mercure subscriber JWTs, in the same forms as mercure.publisher_key. Empty: the publisher key."},
	{name: "mercure.algorithm", kind: kindString, field: func(c *Config) any { return &c.Mercure.Algorithm }, check: checkMercureAlgorithm,
		doc: "The one JWT algorithm accepted for Mercure tokens (as auth.algorithm). Empty: derived from the key."},
	{name: "mercure.anonymous", kind: kindBool, field: func(c *Config) any { return &c.Mercure.Anonymous },
		doc: "Let Mercure subscribers without a token receive public updates. false (the reference hub's default) answers them 401."},
	{name: "mercure.subscriptions", kind: kindBool, field: func(c *Config) any { return &c.Mercure.Subscriptions },
		doc: "Publish a private update on /.well-known/mercure/subscriptions/... when a Mercure subscription starts or ends, and serve the subscriptions API there."},
	{name: "mercure.issuer", kind: kindString, field: func(c *Config) any { return &c.Mercure.Issuer }, check: checkMercureClaim(func(c Config) string { return c.Mercure.Issuer }),
		doc: "The iss that at+jwt access tokens (the newer Mercure draft) must carry. Empty: not checked."},
	{name: "mercure.audience", kind: kindString, field: func(c *Config) any { return &c.Mercure.Audience }, check: checkMercureClaim(func(c Config) string { return c.Mercure.Audience }),
		doc: "The hub's resource identifier, which at+jwt access tokens must list in aud (usually https://your.host/.well-known/mercure). Empty: not checked."},
}

// keyByName and keyByEnv index keys.
var (
	keyByName = make(map[string]*keyDef, len(keys))
	keyByEnv  = make(map[string]*keyDef, len(keys))
)

func init() {
	for i := range keys {
		keyByName[keys[i].name] = &keys[i]
	}
	for i := range keys {
		d := &keys[i]
		if d.alias == "" {
			keyByEnv[d.env()] = d
			continue
		}
		of := keyByName[d.alias]
		if of == nil || of.alias != "" {
			panic("config: key " + d.name + " is an alias of " + d.alias + ", which is not a key")
		}
		d.of, d.kind, d.field = of, of.kind, of.field
		d.min, d.max, d.hasMax = of.min, of.max, of.hasMax
	}
}

// Keys returns the documented configuration keys in table order (the PHP
// component's keys first). Default is rendered from Default(), so the two
// cannot drift apart. The result is a fresh slice the caller may modify.
func Keys() []Key {
	def := Default()
	out := make([]Key, 0, len(keys))
	for i := range keys {
		d := &keys[i]
		k := Key{
			Name:    d.name,
			Env:     d.env(),
			Type:    d.kind.typeName(),
			Default: formatValue(d.field(&def)),
			Doc:     d.doc,
			AliasOf: d.alias,
		}
		out = append(out, k)
	}
	return out
}

// keyNames returns the key names in table order.
func keyNames() []string {
	out := make([]string, len(keys))
	for i := range keys {
		out[i] = keys[i].name
	}
	return out
}

// envKeyNames returns the names of the keys that have an environment
// variable (all but the aliases), in table order.
func envKeyNames() []string {
	out := make([]string, 0, len(keys))
	for i := range keys {
		if keys[i].alias == "" {
			out = append(out, keys[i].name)
		}
	}
	return out
}

// formatValue renders a field value the way it would be written in the
// environment; empty strings and lists render as `""`.
func formatValue(p any) string {
	switch v := p.(type) {
	case *bool:
		return strconv.FormatBool(*v)
	case *string:
		if *v == "" {
			return `""`
		}
		return *v
	case *int:
		return strconv.Itoa(*v)
	case *int64:
		return strconv.FormatInt(*v, 10)
	case *time.Duration:
		return formatDuration(*v)
	case *[]string:
		if len(*v) == 0 {
			return `""`
		}
		return strings.Join(*v, ",")
	}
	return fmt.Sprint(p)
}

// formatDuration renders whole seconds as "30s" and whole milliseconds as
// "500ms" (both valid Go durations), anything else with Duration.String.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return d.String()
}

// numeric returns the value of an integer or duration field as an int64
// (durations in nanoseconds).
func numeric(p any) (int64, bool) {
	switch v := p.(type) {
	case *int:
		return int64(*v), true
	case *int64:
		return *v, true
	case *time.Duration:
		return int64(*v), true
	}
	return 0, false
}

// inRange reports whether n (nanoseconds for durations) is within the
// key's bounds.
func (d *keyDef) inRange(n int64) bool {
	return n >= d.min && (!d.hasMax || n <= d.max)
}

// want describes the accepted values of the key, for error messages.
func (d *keyDef) want() string {
	switch d.kind {
	case kindBool:
		return "want a boolean (true or false)"
	case kindString:
		return "want a string"
	case kindList:
		return "want a list of strings (or one comma-separated string)"
	case kindInt:
		switch {
		case d.hasMax:
			return fmt.Sprintf("want an integer between %d and %d", d.min, d.max)
		case d.min == 0:
			return "want a non-negative integer"
		default:
			return fmt.Sprintf("want an integer >= %d", d.min)
		}
	}
	sign := "non-negative"
	if d.min > 0 {
		sign = "positive"
	}
	if d.kind == kindMillis {
		return "want a " + sign + ` duration: a whole number of milliseconds (2000) or a Go duration ("2s", "500ms")`
	}
	return "want a " + sign + ` duration: a whole number of seconds (30) or a Go duration ("1m30s", "500ms")`
}

// validateKey checks the current value of key d in c and returns "" or a
// problem description (without the key name).
func (d *keyDef) validateKey(c Config) string {
	p := d.field(&c)
	if n, ok := numeric(p); ok && !d.inRange(n) {
		got := formatValue(p)
		if d.kind == kindInt {
			got = strconv.FormatInt(n, 10)
		}
		return fmt.Sprintf("%s, got %s", d.want(), got)
	}
	if d.check != nil {
		return d.check(c)
	}
	return ""
}

// hasSpaceOrControl reports whether s contains whitespace or control characters.
func hasSpaceOrControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}

// maxSeconds and maxMillis bound bare integers for durations so that the
// conversion to time.Duration cannot overflow.
const (
	maxSeconds = math.MaxInt64 / int64(time.Second)
	maxMillis  = math.MaxInt64 / int64(time.Millisecond)
)
