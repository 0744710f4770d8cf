package e2e_test

// The dev proxy with nothing but --proxy: it watches its working
// directory, takes "valksor-sse publish" from that directory (with the
// token file it creates, as serve does), and honours the reload signal
// file.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fileApp is an app whose page shows the content of file, read at each
// request.
func fileApp(t *testing.T, file string) *httptest.Server {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := os.ReadFile(file)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "<!doctype html><html><head><title>app</title></head><body>%s</body></html>", b)
	}))
	t.Cleanup(app.Close)
	return app
}

// TestDevProxyWatchesWorkingDir: "valksor-sse dev --proxy URL" alone
// watches the directory it runs in, says so, and a save there reloads the
// page once.
func TestDevProxyWatchesWorkingDir(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	saveFile(t, page, "one")
	dev := startDev(t, dir, nil, "--proxy", fileApp(t, page).URL)
	if !strings.Contains(dev.stderr.String(), "watching the whole working directory") {
		t.Errorf("dev does not say that it watches its working directory:\n%s", dev.stderr)
	}
	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	base := p.state().now()

	saveFile(t, page, "two")
	p.waitState("the reload", 10*time.Second, func(s pageState) bool { return s.view().Text == "two" })
	checkOneUpdate(t, p.settle(dev.publish), base, "two", "page.html")
}

// TestDevProxyPublishAndSignalFile: dev without a configured publish token
// creates the token file as serve does; "valksor-sse publish --port P" run
// in its directory reaches the page through the proxy (a reload, and the
// marker events of settle), and so does the reload signal file.
func TestDevProxyPublishAndSignalFile(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	page := filepath.Join(t.TempDir(), "page.html")
	saveFile(t, page, "one")
	dev := startProc(t, dir, nil, devListening, "dev", "--listen", "127.0.0.1:0", "--proxy", fileApp(t, page).URL)
	// The publish command, as a user runs it in the project directory.
	cli := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(append([]string{"publish"}, args...), "--port", strconv.Itoa(dev.port))...)
		cmd.Dir = dir
		cmd.Env = cleanEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("valksor-sse publish %q: %v\n%s", args, err, out)
		}
	}
	publish := func(typ, data string) { cli(typ, "--data", data) }

	p := newPage(t)
	p.navigate(dev.url("/"))
	p.connected()
	base := p.state().now()
	saveFile(t, page, "two")
	cli("reload")
	p.waitState("the reload by publish", 10*time.Second, func(s pageState) bool { return s.view().Text == "two" })
	checkOneUpdate(t, p.settle(publish), base, "two")

	base = p.state().now()
	saveFile(t, page, "three")
	saveFile(t, filepath.Join(dir, "var", "run", "valksor-reload.signal"), `{"files":["templates/page.html.twig"],"timestamp":1732700000.5}`)
	p.waitState("the reload by the signal file", 10*time.Second, func(s pageState) bool { return s.view().Text == "three" })
	checkOneUpdate(t, p.settle(publish), base, "three", "templates/page.html.twig")
}
