package config

import (
	"fmt"
	"strings"
)

// Dashboard is the live dashboard (the dashboard block).
type Dashboard struct {
	// Enabled serves the live dashboard (key dashboard.enabled). When the
	// key is not set, Auto is true and the command decides by the host: on
	// for a loopback host (a developer's machine), off otherwise (a
	// production config).
	Enabled bool
	// Auto reports that dashboard.enabled was not set, in the file or the
	// environment; it is not a key.
	Auto bool
	// Path is the dashboard's URL path (key dashboard.path); "" means
	// BasePath + "/_dashboard".
	Path string
}

// checkDashboardPath validates dashboard.path: a plain path like base_path,
// not one of the hub's endpoints.
func checkDashboardPath(c Config) string {
	p := c.Dashboard.Path
	if p == "" {
		return ""
	}
	if msg := checkBasePath(Config{Server: Server{BasePath: p}}); msg != "" {
		return msg
	}
	for _, taken := range []string{"", "/healthz", "/publish", "/ping", "/client.js", "/worker.js"} {
		if p == c.Server.BasePath+taken {
			return fmt.Sprintf("%q is an endpoint of the hub; choose another path, such as %s/_dashboard", p, c.Server.BasePath)
		}
	}
	if p == "/assets" || strings.HasPrefix(p, "/assets/") {
		return fmt.Sprintf("%q is under /assets/, where the asset mapper serves files; choose another path", p)
	}
	return ""
}
