package config

import (
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
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

// Key documents one configuration key, for generating the README table and
// the command's help from a single source.
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
	kind kind
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

// env returns the key's environment variable name.
func (d *keyDef) env() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(d.name, ".", "_"))
}

// keys is the table of configuration keys: the seed's first, then ours.
var keys = []keyDef{
	{name: "enabled", kind: kindBool, field: func(c *Config) any { return &c.Enabled },
		doc: "Run the SSE server. false makes the binary refuse to start (the Symfony bundle's on/off switch)."},
	{name: "host", kind: kindString, field: func(c *Config) any { return &c.Host }, check: checkHost,
		doc: "Interface to listen on: a host name or IP address, without port; 0.0.0.0 or :: listens on all interfaces."},
	{name: "port", kind: kindInt, max: 65535, hasMax: true, field: func(c *Config) any { return &c.Port },
		doc: "TCP port to listen on; 0 picks a free port."},
	{name: "ping_interval", kind: kindSeconds, field: func(c *Config) any { return &c.PingInterval },
		doc: "Interval between ping events (data {\"timestamp\": ms}) sent on every stream; 0 disables heartbeats. An integer is seconds."},
	{name: "max_connections", kind: kindInt, field: func(c *Config) any { return &c.MaxConnections },
		doc: "Maximum number of concurrent streams; 0 means no limit."},
	{name: "timeout", kind: kindSeconds, field: func(c *Config) any { return &c.Timeout },
		doc: "Maximum lifetime of one stream, after which the server closes it and the client reconnects; 0 means no limit. An integer is seconds."},
	{name: "debug", kind: kindBool, field: func(c *Config) any { return &c.Debug },
		doc: "Log verbosely."},

	{name: "base_path", kind: kindString, field: func(c *Config) any { return &c.BasePath }, check: checkBasePath,
		doc: `URL path prefix of the endpoints; starts with "/" and does not end with "/".`},
	{name: "history_size", kind: kindInt, field: func(c *Config) any { return &c.HistorySize },
		doc: "Number of recent events kept for replay to clients reconnecting with Last-Event-ID; 0 disables replay."},
	{name: "queue_size", kind: kindInt, min: 1, field: func(c *Config) any { return &c.QueueSize },
		doc: "Events buffered per subscriber; a subscriber that falls further behind is dropped. At least 1."},
	{name: "retry", kind: kindMillis, field: func(c *Config) any { return &c.Retry },
		doc: "Reconnect delay advertised to clients in the retry field. An integer is milliseconds."},
	{name: "write_timeout", kind: kindSeconds, min: 1, field: func(c *Config) any { return &c.WriteTimeout },
		doc: "A stream whose write blocks longer than this is dropped; must be positive. An integer is seconds."},
	{name: "shutdown_timeout", kind: kindSeconds, field: func(c *Config) any { return &c.ShutdownTimeout },
		doc: "How long a graceful shutdown waits for open requests to finish; 0 closes them at once. An integer is seconds."},
	{name: "publish_token", kind: kindString, field: func(c *Config) any { return &c.PublishToken }, check: checkToken,
		doc: "Bearer token required to publish. Empty: a random token is generated on first start and stored in token_file."},
	{name: "token_file", kind: kindString, field: func(c *Config) any { return &c.TokenFile }, check: checkFiles("token_file"),
		doc: "File storing the generated publish token."},
	{name: "allow_anonymous_publish", kind: kindBool, field: func(c *Config) any { return &c.AllowAnonymousPublish },
		doc: "Accept publish requests without a token. Only for trusted networks."},
	{name: "cors_origins", kind: kindList, field: func(c *Config) any { return &c.CORSOrigins }, check: checkOrigins,
		doc: `Origins allowed to connect from browsers: "*", or scheme://host[:port] where the port may be "*" and the host may start with "*." for every subdomain. Comma-separated in the environment.`},
	{name: "topics", kind: kindList, field: func(c *Config) any { return &c.Topics }, check: checkTopics,
		doc: `Topics clients may use; empty allows any. An entry ending in "*" matches every topic with that prefix. Comma-separated in the environment.`},
	{name: "max_body_bytes", kind: kindInt, min: 1, field: func(c *Config) any { return &c.MaxBodyBytes },
		doc: "Maximum size in bytes of a publish request body."},
	{name: "pid_file", kind: kindString, field: func(c *Config) any { return &c.PIDFile }, check: checkFiles("pid_file"),
		doc: "File recording the pid of the running server."},
	{name: "signal_file", kind: kindString, field: func(c *Config) any { return &c.SignalFile }, check: checkFiles("signal_file"),
		doc: "Reload signal file shared with the PHP component."},
	{name: "transport", kind: kindString, field: func(c *Config) any { return &c.Transport }, check: checkTransport,
		doc: `Where events are ordered and kept: "memory" (one server), or a Redis URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS, redis://:password@host:6379/0) shared by several servers behind a load balancer.`},
	{name: "redis_prefix", kind: kindString, field: func(c *Config) any { return &c.RedisPrefix },
		doc: "Prefix of the Redis keys; servers with the same Redis and prefix share one stream."},
	{name: "history_max_age", kind: kindSeconds, field: func(c *Config) any { return &c.HistoryMaxAge },
		doc: "With Redis, also drop history entries older than this; 0 bounds the history by history_size only. An integer is seconds."},
	{name: "watch.paths", kind: kindList, field: func(c *Config) any { return &c.Watch },
		doc: "Files and directories watched (recursively) while the server runs: a saved stylesheet is swapped in place (css-update), anything else reloads the page. Also --watch DIR. Comma-separated in the environment."},
	{name: "watch.ignore", kind: kindList, field: func(c *Config) any { return &c.WatchIgnore },
		doc: "Globs ignored in addition to the defaults (.git, node_modules, vendor, var, editor swap and backup files, logs (*.log), SQLite databases and journals (*.sqlite, *.sqlite3, *.db), Python bytecode (__pycache__, *.pyc)). The files the server's own output is redirected to are never watched. Comma-separated in the environment."},
	{name: "watch.rules", kind: kindList, field: func(c *Config) any { return &c.WatchRules }, check: checkRules,
		doc: `What a change does, as "glob=action" with action reload, css-update, restart or ignore, e.g. "*.tmpl=reload"; first match wins, then *.css=css-update, *.map=ignore (source maps) and everything else reload. Comma-separated in the environment.`},
	{name: "watch.debounce", kind: kindMillis, field: func(c *Config) any { return &c.WatchDebounce },
		doc: "Quiet time before a change is reported; 0 keeps the watcher's default (5 ms for a save, longer for bursts of many files). An integer is milliseconds."},
	{name: "watch.css_wait", kind: kindBool, field: func(c *Config) any { return &c.WatchCSSWait },
		doc: "Make a saved stylesheet wait for the quiet time like any other change. By default a change that is one stylesheet goes out as soon as its new content is there, which saves the quiet time on the most frequent edit; set this if a tool writes your stylesheets in several steps and the page shows the half-written state."},
	{name: "watch.poll", kind: kindBool, field: func(c *Config) any { return &c.WatchPoll },
		doc: "Poll the watched paths instead of using inotify: for Docker bind mounts, network drives and WSL, where change events never arrive. Also --poll."},
	{name: "watch.poll_interval", kind: kindMillis, field: func(c *Config) any { return &c.WatchPollInterval },
		doc: "How often polling looks at the files; 0 keeps the watcher's default. An integer is milliseconds."},
	{name: "watch.morph", kind: kindBool, field: func(c *Config) any { return &c.WatchMorph },
		doc: "Let pages morph in place when a watched page or template changes: the browser fetches the page again and updates only what changed, keeping scroll, focus, typed text and JavaScript state. false reloads the page instead, as does a change to a script. Under dev, dev.morph: false does the same."},
	{name: "dev.proxy", kind: kindString, field: func(c *Config) any { return &c.DevProxy },
		doc: "URL of the app that valksor-sse dev proxies, e.g. http://localhost:8000. Also --proxy."},
	{name: "dev.listen", kind: kindString, field: func(c *Config) any { return &c.DevListen },
		doc: "Address of the dev proxy. Also --listen."},
	{name: "dev.cmd", kind: kindList, field: func(c *Config) any { return &c.DevCmd },
		doc: `Command that runs the app under valksor-sse dev (e.g. "go run ./app"); it is restarted when a watched file matching a restart rule changes. Also --cmd.`},
	{name: "dev.morph", kind: kindBool, field: func(c *Config) any { return &c.DevMorph },
		doc: "Let the pages of valksor-sse dev morph in place when a page or template changes (see watch.morph); false reloads them instead."},
	{name: "dashboard.enabled", kind: kindBool, field: func(c *Config) any { return &c.DashboardEnabled },
		doc: "Serve the live dashboard (open streams, throughput, event tail, clients, a publish form) at dashboard.path. It shows what any subscriber could see plus the clients' addresses. Not set: on when host is a loopback address (localhost, 127.0.0.1, ::1: a developer's machine), off otherwise (a production config)."},
	{name: "dashboard.path", kind: kindString, field: func(c *Config) any { return &c.DashboardPath }, check: checkDashboardPath,
		doc: "URL path of the dashboard. Empty: base_path followed by /_dashboard (/sse/_dashboard)."},
	{name: "assets", kind: kindList, field: func(c *Config) any { return &c.Assets }, check: checkAssets,
		doc: `Asset directories served under /assets/ with content-digested names: "dir" maps the directory at the root, "namespace=dir" under namespace/. Comma-separated in the environment.`},
	{name: "importmap", kind: kindList, field: func(c *Config) any { return &c.ImportMap }, check: checkImportMap,
		doc: `Import map entries as "name=logical/path.js" (e.g. "app=app.js"); valksorsse/sse is always included. Comma-separated in the environment.`},
	{name: "importmap_preload", kind: kindList, field: func(c *Config) any { return &c.Preload }, check: checkPreload,
		doc: "Import map entries rendered with <link rel=modulepreload>. Comma-separated in the environment."},
	{name: "auth.publisher_key", kind: kindString, field: func(c *Config) any { return &c.AuthPublisherKey }, check: checkKeySpec("auth.publisher_key", func(c Config) string { return c.AuthPublisherKey }),
		doc: `Verifies publisher JWTs: an HMAC secret of at least 32 bytes, or "file:/path/key.pem" with an RSA, ECDSA or Ed25519 public key (a file without PEM holds the secret). Empty: no JWT publishing, only publish_token.`},
	{name: "auth.subscriber_key", kind: kindString, field: func(c *Config) any { return &c.AuthSubscriberKey }, check: checkKeySpec("auth.subscriber_key", func(c Config) string { return c.AuthSubscriberKey }),
		doc: "Verifies subscriber JWTs, in the same forms as auth.publisher_key. Empty: the publisher key."},
	{name: "auth.algorithm", kind: kindString, field: func(c *Config) any { return &c.AuthAlgorithm }, check: checkAlgorithm,
		doc: "The one JWT algorithm accepted (HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA). Empty: HS256 for secrets, RS256 for RSA keys, ES256/ES384/ES512 by curve, EdDSA for Ed25519."},
	{name: "auth.jwks_url", kind: kindString, field: func(c *Config) any { return &c.AuthJWKSURL }, check: checkJWKSURL,
		doc: "URL of a JWKS document whose keys verify publisher and subscriber JWTs; fetched at start, cached, and fetched again for an unknown kid."},
	{name: "auth.cookie", kind: kindString, field: func(c *Config) any { return &c.AuthCookie }, check: checkCookie,
		doc: "Cookie carrying the JWT of browsers (mercureAuthorization is accepted too); tokens are also read from Authorization: Bearer and the authorization query parameter."},
	{name: "auth.anonymous_subscribe", kind: kindBool, field: func(c *Config) any { return &c.AuthAnonymousSubscribe }, check: checkAnonymous,
		doc: "With JWT keys, let streams without a token receive public events. false: every stream needs a token whose subscribe claim covers each of its topics."},
	{name: "limits.streams_per_second", kind: kindInt, field: func(c *Config) any { return &c.LimitStreamsPerSecond },
		doc: "New streams per second from one client IP (bursts of twice as many); over it the answer is 429 with Retry-After. 0 means no limit."},
	{name: "limits.streams_per_ip", kind: kindInt, field: func(c *Config) any { return &c.LimitStreamsPerIP },
		doc: "Concurrent streams from one client IP (IPv6 by /64); 0 means no limit. A browser needs one per tab without SharedWorker."},
	{name: "limits.publishes_per_second", kind: kindInt, field: func(c *Config) any { return &c.LimitPublishesPerSecond },
		doc: "Publish requests per second per token, or per client IP without one (bursts of twice as many); 0 means no limit."},
	{name: "limits.trusted_proxies", kind: kindList, field: func(c *Config) any { return &c.LimitTrustedProxies }, check: checkProxies,
		doc: "Reverse proxies (IPs or CIDRs) whose X-Forwarded-For names the client: the rightmost address not in this list is the client IP. Empty: the peer address. Comma-separated in the environment."},
	{name: "tls.cert", kind: kindString, field: func(c *Config) any { return &c.TLSCert }, check: checkTLS,
		doc: "PEM certificate chain: with tls.key the server speaks HTTPS and HTTP/2 only. Also --tls-self-signed for a localhost certificate."},
	{name: "tls.key", kind: kindString, field: func(c *Config) any { return &c.TLSKey },
		doc: "PEM private key of tls.cert."},
	{name: "metrics", kind: kindBool, field: func(c *Config) any { return &c.Metrics },
		doc: "Serve Prometheus metrics at /metrics: streams, events, deliveries, limits, publish latency and the Go runtime."},
	{name: "log_format", kind: kindString, field: func(c *Config) any { return &c.LogFormat }, check: checkLogFormat,
		doc: `Log (and access log) format: "text" or "json".`},
	{name: "mercure.enabled", kind: kindBool, field: func(c *Config) any { return &c.MercureEnabled }, check: checkMercure,
		doc: "Serve the Mercure protocol at /.well-known/mercure on the same hub (same history, transport and limits as base_path): Symfony's Mercure component, API Platform and EventSource clients work unchanged. Needs mercure.publisher_key."},
	{name: "mercure.publisher_key", kind: kindString, field: func(c *Config) any { return &c.MercurePublisherKey }, check: checkKeySpec("mercure.publisher_key", func(c Config) string { return c.MercurePublisherKey }),
		doc: `Verifies Mercure publisher JWTs: the HMAC secret of Symfony's MERCURE_JWT_SECRET (at least 32 bytes), or "file:/path/key.pem" with an RSA, ECDSA or Ed25519 public key.`},
	{name: "mercure.subscriber_key", kind: kindString, field: func(c *Config) any { return &c.MercureSubscriberKey }, check: checkKeySpec("mercure.subscriber_key", func(c Config) string { return c.MercureSubscriberKey }),
		doc: "Verifies Mercure subscriber JWTs, in the same forms as mercure.publisher_key. Empty: the publisher key."},
	{name: "mercure.algorithm", kind: kindString, field: func(c *Config) any { return &c.MercureAlgorithm }, check: checkMercureAlgorithm,
		doc: "The one JWT algorithm accepted for Mercure tokens (as auth.algorithm). Empty: derived from the key."},
	{name: "mercure.anonymous", kind: kindBool, field: func(c *Config) any { return &c.MercureAnonymous },
		doc: "Let Mercure subscribers without a token receive public updates. false (the reference hub's default) answers them 401."},
	{name: "mercure.subscriptions", kind: kindBool, field: func(c *Config) any { return &c.MercureSubscriptions },
		doc: "Publish a private update on /.well-known/mercure/subscriptions/... when a Mercure subscription starts or ends, and serve the subscriptions API there."},
	{name: "mercure.issuer", kind: kindString, field: func(c *Config) any { return &c.MercureIssuer }, check: checkMercureClaim(func(c Config) string { return c.MercureIssuer }),
		doc: "The iss that at+jwt access tokens (the newer Mercure draft) must carry. Empty: not checked."},
	{name: "mercure.audience", kind: kindString, field: func(c *Config) any { return &c.MercureAudience }, check: checkMercureClaim(func(c Config) string { return c.MercureAudience }),
		doc: "The hub's resource identifier, which at+jwt access tokens must list in aud (usually https://your.host/.well-known/mercure). Empty: not checked."},
}

// minSecretLen is the shortest HMAC secret accepted: RFC 7518 asks for a
// key at least as long as the hash output (32 bytes for HS256).
const minSecretLen = 32

// checkKeySpec validates auth.publisher_key or auth.subscriber_key: a
// secret long enough, or file: with a path. The file is read at start.
func checkKeySpec(name string, get func(Config) string) func(Config) string {
	return func(c Config) string {
		v := get(c)
		switch path, isFile := strings.CutPrefix(v, "file:"); {
		case v == "":
		case isFile && strings.TrimSpace(path) == "":
			return `"file:" needs a path, e.g. file:/etc/valksor-sse/jwt-public.pem`
		case !isFile && len(v) < minSecretLen:
			return fmt.Sprintf("an HMAC secret must be at least %d bytes (got %d); generate one with: openssl rand -base64 32", minSecretLen, len(v))
		case !isFile && strings.IndexFunc(v, unicode.IsControl) >= 0:
			return "must not contain control characters"
		}
		return ""
	}
}

// algorithms are the accepted values of auth.algorithm.
var algorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

func checkAlgorithm(c Config) string {
	if c.AuthAlgorithm == "" {
		return ""
	}
	for _, a := range algorithms {
		if a == c.AuthAlgorithm {
			return ""
		}
	}
	return fmt.Sprintf("want one of %s, got %q", strings.Join(algorithms, ", "), c.AuthAlgorithm)
}

// checkMercure wants a publisher key when the Mercure hub is enabled.
func checkMercure(c Config) string {
	if c.MercureEnabled && c.MercurePublisherKey == "" {
		return "true needs mercure.publisher_key: the secret publishers sign their JWTs with (Symfony's MERCURE_JWT_SECRET)"
	}
	return ""
}

func checkMercureAlgorithm(c Config) string {
	if c.MercureAlgorithm == "" {
		return ""
	}
	for _, a := range algorithms {
		if a == c.MercureAlgorithm {
			return ""
		}
	}
	return fmt.Sprintf("want one of %s, got %q", strings.Join(algorithms, ", "), c.MercureAlgorithm)
}

// checkMercureClaim validates mercure.issuer or mercure.audience: a claim
// value without spaces or control characters.
func checkMercureClaim(get func(Config) string) func(Config) string {
	return func(c Config) string {
		if hasSpaceOrControl(get(c)) {
			return fmt.Sprintf("must not contain spaces or control characters, got %q", get(c))
		}
		return ""
	}
}

func checkJWKSURL(c Config) string {
	u := c.AuthJWKSURL
	if u == "" {
		return ""
	}
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") || hasSpaceOrControl(u) {
		return fmt.Sprintf("want an http:// or https:// URL, got %q", u)
	}
	return ""
}

// checkCookie validates auth.cookie as an RFC 6265 cookie name.
func checkCookie(c Config) string {
	if c.AuthCookie == "" {
		return "must not be empty"
	}
	for _, r := range c.AuthCookie {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return fmt.Sprintf("want a cookie name (letters, digits and !#$%%&'*+-.^_`|~), got %q", c.AuthCookie)
		}
	}
	return ""
}

// checkAnonymous refuses a server that nobody could subscribe to.
func checkAnonymous(c Config) string {
	if !c.AuthAnonymousSubscribe && c.AuthPublisherKey == "" && c.AuthSubscriberKey == "" && c.AuthJWKSURL == "" {
		return "false needs auth.subscriber_key, auth.publisher_key or auth.jwks_url: without keys no stream could open"
	}
	return ""
}

func checkProxies(c Config) string {
	for _, p := range c.LimitTrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err == nil {
			continue
		}
		return fmt.Sprintf("want IP addresses or CIDRs such as 10.0.0.0/8, got %q", p)
	}
	return ""
}

// checkTLS wants tls.cert and tls.key together.
func checkTLS(c Config) string {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return "tls.cert and tls.key go together: set both, or neither"
	}
	return ""
}

func checkLogFormat(c Config) string {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Sprintf(`want "text" or "json", got %q`, c.LogFormat)
	}
	return ""
}

// checkRules validates watch.rules.
func checkRules(c Config) string {
	for _, r := range c.WatchRules {
		glob, action, ok := strings.Cut(r, "=")
		switch {
		case !ok || strings.TrimSpace(glob) == "":
			return fmt.Sprintf(`want "glob=action", got %q`, r)
		case action != "reload" && action != "css-update" && action != "restart" && action != "ignore":
			return fmt.Sprintf(`action %q in %q: want reload, css-update, restart or ignore`, action, r)
		}
		if _, err := filepath.Match(glob, ""); err != nil {
			return fmt.Sprintf("bad glob in %q: %v", r, err)
		}
	}
	return ""
}

// checkTransport validates the transport.
func checkTransport(c Config) string {
	if c.Transport == "memory" || strings.HasPrefix(c.Transport, "redis://") || strings.HasPrefix(c.Transport, "rediss://") {
		return ""
	}
	return fmt.Sprintf(`want "memory" or a Redis URL such as redis://127.0.0.1:6379/0, got %q`, c.Transport)
}

// checkAssets validates the assets entries.
func checkAssets(c Config) string {
	for _, a := range c.Assets {
		ns, dir, ok := strings.Cut(a, "=")
		if !ok {
			ns, dir = "", a
		}
		if strings.TrimSpace(dir) == "" || strings.ContainsAny(ns, "/\\ ") {
			return fmt.Sprintf(`want "dir" or "namespace=dir" (a namespace without slashes or spaces), got %q`, a)
		}
	}
	return ""
}

// checkImportMap validates the importmap entries.
func checkImportMap(c Config) string {
	for _, e := range c.ImportMap {
		name, path, ok := strings.Cut(e, "=")
		if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(path) == "" {
			return fmt.Sprintf(`want "name=logical/path.js", got %q`, e)
		}
	}
	return ""
}

// checkPreload validates that every preloaded entry is in the import map.
func checkPreload(c Config) string {
	for _, p := range c.Preload {
		found := p == "valksorsse/sse"
		for _, e := range c.ImportMap {
			if name, _, _ := strings.Cut(e, "="); name == p {
				found = true
			}
		}
		if !found {
			return fmt.Sprintf("%q is not an importmap entry; add it to importmap first", p)
		}
	}
	return ""
}

// keyByName and keyByEnv index keys.
var (
	keyByName = make(map[string]*keyDef, len(keys))
	keyByEnv  = make(map[string]*keyDef, len(keys))
)

func init() {
	for i := range keys {
		d := &keys[i]
		keyByName[d.name] = d
		keyByEnv[d.env()] = d
	}
}

// Keys returns the documented configuration keys in table order (the
// seed's keys first). Default is rendered from Default(), so the two cannot
// drift apart. The result is a fresh slice the caller may modify.
func Keys() []Key {
	def := Default()
	out := make([]Key, 0, len(keys))
	for i := range keys {
		d := &keys[i]
		out = append(out, Key{
			Name:    d.name,
			Env:     d.env(),
			Type:    d.kind.typeName(),
			Default: formatValue(d.field(&def)),
			Doc:     d.doc,
		})
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

func checkHost(c Config) string {
	h := c.Host
	switch {
	case h == "":
		return `must not be empty; use 0.0.0.0 or :: to listen on all interfaces`
	case hasSpaceOrControl(h):
		return fmt.Sprintf("must not contain spaces or control characters, got %q", h)
	case strings.Contains(h, "://") || strings.Contains(h, "/"):
		return fmt.Sprintf("want a host name or IP address, not a URL or path, got %q", h)
	case strings.HasPrefix(h, "["):
		return fmt.Sprintf("write IPv6 addresses without brackets, got %q", h)
	case strings.Contains(h, ":"):
		if _, err := netip.ParseAddr(h); err != nil {
			return fmt.Sprintf("want a host name or IP address without a port (set the port with the port key), got %q", h)
		}
	}
	return ""
}

func checkBasePath(c Config) string {
	p := c.BasePath
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Sprintf(`must start with "/", got %q`, p)
	case strings.HasSuffix(p, "/"):
		return fmt.Sprintf(`must not end with "/", got %q`, p)
	case hasSpaceOrControl(p) || strings.ContainsAny(p, "?#"):
		return fmt.Sprintf(`must be a plain URL path without spaces, "?" or "#", got %q`, p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Sprintf(`must not contain empty, "." or ".." segments, got %q`, p)
		}
	}
	return ""
}

// checkDashboardPath validates dashboard.path: a plain path like base_path,
// not one of the hub's endpoints.
func checkDashboardPath(c Config) string {
	p := c.DashboardPath
	if p == "" {
		return ""
	}
	if msg := checkBasePath(Config{BasePath: p}); msg != "" {
		return msg
	}
	for _, taken := range []string{"", "/healthz", "/publish", "/ping", "/client.js", "/worker.js"} {
		if p == c.BasePath+taken {
			return fmt.Sprintf("%q is an endpoint of the hub; choose another path, such as %s/_dashboard", p, c.BasePath)
		}
	}
	if p == "/assets" || strings.HasPrefix(p, "/assets/") {
		return fmt.Sprintf("%q is under /assets/, where the asset mapper serves files; choose another path", p)
	}
	return ""
}

func checkToken(c Config) string {
	if hasSpaceOrControl(c.PublishToken) {
		return "must not contain spaces or control characters"
	}
	return ""
}

// checkFiles returns a check that the file key is set and differs from the
// other file keys listed before it in the table.
func checkFiles(name string) func(Config) string {
	return func(c Config) string {
		files := []struct{ name, path string }{
			{"token_file", c.TokenFile}, {"pid_file", c.PIDFile}, {"signal_file", c.SignalFile},
		}
		var mine string
		for _, f := range files {
			if f.name == name {
				mine = f.path
				break
			}
		}
		if mine == "" {
			return "must not be empty"
		}
		for _, f := range files {
			if f.name == name {
				return ""
			}
			if f.path != "" && filepath.Clean(f.path) == filepath.Clean(mine) {
				return fmt.Sprintf("must differ from %s (both are %q)", f.name, mine)
			}
		}
		return ""
	}
}

func checkOrigins(c Config) string {
	for _, o := range c.CORSOrigins {
		if msg := checkOrigin(o); msg != "" {
			return msg
		}
	}
	return ""
}

// checkOrigin validates one cors_origins entry.
func checkOrigin(o string) string {
	bad := fmt.Sprintf(`want "*" or an origin such as "https://example.com" or "http://localhost:*" (no path, no trailing slash), got %q`, o)
	if o == "*" {
		return ""
	}
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") || rest == "" || hasSpaceOrControl(rest) || strings.ContainsAny(rest, "/?#@") {
		return bad
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") { // IPv6 literal
		end := strings.Index(rest, "]")
		if end < 0 {
			return bad
		}
		host, port = rest[:end+1], rest[end+1:]
		if _, err := netip.ParseAddr(host[1:end]); err != nil {
			return bad
		}
		switch {
		case port == "":
			port = "-" // no port given
		case strings.HasPrefix(port, ":"):
			port = port[1:]
		default:
			return bad
		}
	} else if i := strings.LastIndex(rest, ":"); i >= 0 {
		host, port = rest[:i], rest[i+1:]
	} else {
		port = "-" // no port given
	}
	// A subdomain wildcard ("https://*.example.com") allows every subdomain.
	if after, ok := strings.CutPrefix(host, "*."); ok && after != "" {
		host = after
	}
	if host == "" || host == "[]" || strings.Contains(host, "*") || strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		return bad
	}
	switch port {
	case "-", "*":
		return ""
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' {
		return bad
	}
	return ""
}

func checkTopics(c Config) string {
	for _, t := range c.Topics {
		switch {
		case t == "":
			return "must not contain empty topics"
		case hasSpaceOrControl(t):
			return fmt.Sprintf("topics must not contain spaces or control characters, got %q", t)
		case strings.Contains(strings.TrimSuffix(t, "*"), "*"):
			return fmt.Sprintf(`"*" is only allowed at the end of a topic (prefix wildcard), got %q`, t)
		}
	}
	return ""
}

// maxSeconds and maxMillis bound bare integers for durations so that the
// conversion to time.Duration cannot overflow.
const (
	maxSeconds = math.MaxInt64 / int64(time.Second)
	maxMillis  = math.MaxInt64 / int64(time.Millisecond)
)
