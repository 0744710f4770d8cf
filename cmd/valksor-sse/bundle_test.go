package main_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/client"
)

// bundleConfig is a config/packages/valksor.yaml written for the Valksor
// bundle's code: its keys (bind, port, path, domain, ssl_cert_path,
// ssl_key_path), %kernel.project_dir% paths, other Valksor components and
// Symfony parameters the server ignores, and when@ blocks. %d is the port.
const bundleConfig = `framework:
    secret: '%%env(APP_SECRET)%%'

valksor:
    build:
        enabled: true
    sse:
        enabled: true
        bind: 127.0.0.1
        port: %d
        path: /realtime
        domain: app.localhost
        ssl_cert_path: '%%kernel.project_dir%%/var/ssl/server.crt'
        ssl_key_path: '%%kernel.project_dir%%/var/ssl/server.key'

when@dev:
    valksor:
        sse:
            ping_interval: 1

when@prod:
    valksor:
        sse:
            bind: 0.0.0.0
            port: 443
            ping_interval: 25
`

// TestBundleConfig runs the binary in a Symfony project whose config was
// written for the Valksor bundle: it serves the bundle's routes under its
// path, over TLS with the bundle's certificate paths, applies when@dev, and
// names the domain in the URL it prints. A css-update published there
// reaches a stream that, like the bundle's client, did not say it handles
// css-update, as a reload.
func TestBundleConfig(t *testing.T) {
	t.Parallel()
	project := t.TempDir()
	port := freePort(t)
	if err := os.MkdirAll(filepath.Join(project, "config", "packages"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "config", "packages", "valksor.yaml"), []byte(fmt.Sprintf(bundleConfig, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "composer.json"), []byte(`{"name": "acme/app"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sslDir := filepath.Join(project, "var", "ssl")
	if err := os.MkdirAll(sslDir, 0o755); err != nil {
		t.Fatal(err)
	}
	certFile, _ := writeCert(t, sslDir, "app.localhost")
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)

	s := startNoWaitEnv(t, project, []string{"APP_ENV=dev"})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("valksor-sse stderr:\n%s", s.stderr)
		}
	})
	m := s.awaitLog("the server to listen", listening)
	if got, want := m[0], fmt.Sprintf("valksor-sse listening on https://app.localhost:%d/", port); got != want {
		t.Errorf("the server says %q, want %q (the domain, TLS, the port of the file)", got, want)
	}
	if !strings.Contains(s.stderr.String(), fmt.Sprintf("https://app.localhost:%d/realtime", port)) {
		t.Errorf("the printed URL lacks the bundle's path:\n%s", s.stderr)
	}

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "app.localhost"}}}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	for _, c := range []struct {
		path   string
		status int
	}{{"/realtime/healthz", http.StatusOK}, {"/sse/healthz", http.StatusNotFound}} {
		resp, err := hc.Get(base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s: %s, want %d", c.path, resp.Status, c.status)
		}
	}

	// The stream at the bundle's path, as the bundle's client opens it:
	// no topic, no supports parameter.
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan client.Event, 100)
	connected := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub := &client.Subscriber{URL: base + "/realtime", HTTPClient: hc, MaxBackoff: 100 * time.Millisecond,
			OnConnect: func(*http.Response) { close(connected) }}
		_ = sub.Run(ctx, func(e client.Event) error { events <- e; return nil })
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not open")
	}
	expect(t, events, "ping") // when@dev: ping_interval 1

	// publish, run in the project, finds the server from the same file.
	out, errOut, code := prodRunEnv(t, project, []string{"APP_ENV=dev"}, "publish", "css-update", "--data", `{"files":["assets/app.css"]}`)
	if code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	if e := expect(t, events, "reload"); e.Data != `{"files":["assets/app.css"]}` {
		t.Errorf("reload data %s, want the css-update's", e.Data)
	}
}

// TestStrayVariable: an unknown VALKSOR_SSE_* variable is a warning for
// the commands that do not run a server, which go on; serve refuses to
// start, since a misspelt setting would change the server.
func TestStrayVariable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stray := []string{"VALKSOR_SSE_PRT=9000"}
	const warning = "valksor-sse: warning: unknown environment variable VALKSOR_SSE_PRT (did you mean VALKSOR_SSE_PORT?)"
	port := strconv.Itoa(freePort(t))
	for _, c := range []struct {
		args []string
		code int
		says string // what the command says besides the warning
	}{
		{[]string{"status", "--port", port}, 3, "not running"},
		{[]string{"publish", "reload", "--port", port}, 1, "no valksor-sse server answers"},
		{[]string{"stop", "--port", port}, 0, "not running"},
		{[]string{"token", "--publish", "*", "--key", strings.Repeat("k", 32)}, 0, "ey"},
	} {
		out, errOut, code := prodRunEnv(t, dir, stray, c.args...)
		if code != c.code || !strings.Contains(errOut, warning) || !strings.Contains(out+errOut, c.says) {
			t.Errorf("%q: exit %d, want %d with the warning and %q:\n%s%s", c.args, code, c.code, c.says, out, errOut)
		}
	}
	_, errOut, code := prodRunEnv(t, dir, stray, "serve", "--port", "0")
	if code != 1 || !strings.Contains(errOut, "valksor-sse: unknown environment variable VALKSOR_SSE_PRT (did you mean VALKSOR_SSE_PORT?); `valksor-sse config keys` lists every variable") || strings.Contains(errOut, "warning") {
		t.Errorf("serve: exit %d, want 1 refusing the variable:\n%s", code, errOut)
	}
	if strings.Count(errOut, "\n") > 1 {
		t.Errorf("serve: more than one line:\n%s", errOut)
	}
}
