//go:build unix

package e2e_test

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/proctest"
)

// The scale-out guide's commands record pids and stop the servers with
// kill, which Windows has not; the guide is followed on Unix.

// TestScaleOutGuide follows docs/scale-out.md against a Redis of its own:
// the three servers started by the guide's loop (on free ports), which
// returns only once each is ready and records their pids; a subscriber on
// the third; an event published on the first, which the subscriber
// receives; and the guide's kill, after which the three have exited.
func TestScaleOutGuide(t *testing.T) {
	needCommand(t, "curl")
	redis := proctest.StartRedis(t)
	blocks := docBlocks(t, "docs/scale-out.md", 4)
	dir := t.TempDir()
	ports := []string{strconv.Itoa(freeTCPPort(t)), strconv.Itoa(freeTCPPort(t)), strconv.Itoa(freeTCPPort(t))}
	replace := []string{"/tmp/sse-nodes", dir, "redis://127.0.0.1:6379/0", redis.URL(),
		"8081", ports[0], "8082", ports[1], "8083", ports[2]}
	pidFile := filepath.Join(dir, "pids")
	t.Cleanup(func() { // servers the guide's kill did not stop
		for _, pid := range readPids(t, pidFile) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	out := runDocCommands(t, t.TempDir(), []string{blocks[0].Text}, nil, replace...)
	pids := readPids(t, pidFile)
	if len(pids) != 3 {
		t.Fatalf("the pid file holds %v, want three pids; the commands printed:\n%s", pids, out)
	}
	for i, pid := range pids {
		if !strings.Contains(out, strconv.Itoa(pid)+"\n") {
			t.Errorf("the commands printed %q, without the pid %d", out, pid)
		}
		// Each server answered readyz before the loop returned.
		resp, _ := getBody(t, "http://127.0.0.1:"+ports[i]+"/sse/readyz")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("server %d answers readyz with %d", i+1, resp.StatusCode)
		}
	}

	sub := blocks[1].Commands()
	if len(sub) != 1 || !reflect.DeepEqual(docWords(t, sub[0]), []string{"curl", "-N", "localhost:8083/sse"}) {
		t.Fatalf("the guide subscribes with %q", sub)
	}
	stream := startCurl(t, "-N", "localhost:"+ports[2]+"/sse")
	proctest.Await(t, 10*time.Second, "the subscriber to connect", func() bool {
		return strings.Contains(stream.String(), "event: connected")
	})

	runDocCommands(t, t.TempDir(), blocks[2].Commands(), nil, replace...)
	proctest.Await(t, 10*time.Second, "the event published on the first server, on the third", func() bool {
		return strings.Contains(stream.String(), "event: hello\ndata: {\"from\":\"the first server\"}\n")
	})

	runDocCommands(t, t.TempDir(), blocks[3].Commands(), nil, replace...)
	for _, pid := range pids {
		proctest.Await(t, 15*time.Second, "server "+strconv.Itoa(pid)+" to exit", func() bool { return !processRuns(pid) })
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("the pid file is still there after the guide's kill (%v)", err)
	}
}

// readPids reads a file of pids, one a line; a missing file holds none.
func readPids(t *testing.T, name string) []int {
	t.Helper()
	b, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s holds %q", name, b)
		}
		pids = append(pids, pid)
	}
	return pids
}

// processRuns reports whether the process pid exists and is not a zombie
// (an exited process that nobody has reaped yet).
func processRuns(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc (macOS): init reaps orphans there
	}
	// The state follows the command name in parentheses.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
