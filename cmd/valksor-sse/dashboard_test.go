package main_test

import (
	"net/http"
	"strconv"
	"testing"
)

// TestDashboardOnlyOnLoopbackByDefault: without dashboard.enabled, a server
// that listens beyond this machine (a production config) serves no
// dashboard, one on localhost (a developer's) does, and the key overrides
// both.
func TestDashboardOnlyOnLoopbackByDefault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		env  []string
		host string
		want int
	}{
		{"localhost", nil, "localhost", http.StatusOK},
		{"all interfaces", nil, "0.0.0.0", http.StatusNotFound},
		{"all interfaces, enabled", []string{"VALKSOR_SSE_DASHBOARD_ENABLED=true"}, "0.0.0.0", http.StatusOK},
		{"localhost, disabled", []string{"VALKSOR_SSE_DASHBOARD_ENABLED=false"}, "localhost", http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startEnv(t, t.TempDir(), c.env, "--host", c.host, "--port", "0")
			resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(s.port) + "/sse/_dashboard")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("GET /sse/_dashboard: %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}
