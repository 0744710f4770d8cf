package e2e_test

import (
	"bufio"
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

	"github.com/valksor/go-sse/internal/proctest"
)

// TestREADMEQuickStart follows the quick start of README.md as a newcomer
// in a clone would: it installs the binary with the README's go install
// (into a temporary GOBIN), runs it in a new directory (on a free port
// instead of 8080), follows the stream with the README's curl, publishes
// with the README's two commands, and compares what curl printed with the
// output the README shows, ids aside.
func TestREADMEQuickStart(t *testing.T) {
	needCommand(t, "curl")
	blocks := docBlocks(t, "README.md", 5)
	install, run, watch, publish, output := blocks[0].Commands(), blocks[1].Commands(), blocks[2].Commands(), blocks[3].Commands(), blocks[4]

	// The test runs in a clone, so the clone itself is not repeated.
	if want := []string{"git clone https://github.com/valksor/go-sse && cd go-sse", "go install ./cmd/valksor-sse"}; !reflect.DeepEqual(install, want) {
		t.Fatalf("the README installs with %q, want %q", install, want)
	}
	gobin := t.TempDir()
	goInstall(t, gobin, docWords(t, install[1]))
	installed := filepath.Join(gobin, "valksor-sse")

	if !reflect.DeepEqual(run, []string{"valksor-sse"}) {
		t.Fatalf("the README runs the server with %q", run)
	}
	dir := t.TempDir()
	port := strconv.Itoa(freeTCPPort(t))
	portEnv := []string{"VALKSOR_SSE_PORT=" + port}
	startProgram(t, installed, dir, portEnv, serveListening)

	if len(watch) != 1 || !reflect.DeepEqual(docWords(t, watch[0]), []string{"curl", "-N", "localhost:8080/sse"}) {
		t.Fatalf("the README watches the stream with %q", watch)
	}
	stream := startCurl(t, "-N", "localhost:"+port+"/sse")
	proctest.Await(t, 10*time.Second, "curl to show the connected event", func() bool {
		return strings.Contains(stream.String(), "event: connected")
	})

	if len(publish) != 2 {
		t.Fatalf("the README publishes with %q, want two commands", publish)
	}
	out := runDocCommandsWith(t, gobin, dir, publish, portEnv)
	if ids := regexp.MustCompile(`(?m)^\d+-\d+$`).FindAllString(out, -1); len(ids) != 2 {
		t.Errorf("publish printed %q, want the two events' ids", out)
	}
	proctest.Await(t, 10*time.Second, "curl to show the reload", func() bool {
		return strings.Contains(stream.String(), "event: reload\ndata: {\"files\":[]}\n\n")
	})

	if output.Lang != "text" {
		t.Fatalf("the README's output block is %q, want text", output.Lang)
	}
	if got, want := normalizeStream(stream.String()), normalizeStream(output.Text); got != want {
		t.Errorf("curl printed\n%s\nthe README shows\n%s", got, want)
	}
}

// TestREADMESymfonySwap runs the README's Symfony swap in a copy of
// examples/symfony (a project with config/packages/valksor.yaml): the
// binary finds the bundle's config by itself, applies when@dev, serves the
// bundle's health route, writes the bundle's pid file, and broadcasts the
// reload signal file the bundle's watcher writes.
func TestREADMESymfonySwap(t *testing.T) {
	cmds := docCommands(t, docBlocks(t, "README.md", 1)[0], "your-symfony-project")
	if len(cmds) != 1 {
		t.Fatalf("the swap has the commands %q, want one after the cd", cmds)
	}
	env, args := valksorCommand(t, cmds[0])
	if !reflect.DeepEqual(env, []string{"APP_ENV=dev"}) || len(args) != 0 {
		t.Fatalf("the README starts the server with %q", cmds[0])
	}
	project := copyExample(t, "symfony")
	srv := startProc(t, project, append(env, "VALKSOR_SSE_PORT=0"), serveListening, args...)
	srv.waitLog("the bundle's config", "config=config/packages/valksor.yaml", 10*time.Second)
	srv.waitLog("the watch of when@dev", `msg="watching for changes" paths=[public]`, 10*time.Second)

	resp, body := getBody(t, srv.url("/sse/healthz"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("/sse/healthz: %d %s", resp.StatusCode, body)
	}
	pid, err := os.ReadFile(filepath.Join(project, "var", "run", "valksor-sse.pid"))
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(srv.cmd.Process.Pid) {
		t.Fatalf("the pid file holds %q (%v), want %d", pid, err, srv.cmd.Process.Pid)
	}

	// The bundle's watcher writes the reload signal file.
	stream := openEventStream(t, srv.url("/sse"))
	signal := filepath.Join(project, "var", "run", "valksor-reload.signal")
	if err := os.WriteFile(signal, []byte(`{"files":["templates/base.html.twig"],"timestamp":1767225600}`), 0o644); err != nil {
		t.Fatal(err)
	}
	proctest.Await(t, 10*time.Second, "the reload of the signal file", func() bool {
		return strings.Contains(stream.String(), "event: reload\ndata: {\"files\":[\"templates/base.html.twig\"]}")
	})
}

// goInstall runs the words of a "go install" command in the repository's
// root with GOBIN set to gobin.
func goInstall(t *testing.T, gobin string, words []string) {
	t.Helper()
	if len(words) < 2 || words[0] != "go" || words[1] != "install" {
		t.Fatalf("%q is not a go install", words)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, words[1:]...)
	cmd.Dir = proctest.Root()
	cmd.Env = append(cleanEnv(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s in a clone: %v\n%s", strings.Join(words, " "), err, out)
	}
}

// startCurl runs curl with args until the test ends and returns what it
// prints.
func startCurl(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "curl", append([]string{"-s"}, args...)...)
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	return out
}

// openEventStream reads the stream at url until the test ends and returns
// what it received.
func openEventStream(t *testing.T, url string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	out := &syncBuffer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	proctest.Await(t, 10*time.Second, "the stream's connected event", func() bool {
		return strings.Contains(out.String(), "event: connected")
	})
	return out
}

var (
	eventIDs     = regexp.MustCompile(`\b\d{13}-\d+\b`)
	connectionID = regexp.MustCompile(`"id":"[0-9a-f]{24}"`)
)

// normalizeStream replaces the event and connection ids of an event stream,
// which differ from run to run, and trims its end.
func normalizeStream(s string) string {
	s = eventIDs.ReplaceAllString(s, "<id>")
	s = connectionID.ReplaceAllString(s, `"id":"<connection>"`)
	return strings.TrimSpace(s)
}
