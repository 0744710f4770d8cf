package e2e_test

// The guides under docs/, followed as a reader would: each test runs the
// blocks of one guide marked "tested by" it, with free ports and temporary
// directories in place of the guide's.

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/valksor/go-sse/internal/proctest"
)

// TestGettingStarted follows docs/getting-started.md: the server started in
// a new directory, the page it writes served by Python and opened in
// Chromium, the two publish commands (the message shows, then the page
// reloads), the publish over HTTP with curl, and the stop command (the
// server exits, the page says so).
func TestGettingStarted(t *testing.T) {
	needChromium(t)
	needCommand(t, "curl")
	needCommand(t, "python3")
	const home = "~/sse-demo"
	blocks := docBlocks(t, "docs/getting-started.md", 6)
	dir := t.TempDir()
	port := strconv.Itoa(freeTCPPort(t))
	server := "127.0.0.1:" + port
	portEnv := []string{"VALKSOR_SSE_PORT=" + port} // the default 8080, moved

	start := blocks[0].Commands()
	if len(start) != 2 || start[0] != "mkdir -p "+home+" && cd "+home || start[1] != "valksor-sse" {
		t.Fatalf("the guide starts the server with %q", start)
	}
	srv := startProc(t, dir, portEnv, serveListening)

	runDocCommands(t, dir, []string{blocks[1].Text}, nil, home, dir, "localhost:8080", server)
	if serve := docCommands(t, blocks[2], home); len(serve) != 1 || !reflect.DeepEqual(docWords(t, serve[0]), []string{"python3", "-m", "http.server", "3000"}) {
		t.Fatalf("the guide serves the page with %q", serve)
	}
	site := proctest.Python(t, dir) // the same command, on a free port

	p := newPage(t)
	p.navigate(site + "/")
	p.connected()
	const state = `document.getElementById('state').textContent`
	const out = `document.getElementById('out').textContent`
	p.waitFor("the page to say connected", state+` === 'connected'`, 10*time.Second)

	publish := docCommands(t, blocks[3], home)
	if len(publish) != 2 {
		t.Fatalf("the guide publishes with %q, want two commands", publish)
	}
	if got := runDocCommands(t, dir, publish[:1], portEnv); !regexp.MustCompile(`^\d+-\d+\n$`).MatchString(got) {
		t.Errorf("publish printed %q, want the event's id", got)
	}
	p.waitFor("the published message", out+` === 'Hello from server!'`, 10*time.Second)
	before := p.state().now()
	runDocCommands(t, dir, publish[1:], portEnv)
	p.waitState("the reload", 15*time.Second, func(s pageState) bool { return s.loadsSince(before) == 1 })
	p.connected()

	curl := docCommands(t, blocks[4], home)
	if got := runDocCommands(t, dir, curl, nil, "localhost:8080", server); !answeredID.MatchString(got) {
		t.Errorf("the publish over HTTP printed %q, want the event's id as JSON", got)
	}
	p.waitFor("the message published over HTTP", out+` === 'Hello over HTTP'`, 10*time.Second)

	if stop := docCommands(t, blocks[5], home); !reflect.DeepEqual(stop, []string{"valksor-sse stop"}) {
		t.Fatalf("the guide stops the server with %q", stop)
	} else {
		runDocCommands(t, dir, stop, portEnv)
	}
	select {
	case <-srv.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the server still runs 15s after valksor-sse stop")
	}
	p.waitFor("the page to say disconnected", state+` === 'disconnected'`, 10*time.Second)
}

// answeredID matches the answer of a publish, on the last line of curl's
// output (curl writes its progress meter to stderr when stdout is not a
// terminal).
var answeredID = regexp.MustCompile(`(?m)^\{"id":"\d+-\d+"\}\n\z`)

// TestDevLoopGuide follows the two walkthroughs of docs/dev-loop.md in
// Chromium: serve --watch with a page that loads the client itself (a
// saved page morphs and keeps the typed text, a saved stylesheet is
// swapped), and dev --proxy in front of Python (a saved page morphs and
// keeps the typed text).
func TestDevLoopGuide(t *testing.T) {
	needChromium(t)
	needCommand(t, "python3")
	blocks := docBlocks(t, "docs/dev-loop.md", 6)
	const field = `document.querySelector('input').value`
	const text = `document.getElementById('text').textContent`

	typeInto := func(t *testing.T, p *ptab) {
		t.Helper()
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input`), "typed by hand")); err != nil {
			t.Fatalf("type into the field: %v", err)
		}
	}
	morphed := func(t *testing.T, p *ptab, file string) {
		t.Helper()
		before := p.state().now()
		editFile(t, file, "<p id=\"text\">Hello</p>", "<p id=\"text\">Hello, edited</p>")
		p.waitFor("the edit in the page", text+` === 'Hello, edited'`, 15*time.Second)
		if s := p.state(); s.loadsSince(before) != 0 || len(s.morphsSince(before)) == 0 {
			t.Errorf("after the save: %d loads, %d morphs; want the page morphed", s.loadsSince(before), len(s.morphsSince(before)))
		}
		if got := mustEval[string](p, field); got != "typed by hand" {
			t.Errorf("the field holds %q after the save, want what was typed", got)
		}
	}

	t.Run("serve --watch", func(t *testing.T) {
		const home = "~/watch-demo"
		dir := t.TempDir()
		port := strconv.Itoa(freeTCPPort(t))
		runDocCommands(t, dir, []string{blocks[0].Text}, nil, home, dir, "localhost:8080", "127.0.0.1:"+port)
		serve := docCommands(t, blocks[1], home)
		if len(serve) != 1 {
			t.Fatalf("the guide starts the server with %q", serve)
		}
		env, args := valksorCommand(t, serve[0])
		srv := startProc(t, dir, append(env, "VALKSOR_SSE_PORT="+port), serveListening, args...)
		srv.waitLog("the watcher", `msg="watching for changes"`, 10*time.Second)
		if page := docCommands(t, blocks[2], home); len(page) != 1 || !reflect.DeepEqual(docWords(t, page[0]), []string{"python3", "-m", "http.server", "3000"}) {
			t.Fatalf("the guide serves the page with %q", page)
		}
		site := proctest.Python(t, dir)

		p := newPage(t)
		p.navigate(site + "/")
		p.connected()
		typeInto(t, p)
		morphed(t, p, filepath.Join(dir, "index.html"))

		const color = `getComputedStyle(document.getElementById('text')).color`
		if c := mustEval[string](p, color); c != "rgb(0, 128, 128)" {
			t.Fatalf("the text's colour is %s, want assets/app.css's teal", c)
		}
		before := p.state().now()
		editFile(t, filepath.Join(dir, "assets", "app.css"), "teal", "rebeccapurple")
		p.waitFor("the saved stylesheet", color+` === 'rgb(102, 51, 153)'`, 15*time.Second)
		if s := p.state(); s.loadsSince(before) != 0 {
			t.Errorf("the page reloaded for a stylesheet")
		}
	})

	t.Run("dev", func(t *testing.T) {
		const home = "~/dev-demo"
		dir := t.TempDir()
		runDocCommands(t, dir, []string{blocks[3].Text}, nil, home, dir)
		if app := docCommands(t, blocks[4], home); len(app) != 1 || !reflect.DeepEqual(docWords(t, app[0]), []string{"python3", "-m", "http.server", "8000"}) {
			t.Fatalf("the guide runs the app with %q", app)
		}
		app := proctest.Python(t, dir) // the same command, on a free port
		devCmd := docCommands(t, blocks[5], home)
		if len(devCmd) != 1 {
			t.Fatalf("the guide starts dev with %q", devCmd)
		}
		env, args := valksorCommand(t, devCmd[0], "http://localhost:8000", app)
		// The proxy listens on dev.listen, localhost:3000 by default: here
		// on a free port.
		dev := startProc(t, dir, append(env, "VALKSOR_SSE_DEV_LISTEN=127.0.0.1:0"), devListening, args...)
		dev.waitLog("the watcher", "watching for changes", 10*time.Second)

		p := newPage(t)
		p.navigate(dev.url("/"))
		p.connected()
		typeInto(t, p)
		morphed(t, p, filepath.Join(dir, "index.html"))
	})
}

// TestProductionGuide follows the runnable parts of docs/production.md:
// the configuration the systemd section writes, served as the unit runs it
// (its ExecStart, with the state directory as working directory), the
// readiness check and the publish from the same machine; the JWT section's
// configuration, tokens, subscriber and private publish; and the TLS
// section's self-signed server, publish and stop. systemctl itself is not
// run (the unit is checked by TestSystemdVerify in cmd/valksor-sse).
func TestProductionGuide(t *testing.T) {
	needCommand(t, "curl")
	const doc = "docs/production.md"
	blocks := docBlocks(t, doc, 8)

	t.Run("systemd", func(t *testing.T) {
		conf, state := t.TempDir(), t.TempDir()
		replace := []string{"/etc/valksor-sse", conf, "/var/lib/valksor-sse", state}
		setup := blocks[0]
		yaml := heredoc(t, setup.Text, "YAML")
		if !strings.Contains(setup.Text, "sudo tee /etc/valksor-sse/valksor.yaml >/dev/null <<'YAML'") {
			t.Fatalf("the guide writes the config elsewhere:\n%s", setup.Text)
		}
		if err := os.WriteFile(filepath.Join(conf, "valksor.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		unit, err := os.ReadFile(filepath.Join(proctest.Root(), "deploy", "valksor-sse.service"))
		if err != nil {
			t.Fatal(err)
		}
		exec := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/valksor-sse (.+)$`).FindSubmatch(unit)
		wd := regexp.MustCompile(`(?m)^WorkingDirectory=(.+)$`).FindSubmatch(unit)
		if exec == nil || wd == nil || string(wd[1]) != "/var/lib/valksor-sse" {
			t.Fatalf("the unit's ExecStart %q and WorkingDirectory %q are not what the guide says", exec, wd)
		}
		args := strings.Fields(strings.NewReplacer(replace...).Replace(string(exec[1])))
		// The config's port 8080 moved to a free one, which the server picks
		// (on 0.0.0.0, a port picked beforehand may be the local port of
		// some connection by then).
		srv := startProc(t, state, []string{"VALKSOR_SSE_PORT=0"}, proctest.Listening, args...)
		port := strconv.Itoa(srv.port)
		portEnv := []string{"VALKSOR_SSE_PORT=" + port}
		if line, _, _ := strings.Cut(srv.stderr.String(), "\n"); !strings.HasPrefix(line, `{"time":`) {
			t.Errorf("the first log line is %q, want JSON (log_format: json)", line)
		}
		if resp, _ := getBody(t, srv.url("/sse/_dashboard")); resp.StatusCode != http.StatusNotFound {
			t.Errorf("the dashboard answers %d, want 404 (dashboard.enabled: false)", resp.StatusCode)
		}

		if got := runDocCommands(t, t.TempDir(), blocks[1].Commands(), nil, "localhost:8080", "127.0.0.1:"+port); got != `{"status":"ready"}`+"\n" {
			t.Errorf("the readiness check printed %q", got)
		}

		var cmds []string
		for _, c := range blocks[2].Commands() {
			c, ok := strings.CutPrefix(c, "sudo ")
			if !ok {
				t.Fatalf("%q: the guide runs it as root", c)
			}
			cmds = append(cmds, c)
		}
		got := runDocCommands(t, t.TempDir(), cmds, portEnv, replace...)
		token, err := os.ReadFile(filepath.Join(state, "var", "run", "valksor-sse.token"))
		if err != nil {
			t.Fatal(err)
		}
		if want := regexp.MustCompile(`^` + regexp.QuoteMeta(strings.TrimSpace(string(token))) + `\n\d+-\d+\n$`); !want.MatchString(got) {
			t.Errorf("the commands printed %q, want the token and the event's id", got)
		}
	})

	t.Run("jwt", func(t *testing.T) {
		dir := t.TempDir()
		if blocks[3].Lang != "yaml" {
			t.Fatalf("the JWT configuration is a %q block", blocks[3].Lang)
		}
		if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(blocks[3].Text), 0o644); err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(freeTCPPort(t))
		portEnv := []string{"VALKSOR_SSE_PORT=" + port}
		server := "127.0.0.1:" + port
		startProc(t, dir, portEnv, serveListening)

		tokens := runDocCommands(t, dir, blocks[4].Commands(), nil)
		if jwts := regexp.MustCompile(`(?m)^[\w-]+\.[\w-]+\.[\w-]+$`).FindAllString(tokens, -1); len(jwts) != 2 {
			t.Errorf("the token commands printed %q, want two JWTs", tokens)
		}

		sub := blocks[5].Commands()
		if len(sub) != 1 || !strings.HasPrefix(sub[0], "curl -N ") {
			t.Fatalf("the guide subscribes with %q", sub)
		}
		subscriber := startShell(t, dir, strings.ReplaceAll(sub[0], "localhost:8080", server), portEnv)
		anonymous := openEventStream(t, "http://"+server+"/sse?topic=orders")
		proctest.Await(t, 10*time.Second, "the subscriber with a token to connect", func() bool {
			return strings.Contains(subscriber.String(), "event: connected")
		})

		if got := runDocCommands(t, dir, blocks[6].Commands(), nil, "localhost:8080", server); !answeredID.MatchString(got) {
			t.Errorf("the private publish printed %q", got)
		}
		proctest.Await(t, 10*time.Second, "the private event at the subscriber with a token", func() bool {
			return strings.Contains(subscriber.String(), "event: order-shipped\ndata: {\"id\":42}\n")
		})
		// A public event after it: once the stream without a token has it,
		// it would have had the private one too.
		runDocCommands(t, dir, []string{`curl -s -H "Authorization: Bearer $(valksor-sse token --publish orders)" -d type=public-marker -d topic=orders localhost:8080/sse/publish`}, nil, "localhost:8080", server)
		proctest.Await(t, 10*time.Second, "the public event at the stream without a token", func() bool {
			return strings.Contains(anonymous.String(), "event: public-marker")
		})
		if strings.Contains(anonymous.String(), "order-shipped") {
			t.Errorf("the stream without a token received the private event:\n%s", anonymous)
		}
	})

	t.Run("tls", func(t *testing.T) {
		dir := t.TempDir()
		port := strconv.Itoa(freeTCPPort(t))
		out := runDocCommands(t, dir, []string{blocks[7].Text}, []string{"VALKSOR_SSE_PORT=" + port})
		if !regexp.MustCompile(`(?m)^\d+-\d+$`).MatchString(out) {
			t.Errorf("publish over HTTPS printed no event id:\n%s", out)
		}
		if !strings.Contains(out, "valksor-sse listening on https://") {
			t.Errorf("the server did not say it listens over HTTPS:\n%s", out)
		}
		if !strings.Contains(out, `msg=stopped`) {
			t.Errorf("the server did not stop:\n%s", out)
		}
	})
}

// heredoc returns the body of the here-document ending with the line end in
// a shell block.
func heredoc(t *testing.T, block, end string) string {
	t.Helper()
	_, rest, ok := strings.Cut(block, "<<'"+end+"'\n")
	body, _, closed := strings.Cut(rest, "\n"+end+"\n")
	if !ok || !closed {
		t.Fatalf("no here-document ending with %s in:\n%s", end, block)
	}
	return body + "\n"
}

// startShell runs the command line with bash in dir, with valksor-sse on
// the PATH and env added, until the test ends, and returns its output.
func startShell(t *testing.T, dir, line string, env []string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command("bash", "-c", "exec "+line)
	cmd.Dir = dir
	cmd.Env = append(withPath(cleanEnv(), filepath.Dir(bin)), env...)
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() { proctest.End(cmd.Process, done) })
	return out
}
