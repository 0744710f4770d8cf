package e2e_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/proctest"
)

// TestSymfonyExample follows examples/symfony/README.md in copies of the
// example, with the server on a free port instead of 8080 (the page's meta
// tags and import map say that port, as the Twig functions would) and the
// page on a free one instead of 8000:
//
//   - dev: APP_ENV=dev valksor-sse finds config/packages/valksor.yaml,
//     reads the bundle's bind, path and domain, resolves the pid and token
//     files under %kernel.project_dir% to the project, and applies
//     when@dev; /sse/healthz answers (the README's curl); the page,
//     served by python3 -m http.server, connects through its meta tags
//     and import map; the README's publish commands show a message in the
//     page, then reload it; a saved page and a saved stylesheet show in
//     place (the watch of when@dev).
//   - prod: the README's openssl makes a certificate where when@prod's
//     ssl_cert_path and ssl_key_path say; APP_ENV=prod valksor-sse then
//     serves HTTPS and HTTP/2 on every interface, names the domain in its
//     URL, logs JSON, serves no dashboard, and lets only
//     https://example.com pages read the stream; the README's curl checks
//     the health over HTTPS.
func TestSymfonyExample(t *testing.T) {
	blocks := docBlocks(t, "examples/symfony/README.md", 7)
	const dir = "examples/symfony"
	start, health, serve, publish, cert, prod, prodHealth := docCommands(t, blocks[0], dir), docCommands(t, blocks[1], dir),
		docCommands(t, blocks[2], dir), docCommands(t, blocks[3], dir), docCommands(t, blocks[4], dir), docCommands(t, blocks[5], dir), docCommands(t, blocks[6], dir)
	if len(start) != 1 || len(health) != 1 || len(serve) != 1 || len(publish) != 2 || len(cert) != 2 || len(prod) != 1 || len(prodHealth) != 1 {
		t.Fatalf("the README's blocks have the commands %q, %q, %q, %q, %q, %q, %q; want 1, 1, 1, 2, 2, 1 and 1", start, health, serve, publish, cert, prod, prodHealth)
	}

	t.Run("dev", func(t *testing.T) {
		needChromium(t)
		needCommand(t, "curl")
		project := copyExample(t, "symfony")
		_, port, _ := net.SplitHostPort(freeAddr(t))
		// What the Twig functions render: the server's port.
		page := filepath.Join(project, "public", "index.html")
		editFile(t, page, `http://localhost:8080/sse/client.js`, `http://127.0.0.1:`+port+`/sse/client.js`)
		editFile(t, page, `<meta name="valksor-sse-port" content="8080">`, `<meta name="valksor-sse-port" content="`+port+`">`)

		env, args := valksorCommand(t, start[0])
		if !reflect.DeepEqual(env, []string{"APP_ENV=dev"}) || len(args) != 0 {
			t.Fatalf("the README starts the server with %q", start[0])
		}
		srv := startProc(t, project, append(env, "VALKSOR_SSE_PORT="+port), serveListening, args...)
		srv.waitLog("the config file", "config=config/packages/valksor.yaml", 10*time.Second)
		// bind, path and domain: the listening line names the domain and the
		// path, and the server listens on bind's address.
		srv.waitLog("the URL of domain and path", "valksor-sse listening on http://localhost:"+port+"/sse ", 10*time.Second)
		srv.waitLog("the address of bind", "addr=127.0.0.1:"+port, 10*time.Second)
		// %kernel.project_dir%: the pid and token files in the project.
		for _, f := range []string{"valksor-sse.pid", "valksor-sse.token"} {
			if _, err := os.Stat(filepath.Join(project, "var", "run", f)); err != nil {
				t.Errorf("var/run/%s in the project: %v", f, err)
			}
		}
		srv.waitLog("the watch of when@dev", `msg="watching for changes" paths=[public]`, 10*time.Second)
		portEnv := []string{"VALKSOR_SSE_PORT=" + port} // the config's port, moved
		if out := runDocCommands(t, project, health, nil, "localhost:8080", "127.0.0.1:"+port); !strings.Contains(out, `"status":"ok"`) {
			t.Errorf("%s printed %q", health[0], out)
		}
		if resp, _ := getBody(t, srv.url("/sse/_dashboard")); resp.StatusCode != http.StatusOK {
			t.Errorf("the dashboard answers %d under dev, want 200", resp.StatusCode)
		}

		if w := docWords(t, serve[0]); !reflect.DeepEqual(w, []string{"python3", "-m", "http.server", "8000", "--directory", "public"}) {
			t.Fatalf("the README serves the page with %q", serve[0])
		}
		site := proctest.Python(t, filepath.Join(project, "public")) // the same command, on a free port

		p := newPage(t)
		p.navigate(site + "/")
		p.connected()
		p.waitFor("the page to show the connection", `document.getElementById('state').textContent === 'connected'`, 10*time.Second)
		if u := mustEval[string](p, `sseClient.url`); u != "http://127.0.0.1:"+port+"/sse" {
			t.Errorf("the client talks to %s, want the server of the meta tags", u)
		}

		runDocCommands(t, project, publish[:1], portEnv)
		p.waitFor("the published message", `[...document.querySelectorAll('#notifications li')].some((li) => li.textContent === 'Hello from server!')`, 10*time.Second)
		if srv.count(`level=DEBUG msg="event published"`) == 0 {
			t.Error("the event published is not in the debug log: when@dev's debug: true was not applied")
		}
		before := p.state().now()
		runDocCommands(t, project, publish[1:], portEnv)
		p.waitState("the reload", 15*time.Second, func(s pageState) bool { return s.loadsSince(before) == 1 })
		p.connected()

		before = p.state().now()
		editFile(t, page, "this page changes in place.", "this page changed in place.")
		p.waitFor("the saved page", `document.getElementById('hint').textContent.includes('changed in place')`, 15*time.Second)
		if s := p.state(); s.loadsSince(before) != 0 || len(s.morphsSince(before)) == 0 {
			t.Errorf("after the page's save: %d loads, %d morphs; want a morph", s.loadsSince(before), len(s.morphsSince(before)))
		}
		const color = `getComputedStyle(document.querySelector('h1')).color`
		if c := mustEval[string](p, color); c != "rgb(120, 40, 140)" {
			t.Fatalf("the heading's colour is %s, want public/styles/app.css's", c)
		}
		before = p.state().now()
		editFile(t, filepath.Join(project, "public", "styles", "app.css"), "rgb(120, 40, 140)", "rgb(10, 120, 60)")
		p.waitFor("the saved stylesheet", color+` === 'rgb(10, 120, 60)'`, 15*time.Second)
		if s := p.state(); s.loadsSince(before) != 0 {
			t.Errorf("the page reloaded for a stylesheet")
		}
	})

	t.Run("prod", func(t *testing.T) {
		needCommand(t, "openssl")
		needCommand(t, "curl")
		project := copyExample(t, "symfony")
		runDocCommands(t, project, cert, nil)
		ca, err := os.ReadFile(filepath.Join(project, "config", "ssl", "sse.crt"))
		if err != nil {
			t.Fatalf("the README's openssl wrote no certificate: %v", err)
		}

		env, args := valksorCommand(t, prod[0])
		if !reflect.DeepEqual(env, []string{"APP_ENV=prod"}) || len(args) != 0 {
			t.Fatalf("the README starts the server with %q", prod[0])
		}
		srv := startProc(t, project, append(env, "VALKSOR_SSE_PORT=0"), proctest.Listening, args...)
		port := strconv.Itoa(srv.port)
		if line, _, _ := strings.Cut(srv.stderr.String(), "\n"); !strings.HasPrefix(line, `{"time":`) {
			t.Errorf("the first log line is %q, want JSON (log_format: json)", line)
		}
		if m := proctest.Listening.FindStringSubmatch(srv.stderr.String()); m[1] != "https" || m[2] != "example.com" {
			t.Errorf("the server says it listens on %s://%s, want https://example.com (ssl_cert_path, domain)", m[1], m[2])
		}
		every := regexp.MustCompile(`"addr":"(0\.0\.0\.0|\[::\]):` + port + `"`) // every interface, bind: 0.0.0.0
		proctest.Await(t, 10*time.Second, "the address of bind", func() bool { return every.MatchString(srv.stderr.String()) })

		if got := runDocCommands(t, t.TempDir(), prodHealth, nil, "config/ssl/", filepath.Join(project, "config", "ssl")+"/", "localhost:8080", "localhost:"+port); got != `{"status":"ok"}`+"\n" {
			t.Errorf("the README's curl over HTTPS printed %q", got)
		}

		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(ca) {
			t.Fatal("config/ssl/sse.crt holds no certificate")
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
		defer c.CloseIdleConnections()
		get := func(path, origin string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, "https://localhost:"+port+path, nil)
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if resp := get("/sse/healthz", ""); resp.ProtoMajor != 2 {
			t.Errorf("HTTPS answers over %s, want HTTP/2", resp.Proto)
		}
		if resp := get("/sse/_dashboard", ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("the dashboard answers %d under prod, want 404", resp.StatusCode)
		}
		for origin, allowed := range map[string]bool{"https://example.com": true, "http://localhost:8000": false} {
			resp := get("/sse/healthz", origin)
			if got := resp.Header.Get("Access-Control-Allow-Origin") == origin; got != allowed {
				t.Errorf("a page on %s may read the server: %v, want %v", origin, got, allowed)
			}
		}
	})
}
