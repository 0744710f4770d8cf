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

// Config is the complete server configuration, grouped by concern; each
// group's type, in the file named after it, has the checks of its keys
// next to it. The zero value is not useful; start from Default or Load.
type Config struct {
	// Enabled runs the server; false makes Load and Validate fail with
	// ErrDisabled (key enabled, default true).
	Enabled bool

	Server    Server
	Streams   Streams
	History   History
	Publish   Publish
	Assets    Assets
	Watch     Watch
	Dev       Dev
	Dashboard Dashboard
	Auth      Auth
	Limits    Limits
	TLS       TLS
	Mercure   Mercure

	// Source is the config file Load read, "" when none; it is not a key.
	Source string
}

// Default returns the built-in configuration: the PHP component's defaults
// plus ours.
// Every call returns fresh slices.
func Default() Config {
	return Config{
		Enabled: true,
		Server: Server{
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
		Streams: Streams{
			PingInterval:   30 * time.Second,
			MaxConnections: 100,
			Timeout:        300 * time.Second,
			QueueSize:      256,
			Retry:          2 * time.Second,
			WriteTimeout:   10 * time.Second,
			Topics:         []string{},
			MaxTopics:      100,
		},
		History:   History{Size: 1000, Transport: "memory", RedisPrefix: "valksor-sse"},
		Publish:   Publish{TokenFile: "var/run/valksor-sse.token", MaxBodyBytes: 1 << 20},
		Assets:    Assets{Dirs: []string{}, ImportMap: []string{}, Preload: []string{}},
		Watch:     Watch{Paths: []string{}, Ignore: []string{}, Rules: []string{}, Morph: true},
		Dev:       Dev{Listen: "localhost:3000", Cmd: []string{}, Morph: true},
		Dashboard: Dashboard{Enabled: true, Auto: true},
		Auth:      Auth{Cookie: "valksorSSEAuthorization", AnonymousSubscribe: true},
		Limits:    Limits{TrustedProxies: []string{}},
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
		if keys[i].alias != "" {
			continue // checked as the key it names
		}
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
