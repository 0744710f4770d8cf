package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

// TestLoadBundleFile loads the config/packages/valksor.yaml of a Symfony
// project written for the Valksor bundle: its own keys (bind, path, domain,
// ssl_cert_path, ssl_key_path) next to the README's, when@ blocks and
// %kernel.project_dir% paths.
func TestLoadBundleFile(t *testing.T) {
	project := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "bundle.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, project, "config/packages/valksor.yaml", string(b))
	certDir := filepath.ToSlash(project) + "/var/ssl/"

	want := config.Default()
	want.Source = p
	want.Server.Host = "0.0.0.0"
	want.Server.Port = 3000
	want.Server.BasePath = "/events"
	want.Server.Domain = "app.localhost"
	want.Server.Debug = true
	want.Streams.PingInterval = 15e9
	want.TLS.Cert, want.TLS.Key = certDir+"app.crt", certDir+"app.key"
	for _, c := range []struct {
		appEnv string
		modify func(c *config.Config)
	}{
		{"", func(*config.Config) {}},
		{"dev", func(c *config.Config) { c.Server.Host = "127.0.0.1"; c.Server.Port = 3001 }},
		{"prod", func(c *config.Config) {
			c.Server.Debug = false
			c.Server.Domain = "app.example.com"
			c.TLS.Cert, c.TLS.Key = "/etc/ssl/certs/app.example.com.crt", "/etc/ssl/private/app.example.com.key"
		}},
	} {
		t.Run("APP_ENV="+c.appEnv, func(t *testing.T) {
			var env []string
			if c.appEnv != "" {
				env = []string{"APP_ENV=" + c.appEnv}
			}
			got, err := config.Load(project, "", env)
			if err != nil {
				t.Fatal(err)
			}
			w := want
			c.modify(&w)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("loads as\n%+v\nwant\n%+v", got, w)
			}
		})
	}

	// composer.json marks the project directory wherever the file is.
	other := t.TempDir()
	writeFile(t, other, "composer.json", "{}")
	writeFile(t, other, "deploy/valksor.yaml", sseFile("ssl_cert_path: '%kernel.project_dir%/a.crt'", "ssl_key_path: '%kernel.project_dir%/a.key'"))
	got, err := config.Load(other, "deploy/valksor.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.ToSlash(other) + "/a.crt"; got.TLS.Cert != want {
		t.Errorf("tls.cert = %q, want %q", got.TLS.Cert, want)
	}
}

// TestBundleKeyConflicts: a key and its bundle name in one mapping must
// agree; the error names both, with their lines.
func TestBundleKeyConflicts(t *testing.T) {
	tests := []loadCase{
		{"bind and host disagree", sseFile("host: localhost", "bind: 0.0.0.0"), nil,
			`valksor.yaml:4: valksor.sse.bind is "0.0.0.0" here but valksor.sse.host is "localhost" on line 3: bind is the Symfony bundle's name for host, so they set the same thing; keep one of them`, nil},
		{"path before base_path", sseFile("path: /events", "port: 3000", "base_path: /sse"), nil,
			`valksor.yaml:5: valksor.sse.base_path is "/sse" here but valksor.sse.path is "/events" on line 3: path is the Symfony bundle's name for base_path, so they set the same thing; keep one of them`, nil},
		{"ssl_cert_path and tls.cert", sseFile("ssl_cert_path: a.crt", "ssl_key_path: a.key", "tls:", "    cert: b.crt"), nil,
			`valksor.yaml:6: valksor.sse.tls.cert is "b.crt" here but valksor.sse.ssl_cert_path is "a.crt" on line 3: ssl_cert_path is the Symfony bundle's name for tls.cert, so they set the same thing; keep one of them`, nil},
		{"agreeing names", sseFile("host: 0.0.0.0", "bind: 0.0.0.0", "path: /sse", "base_path: /sse"), nil,
			"", func(c config.Config) bool { return c.Server.Host == "0.0.0.0" && c.Server.BasePath == "/sse" }},
		{"a when@ block overrides the other name", sseFile("host: localhost") + "when@prod:\n    valksor:\n        sse:\n            bind: 0.0.0.0\n", []string{"APP_ENV=prod"},
			"", func(c config.Config) bool { return c.Server.Host == "0.0.0.0" }},
		{"the environment overrides the bundle's name", sseFile("bind: 0.0.0.0"), []string{"VALKSOR_SSE_HOST=127.0.0.1"},
			"", func(c config.Config) bool { return c.Server.Host == "127.0.0.1" }},
		{"an explicit key wins over a merged one", "defaults: &d\n    host: localhost\nvalksor:\n    sse:\n        <<: *d\n        bind: 0.0.0.0\n", nil,
			"", func(c config.Config) bool { return c.Server.Host == "0.0.0.0" }},
		{"a bad value is named as written", sseFile("bind: http://localhost"), nil,
			`valksor.yaml:3: valksor.sse.bind: want a host name or IP address, not a URL or path, got "http://localhost"`, nil},
		{"a bad path is named as written", sseFile("path: /sse/"), nil,
			`valksor.yaml:3: valksor.sse.path: must not end with "/", got "/sse/"`, nil},
		{"a bad domain", sseFile("domain: https://app.example.com"), nil,
			`valksor.yaml:3: valksor.sse.domain: want a host name or IP address, not a URL or path, got "https://app.example.com"`, nil},
		{"a certificate without its key", sseFile("ssl_cert_path: a.crt"), nil,
			`valksor.yaml:3: valksor.sse.ssl_cert_path: tls.cert and tls.key (ssl_cert_path and ssl_key_path in the Symfony bundle's names) go together: set both, or neither`, nil},
		{"a placeholder names the variable of the key", sseFile("bind: '%env(SSE_BIND)%'"), nil,
			`~valksor.yaml:3: valksor.sse.bind: "%env(SSE_BIND)%" is a Symfony parameter, which only Symfony resolves, not valksor-sse; set the environment variable VALKSOR_SSE_HOST instead, e.g. VALKSOR_SSE_HOST="$SSE_BIND"`, nil},
		{"no variable of their own", "", []string{"VALKSOR_SSE_BIND=0.0.0.0"},
			"unknown environment variable VALKSOR_SSE_BIND: bind is the Symfony bundle's name for host, whose variable is VALKSOR_SSE_HOST", nil},
	}
	runLoadCases(t, tests)
}

// TestLoadWarn: for commands that do not run a server an unknown
// VALKSOR_SSE_* variable is a warning, not an error; everything else is
// as strict as in Load.
func TestLoadWarn(t *testing.T) {
	dir := t.TempDir()
	env := []string{"VALKSOR_SSE_PRT=9000", "VALKSOR_SSE_PORT=9001"}
	if _, err := config.Load(dir, "", env); err == nil || !strings.Contains(err.Error(), "unknown environment variable VALKSOR_SSE_PRT (did you mean VALKSOR_SSE_PORT?)") {
		t.Fatalf("Load: %v, want the unknown variable refused", err)
	}
	var warnings []string
	c, err := config.LoadWarn(dir, "", env, func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Port != 9001 {
		t.Errorf("port %d, want 9001 from VALKSOR_SSE_PORT", c.Server.Port)
	}
	want := "unknown environment variable VALKSOR_SSE_PRT (did you mean VALKSOR_SSE_PORT?); `valksor-sse config keys` lists every variable; ignored, as this command does not use it (serve and dev refuse to start with it)"
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings %q, want [%q]", warnings, want)
	}
	// A bad value of a known variable still stops it.
	if _, err := config.LoadWarn(dir, "", []string{"VALKSOR_SSE_PORT=eighty"}, func(string) {}); err == nil {
		t.Error("LoadWarn accepted VALKSOR_SSE_PORT=eighty")
	}
}
