package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/golden"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

func TestDefault(t *testing.T) {
	c := config.Default()
	want := config.Config{
		Enabled: true,
		Server: config.Server{
			Host:            "localhost",
			Port:            8080,
			BasePath:        "/sse",
			LogFormat:       "text",
			Metrics:         true,
			CORSOrigins:     []string{"http://localhost:*", "http://127.0.0.1:*", "https://localhost:*", "https://127.0.0.1:*"},
			ShutdownTimeout: 10 * time.Second,
			IdleTimeout:     60 * time.Second,
			ReadTimeout:     10 * time.Second,
			PIDFile:         "var/run/valksor-sse.pid",
			SignalFile:      "var/run/valksor-reload.signal",
		},
		Streams: config.Streams{
			PingInterval:   30 * time.Second,
			MaxConnections: 100,
			Timeout:        300 * time.Second,
			QueueSize:      256,
			Retry:          2 * time.Second,
			WriteTimeout:   10 * time.Second,
			Topics:         []string{},
			MaxTopics:      100,
		},
		History:   config.History{Size: 1000, Transport: "memory", RedisPrefix: "valksor-sse"},
		Publish:   config.Publish{TokenFile: "var/run/valksor-sse.token", MaxBodyBytes: 1048576},
		Assets:    config.Assets{Dirs: []string{}, ImportMap: []string{}, Preload: []string{}},
		Watch:     config.Watch{Paths: []string{}, Ignore: []string{}, Rules: []string{}, Morph: true},
		Dev:       config.Dev{Listen: "localhost:3000", Cmd: []string{}, Morph: true},
		Dashboard: config.Dashboard{Enabled: true, Auto: true},
		Auth:      config.Auth{Cookie: "valksorSSEAuthorization", AnonymousSubscribe: true},
		Limits:    config.Limits{TrustedProxies: []string{}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	// Fresh slices every call: changing one result must not leak.
	c.Server.CORSOrigins[0] = "changed"
	if config.Default().Server.CORSOrigins[0] == "changed" {
		t.Error("Default() shares its CORSOrigins slice between calls")
	}
}

// leafFields counts the fields of struct type t, counting those of its
// struct fields instead of them.
func leafFields(t reflect.Type) int {
	n := 0
	for f := range t.Fields() {
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
			n += leafFields(f.Type)
		} else {
			n++
		}
	}
	return n
}

func TestKeys(t *testing.T) {
	ks := config.Keys()
	// Every field of Config and its groups except Source and
	// Dashboard.Auto is a key; the aliases (the Symfony bundle's names)
	// are other names for some of them.
	aliases := 0
	for _, k := range ks {
		if k.AliasOf != "" {
			aliases++
		}
	}
	if n := leafFields(reflect.TypeFor[config.Config]()) - 2; len(ks)-aliases != n {
		t.Errorf("Keys() has %d keys besides %d aliases, Config has %d key fields", len(ks)-aliases, aliases, n)
	}
	if aliases != 4 {
		t.Errorf("Keys() has %d aliases, want 4: bind, path, ssl_cert_path, ssl_key_path", aliases)
	}
	seed := []string{"enabled", "host", "port", "ping_interval", "max_connections", "timeout", "debug"}
	for i, name := range seed {
		if ks[i].Name != name {
			t.Errorf("Keys()[%d].Name = %q, want the seed key %q", i, ks[i].Name, name)
		}
	}
	var env []string
	for _, k := range ks {
		t.Run(k.Name, func(t *testing.T) {
			want := "VALKSOR_SSE_" + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_"))
			if k.AliasOf != "" {
				// No variable of its own: the one of the key it names.
				want = "VALKSOR_SSE_" + strings.ToUpper(strings.ReplaceAll(k.AliasOf, ".", "_"))
				if !strings.Contains(k.Doc, "Symfony bundle's name for "+k.AliasOf) {
					t.Errorf("Doc = %q, want it to say which key it is the bundle's name for", k.Doc)
				}
			}
			if k.Env != want {
				t.Errorf("Env = %q, want %q", k.Env, want)
			}
			if k.Doc == "" || !strings.HasSuffix(k.Doc, ".") {
				t.Errorf("Doc = %q, want a sentence", k.Doc)
			}
			switch k.Type {
			case "bool", "string", "integer", "duration", "list":
			default:
				t.Errorf("Type = %q", k.Type)
			}
		})
		v := k.Default
		if v == `""` {
			v = ""
		}
		if k.AliasOf == "" {
			env = append(env, k.Env+"="+v)
		}
	}
	// The documented defaults, fed back through the environment, must
	// reproduce Default() exactly.
	c, err := config.Load(t.TempDir(), "", env)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Dashboard.Auto = false // set through the environment here
	if !reflect.DeepEqual(c, want) {
		t.Errorf("documented defaults load as\n%#v\nwant\n%#v", c, want)
	}

	var b strings.Builder
	b.WriteString("| Key | Environment | Type | Default | Description |\n|---|---|---|---|---|\n")
	for _, k := range ks {
		b.WriteString("| `" + k.Name + "` | `" + k.Env + "` | " + k.Type + " | `" + k.Default + "` | " + k.Doc + " |\n")
	}
	golden.Check(t, "keys.golden", []byte(b.String()))
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *config.Config)
		want   string // substring of the error; "" = valid
	}{
		{"defaults", func(c *config.Config) {}, ""},
		{"all interfaces v4", func(c *config.Config) { c.Server.Host = "0.0.0.0" }, ""},
		{"all interfaces v6", func(c *config.Config) { c.Server.Host = "::" }, ""},
		{"ipv6 host", func(c *config.Config) { c.Server.Host = "::1" }, ""},
		{"empty host", func(c *config.Config) { c.Server.Host = "" }, "valksor.sse.host: must not be empty"},
		{"host with port", func(c *config.Config) { c.Server.Host = "localhost:8080" }, "valksor.sse.host: want a host name or IP address without a port"},
		{"host url", func(c *config.Config) { c.Server.Host = "http://localhost" }, "not a URL"},
		{"bracketed v6", func(c *config.Config) { c.Server.Host = "[::1]" }, "without brackets"},
		{"port 0", func(c *config.Config) { c.Server.Port = 0 }, ""},
		{"port too big", func(c *config.Config) { c.Server.Port = 65536 }, "valksor.sse.port: want an integer between 0 and 65535, got 65536"},
		{"negative port", func(c *config.Config) { c.Server.Port = -1 }, "valksor.sse.port: want an integer between 0 and 65535, got -1"},
		{"negative ping", func(c *config.Config) { c.Streams.PingInterval = -time.Second }, "valksor.sse.ping_interval: want a non-negative duration"},
		{"no limits", func(c *config.Config) {
			c.Streams.PingInterval, c.Streams.Timeout, c.Streams.MaxConnections, c.History.Size, c.Server.ShutdownTimeout = 0, 0, 0, 0, 0
		}, ""},
		{"negative max connections", func(c *config.Config) { c.Streams.MaxConnections = -1 }, "valksor.sse.max_connections: want a non-negative integer, got -1"},
		{"zero queue", func(c *config.Config) { c.Streams.QueueSize = 0 }, "valksor.sse.queue_size: want an integer >= 1, got 0"},
		{"zero write timeout", func(c *config.Config) { c.Streams.WriteTimeout = 0 }, "valksor.sse.write_timeout: want a positive duration"},
		{"zero body", func(c *config.Config) { c.Publish.MaxBodyBytes = 0 }, "valksor.sse.max_body_bytes: want an integer >= 1, got 0"},
		{"base path root", func(c *config.Config) { c.Server.BasePath = "/" }, `valksor.sse.base_path: must not end with "/"`},
		{"base path relative", func(c *config.Config) { c.Server.BasePath = "sse" }, `valksor.sse.base_path: must start with "/", got "sse"`},
		{"base path nested", func(c *config.Config) { c.Server.BasePath = "/api/sse" }, ""},
		{"base path double slash", func(c *config.Config) { c.Server.BasePath = "/a//b" }, "segments"},
		{"base path query", func(c *config.Config) { c.Server.BasePath = "/sse?x" }, "plain URL path"},
		{"token with space", func(c *config.Config) { c.Publish.Token = "a b" }, "valksor.sse.publish_token: must not contain spaces"},
		{"empty pid file", func(c *config.Config) { c.Server.PIDFile = "" }, "valksor.sse.pid_file: must not be empty"},
		{"same files", func(c *config.Config) { c.Server.SignalFile = "./var/run/valksor-sse.pid" }, `valksor.sse.signal_file: must differ from pid_file (both are "./var/run/valksor-sse.pid")`},
		{"origin any", func(c *config.Config) { c.Server.CORSOrigins = []string{"*"} }, ""},
		{"origins none", func(c *config.Config) { c.Server.CORSOrigins = nil }, ""},
		{"origin ports", func(c *config.Config) {
			c.Server.CORSOrigins = []string{"https://example.com", "http://example.com:8080", "http://[::1]:*", "http://[::1]"}
		}, ""},
		{"origin path", func(c *config.Config) { c.Server.CORSOrigins = []string{"https://example.com/"} }, `valksor.sse.cors_origins: want "*" or an origin`},
		{"origin no scheme", func(c *config.Config) { c.Server.CORSOrigins = []string{"example.com"} }, "cors_origins"},
		{"origin bad port", func(c *config.Config) { c.Server.CORSOrigins = []string{"http://example.com:0"} }, "cors_origins"},
		{"origin subdomain wildcard", func(c *config.Config) { c.Server.CORSOrigins = []string{"https://*.example.com"} }, ""},
		{"origin wildcard inside host", func(c *config.Config) { c.Server.CORSOrigins = []string{"https://a*.example.com"} }, "cors_origins"},
		{"topics", func(c *config.Config) { c.Streams.Topics = []string{"news", "chat/*", "*"} }, ""},
		{"topic inner star", func(c *config.Config) { c.Streams.Topics = []string{"a*b"} }, `valksor.sse.topics: "*" is only allowed at the end`},
		{"empty topic", func(c *config.Config) { c.Streams.Topics = []string{""} }, "valksor.sse.topics: must not contain empty topics"},
		{"dashboard path", func(c *config.Config) { c.Dashboard.Path = "/admin/sse" }, ""},
		{"dashboard path relative", func(c *config.Config) { c.Dashboard.Path = "admin" }, `valksor.sse.dashboard.path: must start with "/"`},
		{"dashboard path trailing slash", func(c *config.Config) { c.Dashboard.Path = "/admin/" }, `valksor.sse.dashboard.path: must not end with "/"`},
		{"dashboard path on the stream", func(c *config.Config) { c.Dashboard.Path = "/sse" }, "valksor.sse.dashboard.path: \"/sse\" is an endpoint of the hub"},
		{"dashboard path on publish", func(c *config.Config) { c.Server.BasePath, c.Dashboard.Path = "/events", "/events/publish" }, "is an endpoint of the hub; choose another path, such as /events/_dashboard"},
		{"dashboard path under assets", func(c *config.Config) { c.Dashboard.Path = "/assets/dash" }, "asset mapper"},
		{"two problems", func(c *config.Config) { c.Server.Port, c.Streams.QueueSize = -1, 0 }, "valksor.sse.port: want an integer between 0 and 65535, got -1\nvalksor.sse.queue_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.modify, tt.want) })
	}
	t.Run("disabled", func(t *testing.T) {
		c := config.Default()
		c.Enabled = false
		if err := c.Validate(); !errors.Is(err, config.ErrDisabled) {
			t.Errorf("Validate() = %v, want ErrDisabled", err)
		}
	})
}

func TestIsReserved(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"VALKSOR_SSE_CONFIG", true},
		{config.EnvConfig, true},
		{"VALKSOR_SSE_PORT", false},
		{"VALKSOR_SSE_CONFIGS", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := config.IsReserved(tt.name); got != tt.want {
				t.Errorf("IsReserved(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// TestProductionKeys covers the auth, limits, tls, metrics and log_format
// keys: their blocks in the file, the environment, and their checks.
func TestProductionKeys(t *testing.T) {
	dir := t.TempDir()
	yaml := `valksor:
  sse:
    auth:
      publisher_key: file:/etc/valksor-sse/publisher.pem
      subscriber_key: subscriber-secret-0123456789abcdef
      algorithm: ES256
      jwks_url: https://id.example.com/.well-known/jwks.json
      cookie: sseToken
      anonymous_subscribe: false
    limits:
      streams_per_second: 10
      streams_per_ip: 8
      publishes_per_second: 50
      trusted_proxies: [10.0.0.0/8, "::1"]
    tls:
      cert: /etc/ssl/sse.crt
      key: /etc/ssl/sse.key
    metrics: false
    log_format: json
`
	if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(dir, "", []string{"VALKSOR_SSE_LIMITS_STREAMS_PER_IP=16", "VALKSOR_SSE_LIMITS_TRUSTED_PROXIES=192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%q %q %q %q %q %v %d %d %d %q %q %q %v %q", c.Auth.PublisherKey, c.Auth.SubscriberKey, c.Auth.Algorithm, c.Auth.JWKSURL, c.Auth.Cookie,
		c.Auth.AnonymousSubscribe, c.Limits.StreamsPerSecond, c.Limits.StreamsPerIP, c.Limits.PublishesPerSecond, c.Limits.TrustedProxies, c.TLS.Cert, c.TLS.Key, c.Server.Metrics, c.Server.LogFormat)
	want := `"file:/etc/valksor-sse/publisher.pem" "subscriber-secret-0123456789abcdef" "ES256" "https://id.example.com/.well-known/jwks.json" "sseToken" false 10 16 50 ["192.0.2.1"] "/etc/ssl/sse.crt" "/etc/ssl/sse.key" false "json"`
	if got != want {
		t.Fatalf("loaded\n%s\nwant\n%s", got, want)
	}

	tests := []struct {
		name   string
		modify func(c *config.Config)
		want   string // substring of the error; "" = valid
	}{
		{"secret", func(c *config.Config) { c.Auth.PublisherKey = strings.Repeat("k", 32) }, ""},
		{"short secret", func(c *config.Config) { c.Auth.PublisherKey = "secret" }, "valksor.sse.auth.publisher_key: an HMAC secret must be at least 32 bytes (got 6)"},
		{"empty file", func(c *config.Config) { c.Auth.SubscriberKey = "file:" }, `valksor.sse.auth.subscriber_key: "file:" needs a path`},
		{"secret with newline", func(c *config.Config) { c.Auth.SubscriberKey = strings.Repeat("k", 32) + "\n" }, "control characters"},
		{"algorithm", func(c *config.Config) { c.Auth.Algorithm = "none" }, `valksor.sse.auth.algorithm: want one of HS256`},
		{"jwks scheme", func(c *config.Config) { c.Auth.JWKSURL = "ftp://x" }, "valksor.sse.auth.jwks_url: want an http:// or https:// URL"},
		{"cookie", func(c *config.Config) { c.Auth.Cookie = "a b" }, "valksor.sse.auth.cookie: want a cookie name"},
		{"empty cookie", func(c *config.Config) { c.Auth.Cookie = "" }, "valksor.sse.auth.cookie: must not be empty"},
		{"closed without keys", func(c *config.Config) { c.Auth.AnonymousSubscribe = false }, "valksor.sse.auth.anonymous_subscribe: false needs auth.subscriber_key"},
		{"closed with jwks", func(c *config.Config) {
			c.Auth.AnonymousSubscribe, c.Auth.JWKSURL = false, "https://id.example.com/jwks"
		}, ""},
		{"negative limit", func(c *config.Config) { c.Limits.StreamsPerIP = -1 }, "valksor.sse.limits.streams_per_ip: want a non-negative integer, got -1"},
		{"proxy", func(c *config.Config) { c.Limits.TrustedProxies = []string{"10.0.0.0/8", "fe80::1", "192.0.2.1"} }, ""},
		{"bad proxy", func(c *config.Config) { c.Limits.TrustedProxies = []string{"proxy.local"} }, `valksor.sse.limits.trusted_proxies: want IP addresses or CIDRs such as 10.0.0.0/8, got "proxy.local"`},
		{"cert without key", func(c *config.Config) { c.TLS.Cert = "a.crt" }, "valksor.sse.tls.cert: tls.cert and tls.key (ssl_cert_path and ssl_key_path in the Symfony bundle's names) go together"},
		{"log format", func(c *config.Config) { c.Server.LogFormat = "yaml" }, `valksor.sse.log_format: want "text" or "json", got "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.modify, tt.want) })
	}
	if _, err := config.Load(t.TempDir(), "", []string{"VALKSOR_SSE_METRICS=maybe"}); err == nil || !strings.Contains(err.Error(), "VALKSOR_SSE_METRICS: want a boolean") {
		t.Errorf("bad metrics value: %v", err)
	}
}

// TestValidateMercure checks the rules of the mercure keys.
func TestValidateMercure(t *testing.T) {
	const secret = "!ChangeThisMercureHubJWTSecretKey!"
	tests := []struct {
		name   string
		modify func(c *config.Config)
		want   string // substring of the error; "" = valid
	}{
		{"disabled without key", func(c *config.Config) {}, ""},
		{"enabled with a secret", func(c *config.Config) { c.Mercure.Enabled, c.Mercure.PublisherKey = true, secret }, ""},
		{"enabled with a PEM file", func(c *config.Config) {
			c.Mercure.Enabled, c.Mercure.PublisherKey = true, "file:/etc/mercure/public.pem"
		}, ""},
		{"enabled without key", func(c *config.Config) { c.Mercure.Enabled = true }, "valksor.sse.mercure.enabled: true needs mercure.publisher_key"},
		{"short secret", func(c *config.Config) { c.Mercure.PublisherKey = "secret" }, "valksor.sse.mercure.publisher_key: an HMAC secret must be at least 32 bytes"},
		{"empty file", func(c *config.Config) { c.Mercure.SubscriberKey = "file:" }, `valksor.sse.mercure.subscriber_key: "file:" needs a path`},
		{"algorithm", func(c *config.Config) { c.Mercure.Algorithm = "ES256" }, ""},
		{"bad algorithm", func(c *config.Config) { c.Mercure.Algorithm = "none" }, "valksor.sse.mercure.algorithm: want one of HS256"},
		{"audience with a space", func(c *config.Config) { c.Mercure.Audience = "https://a b" }, "valksor.sse.mercure.audience: must not contain spaces"},
		{"issuer", func(c *config.Config) { c.Mercure.Issuer = "https://auth.example" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.modify(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	d := config.Default()
	if d.Mercure.Enabled || d.Mercure.Anonymous || d.Mercure.Subscriptions || d.Mercure.PublisherKey != "" {
		t.Errorf("Mercure defaults: %+v", d)
	}
}

// checkValidate validates the default config changed by modify: no error
// when want is empty, else an error containing want.
func checkValidate(t *testing.T, modify func(*config.Config), want string) {
	t.Helper()
	c := config.Default()
	modify(&c)
	err := c.Validate()
	switch {
	case want == "" && err != nil:
		t.Errorf("Validate() = %v, want nil", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("Validate() = %v, want an error containing %q", err, want)
	}
}
