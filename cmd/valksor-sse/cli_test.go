package main_test

// Tests of the command line against the real binary: publish signing its
// own JWT and explaining refusals, the server's files found from another
// directory, stop falling back to the port, version and help, assets
// compile --out, and Symfony config files.

import (
	"crypto/x509"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// writeConfig writes valksor.yaml with content into dir and returns its path.
func writeConfig(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "valksor.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// jwtPayload decodes the claims of a compact JWT.
func jwtPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// TestPublishSignsItsOwnJWT publishes to a server with JWT publisher keys,
// which writes no token file: publish signs a short-lived publisher JWT
// with the config's secret, or with a private key whose public half the
// server holds.
func TestPublishSignsItsOwnJWT(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, "valksor:\n  sse:\n    auth:\n      publisher_key: "+prodPubSecret+"\n")
	s := startProd(t, dir, nil)
	port := strconv.Itoa(s.port)
	if _, err := os.Stat(filepath.Join(dir, "var/run/valksor-sse.token")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a server with JWT keys wrote a token file: %v", err)
	}
	events := subscribe(t, s.url())
	orders := subscribe(t, s.url(), "orders/7")
	if _, errOut, code := prodRunEnv(t, dir, nil, "publish", "reload", "--host", "127.0.0.1", "--port", port); code != 0 {
		t.Fatalf("publish reload: exit %d: %s", code, errOut)
	}
	if e := expect(t, events, "reload"); e.Data != `{"files":[]}` {
		t.Fatalf("reload data %q", e.Data)
	}
	// The JWT covers the event's topics.
	if _, errOut, code := prodRunEnv(t, dir, nil, "publish", "shipped", "--topic", "orders/7", "--host", "127.0.0.1", "--port", port); code != 0 {
		t.Fatalf("publish to a topic: exit %d: %s", code, errOut)
	}
	expect(t, orders, "shipped")
	// From another directory with --config: the secret is in the file.
	other := t.TempDir()
	if _, errOut, code := prodRunEnv(t, other, nil, "publish", "from-elsewhere", "--config", filepath.Join(dir, "valksor.yaml"), "--host", "127.0.0.1", "--port", port); code != 0 {
		t.Fatalf("publish --config: exit %d: %s", code, errOut)
	}
	expect(t, events, "from-elsewhere")

	// ECDSA: the server verifies with the public key, publish signs with
	// the private one.
	ecDir := t.TempDir()
	key, pubPath, _ := prodECKey(t, ecDir)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	privPath := filepath.Join(ecDir, "private.pem")
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ec := startProd(t, ecDir, []string{"VALKSOR_SSE_AUTH_PUBLISHER_KEY=file:" + pubPath})
	ecEvents := subscribe(t, ec.url())
	if _, errOut, code := prodRunEnv(t, ecDir, []string{"VALKSOR_SSE_AUTH_PUBLISHER_KEY=file:" + privPath}, "publish", "signed-es256", "--host", "127.0.0.1", "--port", strconv.Itoa(ec.port)); code != 0 {
		t.Fatalf("publish with a private key: exit %d: %s", code, errOut)
	}
	expect(t, ecEvents, "signed-es256")
}

// TestPublisherJWTClaims checks what publish signs: a publisher token for
// the event's topics ("*" without topics) that expires within a minute. A
// fake server captures the Authorization header.
func TestPublisherJWTClaims(t *testing.T) {
	t.Parallel()
	auth := make(chan string, 4)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth <- strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"1"}`)
	}))
	t.Cleanup(fake.Close)
	port := strconv.Itoa(fake.Listener.Addr().(*net.TCPAddr).Port)
	env := []string{"VALKSOR_SSE_AUTH_PUBLISHER_KEY=" + prodPubSecret}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"publish", "x", "--port", port}, "[*]"},
		{[]string{"publish", "x", "--topic", "a", "--topic", "b/c", "--port", port}, "[a b/c]"},
	} {
		if _, errOut, code := prodRunEnv(t, t.TempDir(), env, c.args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		claims := jwtPayload(t, <-auth)
		v, _ := claims["valksor"].(map[string]any)
		exp, _ := claims["exp"].(float64)
		iat, _ := claims["iat"].(float64)
		if fmt.Sprint(v["publish"]) != c.want || v["subscribe"] != nil || exp-iat != 60 {
			t.Errorf("%v: claims %v, want publish %s for 60s", c.args, claims, c.want)
		}
	}
}

// TestPublishCannotSign: with only a public key or a JWKS URL, publish says
// it cannot sign and shows how to pass a token, before sending anything.
func TestPublishCannotSign(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, pubPath, _ := prodECKey(t, dir)
	for _, c := range []struct {
		name string
		env  []string
		says []string
	}{
		{"public key", []string{"VALKSOR_SSE_AUTH_PUBLISHER_KEY=file:" + pubPath},
			[]string{"publish cannot sign a publisher JWT: auth.publisher_key (" + pubPath + ") is a public key", "--token", "valksor-sse token --publish '*' --key file:"}},
		{"JWKS only", []string{"VALKSOR_SSE_AUTH_JWKS_URL=https://idp.example/jwks.json"},
			[]string{"publish cannot sign a publisher JWT: the config has only auth.jwks_url", "--token", "valksor-sse token --publish '*' --key file:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := prodRunEnv(t, dir, c.env, "publish", "reload", "--port", "1")
			if code != 1 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, s := range c.says {
				if !strings.Contains(errOut, s) {
					t.Errorf("error %q does not say %q", errOut, s)
				}
			}
		})
	}
}

// TestPublishRefusalAdvice checks that a 401 is explained by where the
// refused token came from.
func TestPublishRefusalAdvice(t *testing.T) {
	t.Parallel()
	jwtDir := t.TempDir()
	writeConfig(t, jwtDir, "valksor:\n  sse:\n    auth:\n      publisher_key: "+prodPubSecret+"\n")
	jwtServer := startProd(t, jwtDir, nil)
	// A server whose token is in its environment: it writes no token file.
	envServer := startProd(t, t.TempDir(), []string{"VALKSOR_SSE_PUBLISH_TOKEN=" + prodStatic})
	staleDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(staleDir, "var/run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(staleDir, "var/run/valksor-sse.token"), []byte("stale\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jp, ep := strconv.Itoa(jwtServer.port), strconv.Itoa(envServer.port)
	for _, c := range []struct {
		name string
		dir  string
		env  []string
		args []string
		says []string
	}{
		{"--token", t.TempDir(), nil, []string{"--port", ep, "--token", "nope"},
			[]string{"the server refused the publish token given with --token", "valksor-sse token --publish"}},
		{"publish_token", t.TempDir(), []string{"VALKSOR_SSE_PUBLISH_TOKEN=other"}, []string{"--port", ep},
			[]string{"the server refused the publish token of the config (publish_token)", "another publish_token", "--config", "--token"}},
		{"JWT with other keys", t.TempDir(), []string{"VALKSOR_SSE_AUTH_PUBLISHER_KEY=" + prodOtherSecret}, []string{"--port", jp},
			[]string{"the server refused the publisher JWT signed with auth.publisher_key", "other keys", "--config", "--token"}},
		{"stale token file", staleDir, nil, []string{"--port", ep},
			[]string{"the server refused the publish token in var/run/valksor-sse.token", "--config", "--token"}},
		{"nothing found", t.TempDir(), nil, []string{"--port", ep},
			[]string{"the server wants a publish token, and none was found", "no token file var/run/valksor-sse.token", "port " + ep, "--config", "--token"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"publish", "x", "--host", "127.0.0.1"}, c.args...)
			_, errOut, code := prodRunEnv(t, c.dir, c.env, args...)
			if code != 1 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, s := range c.says {
				if !strings.Contains(errOut, s) {
					t.Errorf("error %q does not say %q", errOut, s)
				}
			}
			if strings.Contains(errOut, "run publish from the server's directory") {
				t.Errorf("error %q gives the old advice", errOut)
			}
		})
	}
}

// TestServerFilesFromAnotherDirectory runs publish, status and stop in a
// directory other than the server's: the token file and the pid file are
// found in the working directory of the valksor-sse on the port.
func TestServerFilesFromAnotherDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	port := strconv.Itoa(s.port)
	cfg := writeConfig(t, dir, fmt.Sprintf("valksor:\n  sse:\n    port: %d\n", s.port))
	events := subscribe(t, s.url())
	other := t.TempDir()

	if _, errOut, code := run(t, other, "publish", "reload", "--port", port); code != 0 {
		t.Fatalf("publish from another directory: exit %d: %s", code, errOut)
	}
	expect(t, events, "reload")
	out, _, code := run(t, other, "status", "--config", cfg)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("pid %d", s.cmd.Process.Pid)) {
		t.Fatalf("status: exit %d: %s", code, out)
	}
	out, errOut, code := run(t, other, "stop", "--config", cfg)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("stopped valksor-sse (pid %d)", s.cmd.Process.Pid)) {
		t.Fatalf("stop --config: exit %d: %s %s", code, out, errOut)
	}
	if code := s.exited(); code != 0 {
		t.Fatalf("server exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "var/run/valksor-sse.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file left behind: %v", err)
	}
	// Nothing runs any more: stop says so and succeeds.
	out, errOut, code = run(t, other, "stop", "--config", cfg)
	if code != 0 || !strings.Contains(out, "not running") {
		t.Fatalf("second stop: exit %d: %s %s", code, out, errOut)
	}
}

// TestStopByPort: without a pid file anywhere, stop finds the valksor-sse
// by its port; a port held by another program is left alone with a
// non-zero exit.
func TestStopByPort(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	if err := os.Remove(filepath.Join(dir, "var/run/valksor-sse.pid")); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(s.port)
	out, errOut, code := run(t, t.TempDir(), "stop", "--port", port)
	want := fmt.Sprintf("stopped valksor-sse (pid %d, found listening on port %s)", s.cmd.Process.Pid, port)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("stop: exit %d: %s %s; want %q", code, out, errOut, want)
	}
	if code := s.exited(); code != 0 {
		t.Fatalf("server exit %d", code)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	out, errOut, code = run(t, t.TempDir(), "stop", "--host", "127.0.0.1", "--port", held)
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("port %s is held by pid %d", held, os.Getpid())) || !strings.Contains(errOut, "not valksor-sse") {
		t.Fatalf("stop on a port held by another program: exit %d: %s %s", code, out, errOut)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err != nil {
		t.Fatalf("the other program's listener is gone: %v", err)
	} else {
		c.Close()
	}
}

// TestVersionAndHelp: version falls back to the build information, takes
// --help, and valksor-sse --help lists the commands.
func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	out, errOut, code := run(t, t.TempDir(), "version")
	if code != 0 {
		t.Fatalf("version: exit %d: %s", code, errOut)
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	want := "valksor-sse dev"
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		want = "valksor-sse " + v
	} else {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				want = "valksor-sse dev (revision " + s.Value[:12]
			}
		}
	}
	if !strings.HasPrefix(out, want) {
		t.Errorf("version printed %q, want it to start with %q", out, want)
	}
	for _, line := range []string{"\ngo:       " + bi.GoVersion + "\n", "\nplatform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n", "\ncommit:   "} {
		if !strings.Contains(out, line) {
			t.Errorf("version printed %q, want a line %q", out, strings.TrimSpace(line))
		}
	}

	out, errOut, code = run(t, t.TempDir(), "version", "--help")
	if code != 0 || out != "" || !strings.Contains(errOut, "Usage: valksor-sse version") {
		t.Errorf("version --help: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := run(t, t.TempDir(), "version", "extra"); code != 2 || !strings.Contains(errOut, "takes no arguments") {
		t.Errorf("version extra: exit %d %s", code, errOut)
	}

	help, _, code := run(t, t.TempDir(), "help")
	if code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	// "--host -h" too: help, never a server on host "-h".
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--host", "-h"}} {
		out, errOut, code := run(t, t.TempDir(), args...)
		if code != 0 || !strings.HasPrefix(out, help) || !strings.Contains(out, "-kill-existing") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want the commands, then the flags of serve", args, code, out, errOut)
		}
	}
	for _, cmd := range []string{"publish [TYPE]", "stop", "token", "assets", "version"} {
		if !strings.Contains(help, "valksor-sse "+cmd) {
			t.Errorf("help does not list %q:\n%s", cmd, help)
		}
	}
}

// TestVersionFromVCS builds the binary with VCS stamping: version names the
// commit it was built from.
func TestVersionFromVCS(t *testing.T) {
	t.Parallel()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git:", err)
	}
	head, err := exec.Command(git, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("not in a git checkout:", err)
	}
	exe := filepath.Join(t.TempDir(), "valksor-sse")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", exe, ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Skipf("go build -buildvcs=true: %v\n%s", err, b)
	}
	out, err := exec.Command(exe, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if rev := strings.TrimSpace(string(head))[:12]; !strings.Contains(string(out), rev) {
		t.Errorf("version printed %q, want it to name revision %s", out, rev)
	}
}

// TestAssetsCompileOut: --out is the directory served as /assets/, and the
// files are written directly in it, whatever it is called.
func TestAssetsCompileOut(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		out  string
	}{
		{"default", nil, "public/assets"},
		{"named assets", []string{"--out", "public/assets"}, "public/assets"},
		{"dist", []string{"--out", "dist"}, "dist"},
		{"absolute", []string{"--out", "ABS"}, "ABS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			abs := filepath.Join(t.TempDir(), "web", "static")
			args := []string{"assets", "compile"}
			for _, a := range c.args {
				args = append(args, strings.ReplaceAll(a, "ABS", abs))
			}
			out := filepath.Join(dir, c.out)
			if c.out == "ABS" {
				out = abs
			}
			stdout, errOut, code := run(t, dir, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(stdout, "wrote ") {
				t.Errorf("stdout %q", stdout)
			}
			b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
			if err != nil {
				t.Fatalf("no manifest.json directly in --out: %v", err)
			}
			var manifest map[string]string
			if err := json.Unmarshal(b, &manifest); err != nil {
				t.Fatal(err)
			}
			pub := manifest["valksorsse/sse.js"]
			rel, ok := strings.CutPrefix(pub, "/assets/")
			if !ok {
				t.Fatalf("manifest %s", b)
			}
			if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(rel))); err != nil {
				t.Errorf("the file served as %s is not at --out/%s: %v", pub, rel, err)
			}
			if _, err := os.Stat(filepath.Join(out, "importmap.json")); err != nil {
				t.Error(err)
			}
			if _, err := os.Stat(filepath.Join(out, "assets")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("an assets/ directory appeared inside --out: %v", err)
			}
			entries, _ := os.ReadDir(out)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("scratch %s left in --out", e.Name())
				}
			}
		})
	}
	_, errOut, _ := run(t, t.TempDir(), "assets", "compile", "-h")
	if !strings.Contains(errOut, "serves as /assets/; the files are written directly in it") {
		t.Errorf("help: %s", errOut)
	}
}

// TestSymfonyConfig: %env()% placeholders are refused with the variable to
// set instead, and the when@ block of APP_ENV applies.
func TestSymfonyConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, "valksor:\n    sse:\n        port: '%env(int:SSE_PORT)%'\n")
	_, errOut, code := prodRunEnv(t, dir, nil, "status")
	if code == 0 || !strings.Contains(errOut, `valksor.sse.port: "%env(int:SSE_PORT)%" is a Symfony parameter`) || !strings.Contains(errOut, `VALKSOR_SSE_PORT="$SSE_PORT"`) {
		t.Fatalf("placeholder: exit %d: %s", code, errOut)
	}
	// The variable overrides the placeholder: the server starts.
	startProd(t, dir, []string{"VALKSOR_SSE_PORT=0"})

	whenDir := t.TempDir()
	writeConfig(t, whenDir, "valksor:\n    sse:\n        debug: true\nwhen@prod:\n    valksor:\n        sse:\n            enabled: false\n")
	if _, errOut, code := prodRunEnv(t, whenDir, []string{"APP_ENV=prod"}, "serve", "--port", "0"); code == 0 || !strings.Contains(errOut, "valksor.yaml:7: valksor.sse.enabled is false") {
		t.Fatalf("when@prod with APP_ENV=prod: exit %d: %s", code, errOut)
	}
	startProd(t, whenDir, []string{"APP_ENV=dev"})
}
