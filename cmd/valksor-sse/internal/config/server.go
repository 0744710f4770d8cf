package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Server is where and how the server runs: its address, its paths and
// files, and what it logs.
type Server struct {
	// Host is the interface to listen on (key host, default "localhost").
	Host string
	// Port is the TCP port, 0 picks a free one (key port, default 8080).
	Port int
	// Domain is the host name browsers reach the server by, for the URLs
	// it prints, the self-signed certificate and the Symfony bundle's
	// certificate location (key domain, default "": the host name clients
	// on this machine use).
	Domain string
	// BasePath is the URL prefix of the endpoints, starting with "/" and not
	// ending with "/" (key base_path, default "/sse").
	BasePath string
	// Debug enables verbose logging (key debug, default false).
	Debug bool
	// LogFormat is "text" or "json" (key log_format, default "text").
	LogFormat string
	// Metrics serves Prometheus metrics at /metrics (key metrics, default true).
	Metrics bool
	// CORSOrigins lists the allowed browser origins (key cors_origins,
	// default the http and https localhost and 127.0.0.1 origins on any port).
	CORSOrigins []string
	// ShutdownTimeout bounds a graceful shutdown (key shutdown_timeout,
	// default 10s).
	ShutdownTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle between requests
	// (key idle_timeout, default 60s). Open streams are not idle.
	IdleTimeout time.Duration
	// ReadTimeout bounds reading a request's headers and body (key
	// read_timeout, default 10s). It does not apply to open streams.
	ReadTimeout time.Duration
	// PIDFile is the pid file path (key pid_file, default
	// "var/run/valksor-sse.pid").
	PIDFile string
	// SignalFile is the reload signal file path (key signal_file, default
	// "var/run/valksor-reload.signal").
	SignalFile string
}

func checkHost(c Config) string {
	if c.Server.Host == "" {
		return `must not be empty; use 0.0.0.0 or :: to listen on all interfaces`
	}
	return checkHostName(c.Server.Host)
}

// checkDomain allows an empty domain or a host name or IP address.
func checkDomain(c Config) string {
	if c.Server.Domain == "" {
		return ""
	}
	return checkHostName(c.Server.Domain)
}

// checkHostName wants a host name or IP address without port or brackets.
func checkHostName(h string) string {
	switch {
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
	p := c.Server.BasePath
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

func checkOrigins(c Config) string {
	for _, o := range c.Server.CORSOrigins {
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

func checkLogFormat(c Config) string {
	if c.Server.LogFormat != "text" && c.Server.LogFormat != "json" {
		return fmt.Sprintf(`want "text" or "json", got %q`, c.Server.LogFormat)
	}
	return ""
}

// checkFiles returns a check that the file key is set and differs from the
// other file keys listed before it in the table.
func checkFiles(name string) func(Config) string {
	return func(c Config) string {
		files := []struct{ name, path string }{
			{"token_file", c.Publish.TokenFile}, {"pid_file", c.Server.PIDFile}, {"signal_file", c.Server.SignalFile},
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
