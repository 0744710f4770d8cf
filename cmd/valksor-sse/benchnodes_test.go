package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/proctest"
)

// nodesSide is the part of a bench --nodes side this test reads.
type nodesSide struct {
	Name               string
	Nodes              int
	Connected          int
	Expected, Received int64
	Lost               int64
	LatencyP99         int64 `json:"latency_p99_ns"`
	StreamsPerNode     int   `json:"streams_per_node"`
	Published          int
}

// checkNodes checks the two sides of a lossless bench --nodes comparison of
// n nodes with per streams each and k publishes, over one round.
func checkNodes(t *testing.T, out string, n, per, k int) {
	t.Helper()
	var rep struct{ A, B nodesSide }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --nodes --json printed %q: %v", out, err)
	}
	for _, s := range []struct {
		side  nodesSide
		nodes int
	}{{rep.A, 1}, {rep.B, n}} {
		r, want := s.side, int64(s.nodes*per*k)
		if r.Nodes != s.nodes || r.Connected != s.nodes*per || r.StreamsPerNode != per || r.Published != k ||
			r.Expected != want || r.Received != want || r.Lost != 0 || r.LatencyP99 <= 0 {
			t.Errorf("%s: %+v; want %d nodes, %d deliveries", r.Name, r, s.nodes, want)
		}
	}
}

// TestBenchNodesCommand runs bench --nodes against two servers on one
// Redis: a subscriber process per server, events published to the first.
func TestBenchNodesCommand(t *testing.T) {
	t.Parallel()
	redisURL := testRedis(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	env := []string{
		"VALKSOR_SSE_TRANSPORT=" + redisURL,
		"VALKSOR_SSE_REDIS_PREFIX=bench-nodes-" + hex.EncodeToString(b[:]),
		"VALKSOR_SSE_PUBLISH_TOKEN=secret",
		"VALKSOR_SSE_MAX_CONNECTIONS=0",
		"VALKSOR_SSE_PING_INTERVAL=0",
	}
	var urls, pids []string
	for range 2 {
		s := startEnv(t, t.TempDir(), env, "--port", "0")
		urls = append(urls, s.url())
		pids = append(pids, strconv.Itoa(s.cmd.Process.Pid))
	}
	out, errOut, code := run(t, t.TempDir(), "bench", "--nodes", strings.Join(urls, ","), "--pids", strings.Join(pids, ","), "--token", "secret",
		"--streams", "30", "--publishes", "4", "--rounds", "1", "--json")
	if code != 0 {
		t.Fatalf("bench --nodes: exit %d: %s", code, errOut)
	}
	checkNodes(t, out, 2, 30, 4)
	var mem struct {
		BRounds []struct {
			PerNode []struct {
				RSSAfter int64 `json:"rss_after_kb"`
			} `json:"per_node"`
		} `json:"b_rounds"`
	}
	if err := json.Unmarshal([]byte(out), &mem); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		// Memory is read from /proc: the figure per stream may be 0 or
		// below for 30 streams, but both servers were read.
		if len(mem.BRounds) != 1 || len(mem.BRounds[0].PerNode) != 2 || mem.BRounds[0].PerNode[0].RSSAfter <= 0 || mem.BRounds[0].PerNode[1].RSSAfter <= 0 {
			t.Errorf("the servers' memory was not read: %+v", mem.BRounds)
		}
	}
	if !strings.Contains(errOut, "node 2: 30 streams connected") {
		t.Errorf("progress lacks node 2's subscriber:\n%s", errOut)
	}
}

// TestBenchPublishersCommand measures publish throughput with four
// publishers at once.
func TestBenchPublishersCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, dir, "--port", "0")
	out, errOut, code := run(t, dir, "bench", "--port", strconv.Itoa(s.port), "--streams", "20", "--publishes", "100", "--publishers", "4", "--json")
	if code != 0 {
		t.Fatalf("bench --publishers: exit %d: %s", code, errOut)
	}
	var rep struct {
		Connected, Published, Publishers int
		Received, Lost                   int64
		PublishesPerSec                  float64 `json:"publishes_per_sec"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json printed %q: %v", out, err)
	}
	if rep.Connected != 20 || rep.Published != 100 || rep.Publishers != 4 || rep.Received != 2000 || rep.Lost != 0 || rep.PublishesPerSec <= 0 {
		t.Errorf("report %+v", rep)
	}
}

// TestBenchNodesScript runs scripts/bench-nodes at a tiny size: it starts
// three servers on the test Redis, compares them with one, and stops them.
func TestBenchNodesScript(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("scripts/bench-nodes is a bash script")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("scripts/bench-nodes needs curl")
	}
	t.Parallel()
	redisURL := testRedis(t)
	port := freePorts(t, 3)
	cmd := exec.Command(filepath.Join(proctest.Root(), "scripts", "bench-nodes"), "--bin", bin, "--redis", redisURL,
		"--port", strconv.Itoa(port), "--per-node", "20", "--rounds", "1", "--publishes", "3", "--gap", "0", "--json")
	cmd.Env = cleanEnv()
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/bench-nodes: %v\n%s", err, errOut.String())
	}
	checkNodes(t, out.String(), 3, 20, 3)
	// The servers are gone.
	for i := range 3 {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port+i)); err == nil {
			c.Close()
			t.Errorf("port %d still answers after the script ended", port+i)
		}
	}
}

// freePorts returns the first of n consecutive ports that are free on
// 127.0.0.1 now.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		first := ln.Addr().(*net.TCPAddr).Port
		held := []net.Listener{ln}
		for i := 1; i < n; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", first+i))
			if err != nil {
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if len(held) == n {
			return first
		}
	}
	t.Fatalf("found no %d consecutive free ports", n)
	return 0
}
