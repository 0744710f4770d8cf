package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/valksor/go-sse/internal/proctest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tailProc is a running `valksor-sse tail`.
type tailProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// startTail runs `valksor-sse tail args...` in dir and waits until its
// stream is open (the server has registered it, so nothing published from
// then on is missed).
func startTail(t *testing.T, dir string, args ...string) *tailProc {
	t.Helper()
	p := &tailProc{t: t, lines: make(chan string, 1000), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"tail"}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = cleanEnv()
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		proctest.End(p.cmd.Process, p.done)
		if t.Failed() {
			t.Logf("tail stderr:\n%s", p.stderr)
		}
	})
	p.waitStderr("tail: following", 20*time.Second)
	return p
}

// waitStderr waits until the tail's stderr contains s.
func (p *tailProc) waitStderr(s string, within time.Duration) {
	p.t.Helper()
	switch proctest.Poll(within, p.done, func() bool { return strings.Contains(p.stderr.String(), s) }) {
	case proctest.ErrStopped:
		p.t.Fatalf("tail exited (%v) before saying %q:\n%s", p.err, s, p.stderr)
	case proctest.ErrTimeout:
		p.t.Fatalf("tail did not say %q within %v:\n%s", s, within, p.stderr)
	}
}

// next returns the next line of output.
func (p *tailProc) next(within time.Duration) string {
	p.t.Helper()
	select {
	case l := <-p.lines:
		return l
	case <-time.After(within):
		p.t.Fatalf("no output line within %v; stderr:\n%s", within, p.stderr)
		return ""
	}
}

// interrupt stops the tail with SIGINT and returns its exit code.
func (p *tailProc) interrupt() int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatal("tail still running 10s after SIGINT")
	}
	if p.err != nil {
		if ee, ok := p.err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		p.t.Fatal(p.err)
	}
	return 0
}

// publishOK publishes and returns the event id.
func publishOK(t *testing.T, dir string, port int, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, dir, append(append([]string{"publish"}, args...), "--port", strconv.Itoa(port))...)
	if code != 0 {
		t.Fatalf("publish %q: exit %d: %s", args, code, errOut)
	}
	return strings.TrimSpace(out)
}

var tailLineRE = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (\S+) (\S+) (.*)$`)

// parseLine splits a plain tail line into type, id and data.
func parseLine(t *testing.T, line string) (typ, id, data string) {
	t.Helper()
	m := tailLineRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("tail line %q is not TIME TYPE ID DATA", line)
	}
	return m[1], m[2], m[3]
}

func TestTailPrintsEventsInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startEnv(t, dir, []string{"VALKSOR_SSE_PING_INTERVAL=1"}, "--port", "0")
	port := strconv.Itoa(s.port)
	plain := startTail(t, dir, "--port", port)
	all := startTail(t, dir, "--port", port, "--all")
	orders := startTail(t, dir, "--port", port, "--topic", "orders", "--type", "keep")

	// --all shows the connected event and, within a second, a ping; the
	// plain tail got that ping too, before anything published next.
	if typ, _, _ := parseLine(t, all.next(10*time.Second)); typ != "connected" {
		t.Fatalf("--all: first event %q, want connected", typ)
	}
	if typ, _, data := parseLine(t, all.next(10*time.Second)); typ != "ping" || !strings.Contains(data, "timestamp") {
		t.Fatalf("--all: second event %q %q, want a ping", typ, data)
	}

	var ids []string
	for i := range 5 {
		ids = append(ids, publishOK(t, dir, s.port, fmt.Sprintf("ev-%d", i), "--data", fmt.Sprintf(`{"n":%d}`, i)))
	}
	multi := publishOK(t, dir, s.port, "note", "--raw", "--data", "two\nlines")
	// tail shows a css-update as it is, not as the reload that streams of
	// clients without css-update get.
	css := publishOK(t, dir, s.port, "css-update", "--data", `{"files":["app.css"]}`)
	for i, id := range ids {
		line := plain.next(10 * time.Second)
		typ, gotID, data := parseLine(t, line)
		if typ != fmt.Sprintf("ev-%d", i) || gotID != id || data != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("line %d: %q, want ev-%d %s {\"n\":%d}", i, line, i, id, i)
		}
		if strings.Contains(line, "\x1b[") {
			t.Fatalf("colored output into a pipe: %q", line)
		}
	}
	if typ, id, data := parseLine(t, plain.next(10*time.Second)); typ != "note" || id != multi || data != `two\nlines` {
		t.Fatalf("multi-line data printed as %q %q %q", typ, id, data)
	}
	if typ, id, data := parseLine(t, plain.next(10*time.Second)); typ != "css-update" || id != css || data != `{"files":["app.css"]}` {
		t.Fatalf("css-update printed as %q %q %q", typ, id, data)
	}

	// --topic and --type: only "keep" events of orders.
	publishOK(t, dir, s.port, "drop", "--topic", "orders")
	publishOK(t, dir, s.port, "keep") // the public channel
	kept := publishOK(t, dir, s.port, "keep", "--topic", "orders", "--data", `{"ok":true}`)
	if typ, id, _ := parseLine(t, orders.next(10*time.Second)); typ != "keep" || id != kept {
		t.Fatalf("--topic orders --type keep printed %s %s, want keep %s", typ, id, kept)
	}
	select {
	case l := <-orders.lines:
		t.Fatalf("unexpected line %q", l)
	default:
	}
	if code := plain.interrupt(); code != 0 {
		t.Fatalf("tail exit %d after SIGINT", code)
	}
}

func TestTailJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	tail := startTail(t, dir, "--port", strconv.Itoa(s.port), "--json", "--color", "always")
	id1 := publishOK(t, dir, s.port, "order", "--data", `{"id":42,"items":["a","b"]}`)
	id2 := publishOK(t, dir, s.port, "text", "--raw", "--data", "plain words")
	for _, want := range []struct {
		typ, id string
		data    any
	}{
		{"order", id1, map[string]any{"id": 42.0, "items": []any{"a", "b"}}},
		{"text", id2, "plain words"},
	} {
		line := tail.next(10 * time.Second)
		var got struct {
			Time string `json:"time"`
			Type string `json:"type"`
			ID   string `json:"id"`
			Data any    `json:"data"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("--json line %q: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, got.Time); err != nil {
			t.Errorf("time %q: %v", got.Time, err)
		}
		if got.Type != want.typ || got.ID != want.id || fmt.Sprint(got.Data) != fmt.Sprint(want.data) {
			t.Errorf("got %+v, want %s %s %v", got, want.typ, want.id, want.data)
		}
	}
}

func TestTailColor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	tail := startTail(t, dir, "--port", strconv.Itoa(s.port), "--color", "always")
	id := publishOK(t, dir, s.port, "hello")
	if line := tail.next(10 * time.Second); !strings.Contains(line, "\x1b[1;36mhello\x1b[0m") || !strings.Contains(line, id) {
		t.Fatalf("--color always: %q", line)
	}
	if _, errOut, code := run(t, dir, "tail", "--color", "pink"); code != 2 || !strings.Contains(errOut, "auto, always or never") {
		t.Fatalf("--color pink: exit %d: %s", code, errOut)
	}
	if _, errOut, code := run(t, dir, "tail", "extra"); code != 2 || !strings.Contains(errOut, "no arguments") {
		t.Fatalf("tail extra: exit %d: %s", code, errOut)
	}
}

// TestTailSurvivesServerRestart kills the server (SIGKILL: no goodbye) and
// starts it again on the same port in the same directory. The tail
// reconnects by itself and prints what is published after the restart, in
// order, without repeating anything. The history is in memory, so nothing
// can be published while the server is down.
func TestTailSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	port := strconv.Itoa(s.port)
	tail := startTail(t, dir, "--port", port)
	before := []string{publishOK(t, dir, s.port, "before", "--data", `{"n":1}`), publishOK(t, dir, s.port, "before", "--data", `{"n":2}`)}
	for _, id := range before {
		if _, got, _ := parseLine(t, tail.next(10*time.Second)); got != id {
			t.Fatalf("before the restart: id %s, want %s", got, id)
		}
	}

	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	tail.waitStderr("connection lost", 10*time.Second)
	if _, errOut, code := run(t, dir, "publish", "lost", "--port", port); code != 1 || !strings.Contains(errOut, "no valksor-sse server answers") {
		t.Fatalf("publish while the server is down: exit %d: %s", code, errOut)
	}

	s2 := start(t, dir, "--port", port)
	var after []string
	for i := range 3 {
		after = append(after, publishOK(t, dir, s2.port, "after", "--data", fmt.Sprintf(`{"n":%d}`, i)))
	}
	// The new server's history starts after the tail's last id: the resume
	// is reported as a history-gap event (also explained on stderr), then
	// what was published since the restart follows.
	line := tail.next(30 * time.Second)
	if typ, _, data := parseLine(t, line); typ != "history-gap" || !strings.Contains(data, before[1]) {
		t.Fatalf("first line after the restart: %q, want the history-gap after %s", line, before[1])
	}
	for i, id := range after {
		line := tail.next(10 * time.Second)
		if typ, got, data := parseLine(t, line); typ != "after" || got != id || data != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("after the restart, line %d: %q, want after %s", i, line, id)
		}
	}
	tail.waitStderr("does not reach back to "+before[1], 5*time.Second)
	// One more, live this time.
	live := publishOK(t, dir, s2.port, "live")
	if _, got, _ := parseLine(t, tail.next(10*time.Second)); got != live {
		t.Fatalf("live event id %s, want %s", got, live)
	}
}
