package config_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/golden"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

// writeFile writes content to dir/name, creating parent directories.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sseFile returns a config file whose valksor.sse mapping holds lines (each
// indented by the caller-independent 8 spaces); the first line is line 3.
func sseFile(lines ...string) string {
	var b strings.Builder
	b.WriteString("valksor:\n    sse:\n")
	for _, l := range lines {
		b.WriteString("        " + l + "\n")
	}
	return b.String()
}

// loadYAML writes content as valksor.yaml in a fresh directory and loads it
// with env. Error messages are returned with the directory stripped, so they
// start with "valksor.yaml:".
func loadYAML(t *testing.T, content string, env ...string) (config.Config, string, error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "valksor.yaml", content)
	c, err := config.Load(dir, "", env)
	msg := ""
	if err != nil {
		msg = strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	}
	return c, msg, err
}

func TestLoadSeedFile(t *testing.T) {
	c, err := config.Load("testdata", "seed.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Source = filepath.Join("testdata", "seed.yaml")
	if !reflect.DeepEqual(c, want) {
		t.Errorf("seed file loads as\n%+v\nwant the defaults\n%+v", c, want)
	}
}

func TestLoadSymfonyFile(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "symfony.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, dir, "config/packages/valksor.yaml", string(b))
	c, err := config.Load(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Source = p
	want.Server.Host = "0.0.0.0"
	want.Server.Port = 3001
	want.Streams.PingInterval = 15 * time.Second
	want.Streams.MaxConnections = 0
	want.Streams.Timeout = 0
	want.Server.Debug = true
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Symfony file loads as\n%+v\nwant\n%+v", c, want)
	}
	// With APP_ENV=prod the when@prod block applies, as in Symfony.
	c, err = config.Load(dir, "", []string{"APP_ENV=prod"})
	if err != nil {
		t.Fatal(err)
	}
	want.Server.Debug = false
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Symfony file with APP_ENV=prod loads as\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadFileValues(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		check func(c config.Config) bool
	}{
		{"strings", []string{"host: 127.0.0.1", "base_path: /events", `publish_token: "s3cret"`, "token_file: run/token"},
			func(c config.Config) bool {
				return c.Server.Host == "127.0.0.1" && c.Server.BasePath == "/events" && c.Publish.Token == "s3cret" && c.Publish.TokenFile == "run/token"
			}},
		{"numeric token stays text", []string{"publish_token: 12345"}, func(c config.Config) bool { return c.Publish.Token == "12345" }},
		{"integers", []string{"port: 0", "max_connections: 5", "history_size: 0", "queue_size: 1", "max_body_bytes: 0x10"},
			func(c config.Config) bool {
				return c.Server.Port == 0 && c.Streams.MaxConnections == 5 && c.History.Size == 0 && c.Streams.QueueSize == 1 && c.Publish.MaxBodyBytes == 16
			}},
		{"quoted integer", []string{`port: "9000"`}, func(c config.Config) bool { return c.Server.Port == 9000 }},
		{"booleans", []string{"debug: yes", "allow_anonymous_publish: on"}, func(c config.Config) bool { return c.Server.Debug && c.Publish.Anonymous }},
		{"flow list", []string{`cors_origins: ["*"]`, "topics: [news, chat/*]"},
			func(c config.Config) bool {
				return slices.Equal(c.Server.CORSOrigins, []string{"*"}) && slices.Equal(c.Streams.Topics, []string{"news", "chat/*"})
			}},
		{"block list", []string{"topics:", "    - a", "    - b"}, func(c config.Config) bool { return slices.Equal(c.Streams.Topics, []string{"a", "b"}) }},
		{"comma string list", []string{"topics: a, b,,c"}, func(c config.Config) bool { return slices.Equal(c.Streams.Topics, []string{"a", "b", "c"}) }},
		{"empty list", []string{"cors_origins: []"}, func(c config.Config) bool { return c.Server.CORSOrigins != nil && len(c.Server.CORSOrigins) == 0 }},
		{"null keeps default", []string{"port: ~", "host:", "cors_origins: null"},
			func(c config.Config) bool {
				d := config.Default()
				return c.Server.Port == d.Server.Port && c.Server.Host == d.Server.Host && slices.Equal(c.Server.CORSOrigins, d.Server.CORSOrigins)
			}},
		{"enabled omitted", []string{"debug: false"}, func(c config.Config) bool { return c.Enabled }},
		{"anchors and merge keys", []string{"<<: {port: 9000, debug: true}", "port: 9001", "host: &h 127.0.0.1", "topics: [*h]"},
			func(c config.Config) bool {
				return c.Server.Port == 9001 && c.Server.Debug && c.Server.Host == "127.0.0.1" && slices.Equal(c.Streams.Topics, []string{"127.0.0.1"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadYAML(t, sseFile(tt.lines...))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config for %q:\n%+v", tt.lines, c)
			}
		})
	}
}

func TestLoadDurations(t *testing.T) {
	tests := []struct {
		name  string
		line  string // in the file; "" = none
		env   string // VAR=value; "" = none
		field func(c config.Config) time.Duration
		want  time.Duration
	}{
		{"ping seconds", "ping_interval: 45", "", func(c config.Config) time.Duration { return c.Streams.PingInterval }, 45 * time.Second},
		{"ping string", `ping_interval: "1m30s"`, "", func(c config.Config) time.Duration { return c.Streams.PingInterval }, 90 * time.Second},
		{"ping zero", "ping_interval: 0", "", func(c config.Config) time.Duration { return c.Streams.PingInterval }, 0},
		{"timeout ms string", "timeout: 500ms", "", func(c config.Config) time.Duration { return c.Streams.Timeout }, 500 * time.Millisecond},
		{"timeout quoted seconds", `timeout: "600"`, "", func(c config.Config) time.Duration { return c.Streams.Timeout }, 600 * time.Second},
		{"write seconds", "write_timeout: 3", "", func(c config.Config) time.Duration { return c.Streams.WriteTimeout }, 3 * time.Second},
		{"shutdown string", "shutdown_timeout: 1h", "", func(c config.Config) time.Duration { return c.Server.ShutdownTimeout }, time.Hour},
		{"retry milliseconds", "retry: 1500", "", func(c config.Config) time.Duration { return c.Streams.Retry }, 1500 * time.Millisecond},
		{"retry string", "retry: 3s", "", func(c config.Config) time.Duration { return c.Streams.Retry }, 3 * time.Second},
		{"env seconds", "", "VALKSOR_SSE_TIMEOUT=20", func(c config.Config) time.Duration { return c.Streams.Timeout }, 20 * time.Second},
		{"env string", "", "VALKSOR_SSE_PING_INTERVAL=2m", func(c config.Config) time.Duration { return c.Streams.PingInterval }, 2 * time.Minute},
		{"env retry milliseconds", "", "VALKSOR_SSE_RETRY=250", func(c config.Config) time.Duration { return c.Streams.Retry }, 250 * time.Millisecond},
		{"env retry string", "", "VALKSOR_SSE_RETRY=1s", func(c config.Config) time.Duration { return c.Streams.Retry }, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env []string
			if tt.env != "" {
				env = []string{tt.env}
			}
			content := ""
			if tt.line != "" {
				content = sseFile(tt.line)
			}
			c, _, err := loadYAML(t, content, env...)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.field(c); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	const durWant = `want a non-negative duration: a whole number of seconds (30) or a Go duration ("1m30s", "500ms")`
	tests := []struct {
		name    string
		content string
		want    string // the complete error message, or a substring when prefixed with "~"
	}{
		{"unknown key with suggestion", sseFile("port: 8080", "ping_interval: 30", "max_connections: 10", "timeout: 5", "pingg: 3"),
			"valksor.yaml:7: unknown key valksor.sse.pingg (did you mean ping_interval?); `valksor-sse config keys` lists every key"},
		{"unknown key case", sseFile("Port: 1"), "~valksor.yaml:3: unknown key valksor.sse.Port (did you mean port?); `valksor-sse config keys` lists every key"},
		{"unknown key dashes", sseFile("ping-interval: 1"), "~(did you mean ping_interval?)"},
		{"unknown key no suggestion", sseFile("xyzzy: 1"), "~valksor.yaml:3: unknown key valksor.sse.xyzzy; `valksor-sse config keys` lists every key"},
		{"port letters", sseFile("enabled: true", "host: localhost", "port: abc"), `valksor.yaml:5: valksor.sse.port: want an integer between 0 and 65535, got "abc"`},
		{"port range", sseFile("port: 70000"), `valksor.yaml:3: valksor.sse.port: want an integer between 0 and 65535, got "70000"`},
		{"port negative", sseFile("port: -1"), `valksor.yaml:3: valksor.sse.port: want an integer between 0 and 65535, got "-1"`},
		{"port float", sseFile("port: 80.5"), `valksor.yaml:3: valksor.sse.port: want an integer between 0 and 65535, got "80.5"`},
		{"port list", sseFile("port: [1]"), `valksor.yaml:3: valksor.sse.port: want an integer between 0 and 65535, got a list`},
		{"port huge", sseFile("port: 99999999999999999999"), `~valksor.yaml:3: valksor.sse.port: want an integer between 0 and 65535`},
		{"max connections bool", sseFile("max_connections: true"), `valksor.yaml:3: valksor.sse.max_connections: want a non-negative integer, got "true"`},
		{"queue size zero", sseFile("queue_size: 0"), `valksor.yaml:3: valksor.sse.queue_size: want an integer >= 1, got "0"`},
		{"enabled word", sseFile("enabled: maybe"), `valksor.yaml:3: valksor.sse.enabled: want a boolean (true or false), got "maybe"`},
		{"debug mapping", sseFile("debug: {a: 1}"), `valksor.yaml:3: valksor.sse.debug: want a boolean (true or false), got a mapping`},
		{"debug float", sseFile("debug: 1.0"), `valksor.yaml:3: valksor.sse.debug: want a boolean (true or false), got "1.0"`},
		{"host list", sseFile("host: [a, b]"), `valksor.yaml:3: valksor.sse.host: want a string, got a list`},
		{"ping letters", sseFile("ping_interval: soon"), `valksor.yaml:3: valksor.sse.ping_interval: ` + durWant + `, got "soon"`},
		{"ping negative", sseFile("ping_interval: -1"), `valksor.yaml:3: valksor.sse.ping_interval: ` + durWant + `, got "-1"`},
		{"timeout negative string", sseFile("timeout: -5s"), `valksor.yaml:3: valksor.sse.timeout: ` + durWant + `, got "-5s"`},
		{"timeout float", sseFile("timeout: 1.5"), `valksor.yaml:3: valksor.sse.timeout: ` + durWant + `, got "1.5"`},
		{"timeout overflow", sseFile("timeout: 9999999999999"), `~valksor.yaml:3: valksor.sse.timeout: want a non-negative duration`},
		{"write timeout zero", sseFile("write_timeout: 0"), `~valksor.yaml:3: valksor.sse.write_timeout: want a positive duration: a whole number of seconds`},
		{"retry negative", sseFile("retry: -5ms"), `valksor.yaml:3: valksor.sse.retry: want a non-negative duration: a whole number of milliseconds (2000) or a Go duration ("2s", "500ms"), got "-5ms"`},
		{"origins mapping", sseFile("cors_origins: {a: b}"), `valksor.yaml:3: valksor.sse.cors_origins: want a list of strings (or one comma-separated string), got a mapping`},
		{"topics nested", sseFile("topics:", "    - a", "    - [b]"), `valksor.yaml:5: valksor.sse.topics: item 2: want a string, got a list`},
		{"topics null item", sseFile("topics: [a, ~]"), `valksor.yaml:3: valksor.sse.topics: item 2: want a string, got null`},
		{"duplicate key", sseFile("port: 1", "debug: true", "port: 2"), `valksor.yaml:5: duplicate key valksor.sse.port (first set on line 3); remove one of them`},
		{"several problems", sseFile("port: x", "nope: 1"), "~valksor.yaml:3: valksor.sse.port: want an integer between 0 and 65535, got \"x\"\nvalksor.yaml:4: unknown key valksor.sse.nope;"},
		{"validation with line", sseFile("debug: true", "base_path: sse"), `valksor.yaml:4: valksor.sse.base_path: must start with "/", got "sse"`},
		{"cross-field with line", sseFile("pid_file: a.pid", "signal_file: a.pid"), `valksor.yaml:4: valksor.sse.signal_file: must differ from pid_file (both are "a.pid")`},
		{"sse not a mapping", "valksor:\n    sse: [1]\n", "valksor.yaml:2: valksor.sse: want a mapping, got a list"},
		{"valksor not a mapping", "valksor: 5\n", `valksor.yaml:1: valksor: want a mapping, got "5"`},
		{"top level list", "- valksor\n", "valksor.yaml:1: want a mapping at the top level (valksor: sse: ...), got a list"},
		{"duplicate sse", "valksor:\n    sse: {}\n    sse: {}\n", "valksor.yaml:3: duplicate key valksor.sse (first set on line 2); remove one of them"},
		{"malformed", "valksor:\n  sse:\n    port: [1\n", "~valksor.yaml:"},
		{"malformed tab", "valksor:\n\tsse: {}\n", "~valksor.yaml:2: invalid YAML: "},
		{"second document", "valksor: {}\n---\nvalksor: {sse: {port: 1}}\n", "valksor.yaml:2: a second YAML document starts here; put all settings in one document"},
		{"bad merge", sseFile("<<: 5"), `valksor.yaml:3: a merge key (<<) wants a mapping or a list of mappings, got "5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, msg, err := loadYAML(t, tt.content)
			if err == nil {
				t.Fatalf("Load succeeded, want an error")
			}
			checkMessage(t, msg, tt.want)
			if errors.Is(err, config.ErrDisabled) {
				t.Error("error wraps ErrDisabled")
			}
		})
	}
}

func TestLoadErrorsGolden(t *testing.T) {
	_, err := config.Load("testdata", "bad.yaml", []string{"VALKSOR_SSE_PORT=http", "VALKSOR_SSE_PINGINTERVAL=5"})
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	golden.Check(t, "bad.golden", []byte(err.Error()+"\n"))
}

func TestLoadEmptyFiles(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"comments only", "# nothing here\n"},
		{"null document", "~\n"},
		{"other components only", "framework: {secret: x}\nvalksor:\n    build: {enabled: true}\n"},
		{"null valksor", "valksor:\n"},
		{"null sse", "valksor:\n    sse: ~\n"},
		{"empty sse", "valksor:\n    sse: {}\n"},
		{"trailing document marker", "valksor: {}\n---\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "valksor.yaml", tt.content)
			c, err := config.Load(dir, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			want := config.Default()
			want.Source = p
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got\n%+v\nwant the defaults", c)
			}
		})
	}
}

func TestLoadDisabled(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" = no file
		env     []string
		want    string // "" = no error
	}{
		{"file", sseFile("port: 8080", "enabled: false"),
			nil, "valksor.yaml:4: valksor.sse.enabled is false: the SSE server is disabled in this config; set it to true (or remove the key) to run it"},
		{"env", "", []string{"VALKSOR_SSE_ENABLED=no"},
			"environment variable VALKSOR_SSE_ENABLED: valksor.sse.enabled is false: the SSE server is disabled by the environment; set it to true (or unset the variable) to run it"},
		{"env re-enables", sseFile("enabled: false"), []string{"VALKSOR_SSE_ENABLED=1"}, ""},
		{"enabled true", sseFile("enabled: true"), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, msg, err := loadYAML(t, tt.content, tt.env...)
			if tt.want == "" {
				if err != nil || !c.Enabled {
					t.Fatalf("Load = %+v, %v; want enabled", c, err)
				}
				return
			}
			if !errors.Is(err, config.ErrDisabled) {
				t.Fatalf("Load error = %v, want ErrDisabled", err)
			}
			if msg != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", msg, tt.want)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	file := sseFile("host: 0.0.0.0", "port: 3001", "debug: true", "topics: [a]")
	tests := []struct {
		name  string
		env   []string
		check func(c config.Config) bool
	}{
		{"file only", nil, func(c config.Config) bool {
			return c.Server.Port == 3001 && c.Server.Host == "0.0.0.0" && c.Server.Debug
		}},
		{"env overrides file", []string{"VALKSOR_SSE_PORT=4000", "VALKSOR_SSE_DEBUG=false"},
			func(c config.Config) bool {
				return c.Server.Port == 4000 && !c.Server.Debug && c.Server.Host == "0.0.0.0"
			}},
		{"env overrides defaults", []string{"VALKSOR_SSE_QUEUE_SIZE=8", "VALKSOR_SSE_MAX_BODY_BYTES=2048", "VALKSOR_SSE_PUBLISH_TOKEN=tok"},
			func(c config.Config) bool {
				return c.Streams.QueueSize == 8 && c.Publish.MaxBodyBytes == 2048 && c.Publish.Token == "tok"
			}},
		{"lists", []string{"VALKSOR_SSE_CORS_ORIGINS=https://a.example, https://b.example:8443", "VALKSOR_SSE_TOPICS=x,y/*"},
			func(c config.Config) bool {
				return slices.Equal(c.Server.CORSOrigins, []string{"https://a.example", "https://b.example:8443"}) && slices.Equal(c.Streams.Topics, []string{"x", "y/*"})
			}},
		{"empty list", []string{"VALKSOR_SSE_TOPICS="}, func(c config.Config) bool { return c.Streams.Topics != nil && len(c.Streams.Topics) == 0 }},
		{"empty scalar is unset", []string{"VALKSOR_SSE_PORT=", "VALKSOR_SSE_HOST="}, func(c config.Config) bool { return c.Server.Port == 3001 && c.Server.Host == "0.0.0.0" }},
		{"booleans", []string{"VALKSOR_SSE_DEBUG=0", "VALKSOR_SSE_ALLOW_ANONYMOUS_PUBLISH=YES"}, func(c config.Config) bool { return !c.Server.Debug && c.Publish.Anonymous }},
		{"last wins", []string{"VALKSOR_SSE_PORT=1", "VALKSOR_SSE_PORT=2"}, func(c config.Config) bool { return c.Server.Port == 2 }},
		{"reserved and foreign ignored", []string{"VALKSOR_SSE_CONFIG=/etc/x.yaml", "VALKSOR_OTHER=1", "PATH=/bin", "NOEQUALS"},
			func(c config.Config) bool { return c.Server.Port == 3001 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadYAML(t, file, tt.env...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config for %q:\n%+v", tt.env, c)
			}
		})
	}
}

func TestLoadEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want string // the complete message, or a substring when prefixed with "~"
	}{
		{"bad int", "VALKSOR_SSE_PORT=abc", `environment variable VALKSOR_SSE_PORT: want an integer between 0 and 65535, got "abc"`},
		{"bad bool", "VALKSOR_SSE_DEBUG=maybe", `environment variable VALKSOR_SSE_DEBUG: want a boolean (true or false), got "maybe"`},
		{"bad duration", "VALKSOR_SSE_TIMEOUT=-1s", `~environment variable VALKSOR_SSE_TIMEOUT: want a non-negative duration`},
		{"bad retry", "VALKSOR_SSE_RETRY=fast", `~environment variable VALKSOR_SSE_RETRY: want a non-negative duration: a whole number of milliseconds`},
		{"validation names the variable", "VALKSOR_SSE_BASE_PATH=sse/", `environment variable VALKSOR_SSE_BASE_PATH: valksor.sse.base_path: must start with "/", got "sse/"`},
		{"unknown with suggestion", "VALKSOR_SSE_PROT=1", "unknown environment variable VALKSOR_SSE_PROT (did you mean VALKSOR_SSE_PORT?); `valksor-sse config keys` lists every variable"},
		{"unknown long", "VALKSOR_SSE_PINGINTERVAL=1", "~unknown environment variable VALKSOR_SSE_PINGINTERVAL (did you mean VALKSOR_SSE_PING_INTERVAL?)"},
		{"unknown without suggestion", "VALKSOR_SSE_FOO=1", "unknown environment variable VALKSOR_SSE_FOO; `valksor-sse config keys` lists every variable"},
		{"unknown empty", "VALKSOR_SSE_BOGUS=", "~unknown environment variable VALKSOR_SSE_BOGUS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(t.TempDir(), "", []string{tt.env})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if sub, ok := strings.CutPrefix(tt.want, "~"); ok {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error:\n%s\nwant it to contain:\n%s", err, sub)
				}
			} else if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestLoadReservedEnvExtension(t *testing.T) {
	saved := slices.Clone(config.ReservedEnv)
	t.Cleanup(func() { config.ReservedEnv = saved })
	env := []string{"VALKSOR_SSE_SOME_COMMAND_VARIABLE=1"}
	if _, err := config.Load(t.TempDir(), "", env); err == nil {
		t.Fatal("unknown variable accepted before it was reserved")
	}
	config.ReservedEnv = append(config.ReservedEnv, "VALKSOR_SSE_SOME_COMMAND_VARIABLE")
	if !config.IsReserved("VALKSOR_SSE_SOME_COMMAND_VARIABLE") {
		t.Error("IsReserved does not see the appended name")
	}
	if _, err := config.Load(t.TempDir(), "", env); err != nil {
		t.Errorf("reserved variable rejected: %v", err)
	}
}

func TestLoadLookup(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string // relative path -> content
		path       string            // explicit path argument
		wantSource string            // relative to dir; "" = none
		wantPort   int
		wantErr    string
	}{
		{"no file", nil, "", "", 8080, ""},
		{"root file", map[string]string{"valksor.yaml": sseFile("port: 1")}, "", "valksor.yaml", 1, ""},
		{"symfony file", map[string]string{"config/packages/valksor.yaml": sseFile("port: 2")}, "", "config/packages/valksor.yaml", 2, ""},
		{"root file wins", map[string]string{"valksor.yaml": sseFile("port: 1"), "config/packages/valksor.yaml": sseFile("port: 2")}, "", "valksor.yaml", 1, ""},
		{"explicit relative to dir", map[string]string{"valksor.yaml": sseFile("port: 1"), "etc/sse.yaml": sseFile("port: 3")}, "etc/sse.yaml", "etc/sse.yaml", 3, ""},
		{"explicit missing", map[string]string{"valksor.yaml": sseFile("port: 1")}, "missing.yaml", "", 0, "missing.yaml does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, dir, name, content)
			}
			c, err := config.Load(dir, tt.path, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want one containing %q", err, tt.wantErr)
				}
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("error %v does not wrap fs.ErrNotExist", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantSource := ""
			if tt.wantSource != "" {
				wantSource = filepath.Join(dir, filepath.FromSlash(tt.wantSource))
			}
			if c.Source != wantSource || c.Server.Port != tt.wantPort {
				t.Errorf("Source, Port = %q, %d; want %q, %d", c.Source, c.Server.Port, wantSource, tt.wantPort)
			}
		})
	}

	t.Run("explicit absolute", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "x.yaml", sseFile("port: 4"))
		c, err := config.Load(t.TempDir(), p, nil)
		if err != nil || c.Server.Port != 4 || c.Source != p {
			t.Errorf("Load = %+v, %v", c, err)
		}
	})
}

func TestLoadUnreadable(t *testing.T) {
	t.Run("directory in place of the file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "valksor.yaml"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "config/packages/valksor.yaml", sseFile("port: 2"))
		_, err := config.Load(dir, "", nil)
		if err == nil || !strings.Contains(err.Error(), "valksor.yaml") {
			t.Errorf("Load error = %v, want one naming the unreadable file", err)
		}
	})
	t.Run("no permission", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root can read any file")
		}
		dir := t.TempDir()
		p := writeFile(t, dir, "valksor.yaml", sseFile("port: 1"))
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(dir, "", nil)
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Load error = %v, want a permission error", err)
		}
	})
}

func TestBlocks(t *testing.T) {
	dir := t.TempDir()
	yaml := "valksor:\n  sse:\n    watch:\n      paths: [templates, assets]\n      rules: ['*.go=restart']\n      poll: true\n      debounce: 20\n      morph: false\n    dev:\n      proxy: http://localhost:8000\n      cmd: [go run ./app]\n"
	if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(dir, "", []string{"VALKSOR_SSE_WATCH_IGNORE=*.log,tmp", "VALKSOR_SSE_DEV_MORPH=false"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%v %v %v %v %v %v %v %v %v", c.Watch.Paths, c.Watch.Rules, c.Watch.Poll, c.Watch.Debounce, c.Watch.Ignore, c.Watch.Morph, c.Dev.Proxy, c.Dev.Cmd, c.Dev.Morph) != "[templates assets] [*.go=restart] true 20ms [*.log tmp] false http://localhost:8000 [go run ./app] false" {
		t.Fatalf("got %+v", c)
	}
	// The dashboard block.
	if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte("valksor:\n  sse:\n    dashboard:\n      enabled: false\n      path: /admin/live\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := config.Load(dir, "", nil); err != nil || c.Dashboard.Enabled || c.Dashboard.Path != "/admin/live" {
		t.Fatalf("dashboard block: %v %v %q", err, c.Dashboard.Enabled, c.Dashboard.Path)
	}
	if c, err := config.Load(dir, "", []string{"VALKSOR_SSE_DASHBOARD_ENABLED=true", "VALKSOR_SSE_DASHBOARD_PATH=/live"}); err != nil || !c.Dashboard.Enabled || c.Dashboard.Path != "/live" {
		t.Fatalf("dashboard environment: %v %v %q", err, c.Dashboard.Enabled, c.Dashboard.Path)
	}
	for _, bad := range []struct{ yaml, says string }{
		{"valksor:\n  sse:\n    watch:\n      pathz: [a]\n", "unknown key valksor.sse.watch.pathz"},
		{"valksor:\n  sse:\n    watch: templates\n", "want a block of keys"},
		{"valksor:\n  sse:\n    watch:\n      rules: ['*.go=rebuild']\n", "rebuild"},
		{"valksor:\n  sse:\n    dashboard:\n      pathh: /x\n", "unknown key valksor.sse.dashboard.pathh"},
		{"valksor:\n  sse:\n    dashboard: true\n", "want a block of keys (enabled, path)"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(bad.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(dir, "", nil); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%q: error %v, want it to mention %q", bad.yaml, err, bad.says)
		}
	}
}

// TestMercureBlock reads the mercure block from the file and the
// environment, and refuses its unknown keys.
func TestMercureBlock(t *testing.T) {
	dir := t.TempDir()
	const secret = "!ChangeThisMercureHubJWTSecretKey!"
	yaml := "valksor:\n  sse:\n    mercure:\n      enabled: true\n      publisher_key: '" + secret + "'\n      anonymous: true\n      subscriptions: true\n      audience: https://example.com/.well-known/mercure\n"
	if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(dir, "", nil)
	if err != nil || !c.Mercure.Enabled || c.Mercure.PublisherKey != secret || !c.Mercure.Anonymous || !c.Mercure.Subscriptions || c.Mercure.Audience != "https://example.com/.well-known/mercure" {
		t.Fatalf("mercure block: %v %+v", err, c)
	}
	env := []string{"VALKSOR_SSE_MERCURE_PUBLISHER_KEY=file:/etc/mercure.pem", "VALKSOR_SSE_MERCURE_SUBSCRIBER_KEY=" + secret + "-sub", "VALKSOR_SSE_MERCURE_ALGORITHM=RS256", "VALKSOR_SSE_MERCURE_ANONYMOUS=false", "VALKSOR_SSE_MERCURE_ISSUER=https://auth.example"}
	c, err = config.Load(dir, "", env)
	if err != nil || c.Mercure.PublisherKey != "file:/etc/mercure.pem" || c.Mercure.SubscriberKey != secret+"-sub" || c.Mercure.Algorithm != "RS256" || c.Mercure.Anonymous || c.Mercure.Issuer != "https://auth.example" {
		t.Fatalf("mercure environment: %v %+v", err, c)
	}
	for _, bad := range []struct{ yaml, says string }{
		{"valksor:\n  sse:\n    mercure:\n      publisher: x\n", "unknown key valksor.sse.mercure.publisher (did you mean mercure.publisher_key?)"},
		{"valksor:\n  sse:\n    mercure: true\n", "want a block of keys (enabled, publisher_key,"},
		{"valksor:\n  sse:\n    mercure:\n      enabled: true\n", "valksor.sse.mercure.enabled: true needs mercure.publisher_key"},
		{"valksor:\n  sse:\n    mercure:\n      publisher_key: short\n", "valksor.sse.mercure.publisher_key: an HMAC secret must be at least 32 bytes"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(bad.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(dir, "", nil); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%q: error %v, want it to mention %q", bad.yaml, err, bad.says)
		}
	}
}

func TestDashboardAuto(t *testing.T) {
	dir := t.TempDir()
	if c, err := config.Load(dir, "", nil); err != nil || !c.Dashboard.Auto {
		t.Fatalf("no setting: DashboardAuto %v (%v), want true", c.Dashboard.Auto, err)
	}
	if c, err := config.Load(dir, "", []string{"VALKSOR_SSE_DASHBOARD_ENABLED=true"}); err != nil || c.Dashboard.Auto || !c.Dashboard.Enabled {
		t.Fatalf("set in the environment: auto %v enabled %v (%v)", c.Dashboard.Auto, c.Dashboard.Enabled, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte("valksor:\n  sse:\n    dashboard:\n      enabled: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := config.Load(dir, "", nil); err != nil || c.Dashboard.Auto || c.Dashboard.Enabled {
		t.Fatalf("set in the file: auto %v enabled %v (%v)", c.Dashboard.Auto, c.Dashboard.Enabled, err)
	}
}

func TestLoadSymfonyPlaceholders(t *testing.T) {
	const hint = "is a Symfony parameter, which only Symfony resolves, not valksor-sse; set the environment variable "
	tests := []loadCase{
		{"int port", sseFile("port: '%env(int:SSE_PORT)%'"), nil,
			`valksor.yaml:3: valksor.sse.port: "%env(int:SSE_PORT)%" ` + hint + `VALKSOR_SSE_PORT instead, e.g. VALKSOR_SSE_PORT="$SSE_PORT" (it overrides this value, which is then ignored), or write the value itself here`, nil},
		{"string key", sseFile("publish_token: '%env(SSE_TOKEN)%'"), nil,
			`valksor.yaml:3: valksor.sse.publish_token: "%env(SSE_TOKEN)%" ` + hint + `VALKSOR_SSE_PUBLISH_TOKEN instead, e.g. VALKSOR_SSE_PUBLISH_TOKEN="$SSE_TOKEN" (it overrides this value, which is then ignored), or write the value itself here`, nil},
		{"processors and default", sseFile("debug: '%env(default:sse_debug:bool:SSE_DEBUG)%'"), nil,
			`~VALKSOR_SSE_DEBUG instead, e.g. VALKSOR_SSE_DEBUG="$SSE_DEBUG"`, nil},
		{"inside a value", sseFile("transport: 'redis://%env(REDIS_HOST)%:6379/0'"), nil,
			`~valksor.yaml:3: valksor.sse.transport: "%env(REDIS_HOST)%" ` + hint + "VALKSOR_SSE_TRANSPORT instead", nil},
		{"list item", sseFile("cors_origins:", "    - https://a.example", "    - '%env(APP_ORIGIN)%'"), nil,
			`~valksor.yaml:5: valksor.sse.cors_origins: "%env(APP_ORIGIN)%" ` + hint + "VALKSOR_SSE_CORS_ORIGINS instead", nil},
		{"block key", sseFile("auth:", "    publisher_key: '%env(JWT_SECRET)%'"), nil,
			`~valksor.yaml:4: valksor.sse.auth.publisher_key: "%env(JWT_SECRET)%" ` + hint + "VALKSOR_SSE_AUTH_PUBLISHER_KEY instead", nil},
		{"every one reported", sseFile("host: '%env(SSE_HOST)%'", "port: '%env(int:SSE_PORT)%'"), nil,
			"~valksor.yaml:3: valksor.sse.host: \"%env(SSE_HOST)%\" " + hint + "VALKSOR_SSE_HOST instead, e.g. VALKSOR_SSE_HOST=\"$SSE_HOST\" (it overrides this value, which is then ignored), or write the value itself here\nvalksor.yaml:4: valksor.sse.port:", nil},
		{"container parameter", sseFile("signal_file: '%kernel.debug%/var/run/valksor-reload.signal'"), nil,
			`valksor.yaml:3: valksor.sse.signal_file: "%kernel.debug%" ` + hint + `VALKSOR_SSE_SIGNAL_FILE instead (it overrides this value, which is then ignored), or write the value itself here`, nil},
		{"project dir outside a project", sseFile("signal_file: '%kernel.project_dir%/var/run/valksor-reload.signal'"), nil,
			`valksor.yaml:3: valksor.sse.signal_file: "%kernel.project_dir%" is resolved only in a Symfony project, and valksor.yaml is in none (no composer.json at or above it, and not in a config directory); set the environment variable VALKSOR_SSE_SIGNAL_FILE instead (it overrides this value, which is then ignored), or write the path itself here`, nil},
		{"%% is not a parameter", sseFile("publish_token: 'fifty%%off'"), nil,
			"", func(c config.Config) bool { return c.Publish.Token == "fifty%%off" }},
		{"the variable set overrides it", sseFile("port: '%env(int:SSE_PORT)%'", "debug: true"), []string{"VALKSOR_SSE_PORT=9001"},
			"", func(c config.Config) bool { return c.Server.Port == 9001 && c.Server.Debug }},
		{"an empty variable does not", sseFile("port: '%env(int:SSE_PORT)%'"), []string{"VALKSOR_SSE_PORT="},
			"~valksor.yaml:3: valksor.sse.port: \"%env(int:SSE_PORT)%\"", nil},
		{"an empty list variable does", sseFile("topics: ['%env(SSE_TOPICS)%']"), []string{"VALKSOR_SSE_TOPICS="},
			"", func(c config.Config) bool { return c.Streams.Topics != nil && len(c.Streams.Topics) == 0 }},
		{"no example for the same name", sseFile("port: '%env(VALKSOR_SSE_PORT)%'"), nil,
			`valksor.yaml:3: valksor.sse.port: "%env(VALKSOR_SSE_PORT)%" ` + hint + `VALKSOR_SSE_PORT instead (it overrides this value, which is then ignored), or write the value itself here`, nil},
		{"a lone percent sign is a value", sseFile(`publish_token: "100%-sure"`), nil,
			"", func(c config.Config) bool { return c.Publish.Token == "100%-sure" }},
		{"%name% inside a value is a parameter, as in Symfony", sseFile(`publish_token: "100%sure%"`), nil,
			`~valksor.yaml:3: valksor.sse.publish_token: "%sure%" ` + hint, nil},
	}
	runLoadCases(t, tests)
}

func TestLoadWhenBlocks(t *testing.T) {
	file := "framework:\n    secret: x\n" + sseFile("port: 3001", "debug: true", "topics: [a, b]") +
		"when@dev:\n    valksor:\n        sse:\n            port: 3002\n" +
		"when@prod:\n    framework: {secret: y}\n    valksor:\n        sse:\n            debug: false\n            topics: [c]\n            watch:\n                poll: true\n" +
		"when@test:\n    valksor:\n        sse:\n            port: nonsense\n"
	tests := []struct {
		name  string
		env   []string
		check func(c config.Config) bool
	}{
		{"no APP_ENV: base only", nil, func(c config.Config) bool {
			return c.Server.Port == 3001 && c.Server.Debug && slices.Equal(c.Streams.Topics, []string{"a", "b"}) && !c.Watch.Poll
		}},
		{"dev", []string{"APP_ENV=dev"}, func(c config.Config) bool { return c.Server.Port == 3002 && c.Server.Debug }},
		{"prod overrides and replaces lists", []string{"APP_ENV=prod"}, func(c config.Config) bool {
			return c.Server.Port == 3001 && !c.Server.Debug && slices.Equal(c.Streams.Topics, []string{"c"}) && c.Watch.Poll
		}},
		{"no block for the environment", []string{"APP_ENV=staging"}, func(c config.Config) bool { return c.Server.Port == 3001 && c.Server.Debug }},
		{"empty APP_ENV", []string{"APP_ENV="}, func(c config.Config) bool { return c.Server.Port == 3001 }},
		{"variables override the block", []string{"APP_ENV=dev", "VALKSOR_SSE_PORT=4000"}, func(c config.Config) bool { return c.Server.Port == 4000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadYAML(t, file, tt.env...)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config for %q:\n%+v", tt.env, c)
			}
		})
	}

	errTests := []struct {
		name, content string
		env           []string
		want          string
	}{
		{"error in the active block", file, []string{"APP_ENV=test"},
			`valksor.yaml:23: valksor.sse.port: want an integer between 0 and 65535, got "nonsense"`},
		{"block without base", "when@prod:\n    valksor:\n        sse:\n            enabled: false\n", []string{"APP_ENV=prod"},
			"valksor.yaml:4: valksor.sse.enabled is false: the SSE server is disabled in this config; set it to true (or remove the key) to run it"},
		{"block not a mapping", "when@prod: [1]\n", []string{"APP_ENV=prod"}, "valksor.yaml:1: when@prod: want a mapping, got a list"},
		{"sse in block not a mapping", "when@prod:\n    valksor:\n        sse: 5\n", []string{"APP_ENV=prod"}, `valksor.yaml:3: when@prod.valksor.sse: want a mapping, got "5"`},
		{"placeholder in the block", "when@prod:\n    valksor:\n        sse:\n            port: '%env(int:SSE_PORT)%'\n", []string{"APP_ENV=prod"},
			`valksor.yaml:4: valksor.sse.port: "%env(int:SSE_PORT)%" is a Symfony parameter`},
		{"duplicate key in the block", "when@prod:\n    valksor:\n        sse:\n            port: 1\n            port: 2\n", []string{"APP_ENV=prod"},
			"valksor.yaml:5: duplicate key valksor.sse.port (first set on line 4); remove one of them"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, msg, err := loadYAML(t, tt.content, tt.env...)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !strings.HasPrefix(msg, tt.want) {
				t.Errorf("error:\n%s\nwant it to start with:\n%s", msg, tt.want)
			}
		})
	}
}

// checkMessage compares an error message with want: equal, or, when want
// starts with "~", containing the rest.
func checkMessage(t *testing.T, msg, want string) {
	t.Helper()
	if sub, ok := strings.CutPrefix(want, "~"); ok {
		if !strings.Contains(msg, sub) {
			t.Errorf("error:\n%s\nwant it to contain:\n%s", msg, sub)
		}
	} else if msg != want {
		t.Errorf("error:\n%s\nwant:\n%s", msg, want)
	}
}

// loadCase is a config file (and environment) that loads, checked by
// check, or fails with want: the complete message, or a part of it after
// "~" (see checkMessage).
type loadCase struct {
	name    string
	content string
	env     []string
	want    string // "" = loads
	check   func(c config.Config) bool
}

// runLoadCases loads each case in a subtest and checks its outcome.
func runLoadCases(t *testing.T, tests []loadCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, msg, err := loadYAML(t, tt.content, tt.env...)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !tt.check(c) {
					t.Errorf("unexpected config:\n%+v", c)
				}
				return
			}
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			checkMessage(t, msg, tt.want)
		})
	}
}
