package bench_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/bench"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/redis"
)

// TestSubscribeOnly publishes from the test, as another process would, to
// the streams of a SubscribeOnly run, once it says it is ready.
func TestSubscribeOnly(t *testing.T) {
	addr := startHub(t, sse.WithPublishToken("s3cret"))
	const n, k = 30, 7
	ready := make(chan int, 1)
	type result struct {
		rep bench.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := bench.Run(t.Context(), bench.Config{
			StreamURL:     "http://" + addr + "/sse?topic=bench",
			Streams:       n,
			Publishes:     k,
			SubscribeOnly: true,
			SourceAddrs:   true,
			Ready:         func(c int) { ready <- c },
		})
		done <- result{rep, err}
	}()
	select {
	case c := <-ready:
		if c != n {
			t.Fatalf("ready with %d streams, want %d", c, n)
		}
	case r := <-done:
		t.Fatalf("ended before it was ready: %v", r.err)
	}
	body := bench.DefaultPublishBody("bench", "bench")
	for seq := range k {
		ctype, b := body(seq, time.Now())
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/sse/publish", bytes.NewReader(b))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("publish %d: HTTP %d", seq, resp.StatusCode)
		}
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	rep := r.rep
	if rep.Connected != n || rep.Expected != n*k || rep.Received != n*k || rep.Lost != 0 || rep.TimedOut || len(rep.Warnings) != 0 {
		t.Errorf("connected %d, expected %d, received %d, lost %d, timed out %v, warnings %q; want %d, %d, %d, 0",
			rep.Connected, rep.Expected, rep.Received, rep.Lost, rep.TimedOut, rep.Warnings, n, n*k, n*k)
	}
	if len(rep.Latencies) != n*k || rep.LatencyP50 <= 0 || rep.Publishers != 0 {
		t.Errorf("%d latencies, p50 %v, publishers %d; want %d, positive, 0", len(rep.Latencies), rep.LatencyP50, rep.Publishers, n*k)
	}
	checkJSON(t, rep)
}

// TestSubscribeOnlyTimesOut ends a SubscribeOnly run that never gets an
// event after AwaitTimeout, and one that gets some but not all Timeout
// after the latest, counting the rest as lost.
func TestSubscribeOnlyTimesOut(t *testing.T) {
	addr := startHub(t, sse.WithPublishToken("s3cret"))
	cfg := bench.Config{
		StreamURL:     "http://" + addr + "/sse?topic=bench",
		PublishURL:    "http://" + addr + "/sse/publish",
		PublishToken:  "s3cret",
		Streams:       5,
		Publishes:     3,
		SubscribeOnly: true,
		AwaitTimeout:  200 * time.Millisecond,
		Timeout:       200 * time.Millisecond,
	}
	rep, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.TimedOut || rep.Lost != 15 || rep.Received != 0 {
		t.Errorf("timed out %v, lost %d, received %d; want true, 15, 0", rep.TimedOut, rep.Lost, rep.Received)
	}

	// One event of three arrives: the other two are lost.
	cfg.AwaitTimeout = time.Minute
	published := make(chan error, 1)
	cfg.Ready = func(int) {
		go func() {
			pub := cfg
			pub.SubscribeOnly, pub.Ready, pub.Publishes, pub.Streams = false, nil, 1, 1
			_, err := bench.Run(t.Context(), pub)
			published <- err
		}()
	}
	rep, err = bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	// The publishing run's own stream also connects; these 5 get event 0.
	if !rep.TimedOut || rep.Received != 5 || rep.Lost != 10 {
		t.Errorf("timed out %v, received %d, lost %d; want true, 5, 10", rep.TimedOut, rep.Received, rep.Lost)
	}
}

// TestNodesOnRedis splits the streams over two hubs that share a real
// Redis transport and publishes to the first: every stream of both gets
// every event.
func TestNodesOnRedis(t *testing.T) {
	r := proctest.StartRedis(t)
	prefix := "bench-nodes-test-" + randomHex(t)
	var urls []string
	for range 2 {
		tr, err := redis.New(t.Context(), redis.Options{URL: r.URL(), Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		addr := startHub(t, sse.WithPublishToken("s3cret"), sse.WithTransport(tr))
		urls = append(urls, "http://"+addr+"/sse?topic=bench")
	}
	first := strings.TrimSuffix(urls[0], "?topic=bench") + "/publish"
	const n, k = 50, 5
	var progress proctest.Buffer
	cfg := bench.NodesConfig{
		StreamURLs: urls,
		Sub:        bench.Config{PublishURL: first, PublishToken: "s3cret", Streams: n, Publishes: k, SourceAddrs: true},
		Progress:   &progress,
	}
	rep, err := bench.RunNodes(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Nodes != 2 || rep.Connected != 2*n || rep.Published != k || rep.Expected != 2*n*k || rep.Received != 2*n*k || rep.Lost != 0 || len(rep.Warnings) != 0 {
		t.Errorf("nodes %d, connected %d, published %d, expected %d, received %d, lost %d, warnings %q; want 2, %d, %d, %d, %d, 0",
			rep.Nodes, rep.Connected, rep.Published, rep.Expected, rep.Received, rep.Lost, rep.Warnings, 2*n, k, 2*n*k, 2*n*k)
	}
	if len(rep.PerNode) != 2 || rep.PerNode[0].Received != n*k || rep.PerNode[1].Received != n*k || rep.PerNode[1].Latencies != nil {
		t.Errorf("per node: %+v", rep.PerNode)
	}
	if rep.LatencyP50 <= 0 || rep.LatencyP99 < rep.LatencyP50 || rep.LatencyMax < rep.LatencyP99 || rep.PublishP50 <= 0 {
		t.Errorf("latency p50 %v, p99 %v, max %v, publish p50 %v: not sane", rep.LatencyP50, rep.LatencyP99, rep.LatencyMax, rep.PublishP50)
	}
	if !strings.Contains(progress.String(), "node 2: 50 streams connected") {
		t.Errorf("progress: %q", progress.String())
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"node 2", "100 connected", "500 of 500 received, 0 lost", "fan-out latency"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	checkJSON(t, rep)

	cr, err := bench.CompareNodes(t.Context(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if cr.A.Nodes != 1 || cr.A.Connected != n || cr.A.Lost != 0 || cr.A.Received != n*k ||
		cr.B.Nodes != 2 || cr.B.Connected != 2*n || cr.B.Lost != 0 || cr.B.Received != 2*n*k || cr.P99Ratio <= 0 {
		t.Errorf("compare: A %+v\nB %+v\np99 ratio %v", cr.A, cr.B, cr.P99Ratio)
	}
	table.Reset()
	if err := cr.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 node", "2 nodes", "streams per node", "500/500", "fan-out p99"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("comparison table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestNodesErrors checks that RunNodes refuses what it cannot run and says
// which node failed.
func TestNodesErrors(t *testing.T) {
	addr := startHub(t, sse.WithPublishToken("s3cret"))
	good := bench.Config{PublishURL: "http://" + addr + "/sse/publish", PublishToken: "s3cret", Streams: 2, Publishes: 1}
	for name, c := range map[string]bench.NodesConfig{
		"no nodes":     {Sub: good},
		"no publishes": {StreamURLs: []string{"http://" + addr + "/sse"}, Sub: bench.Config{Streams: 2}},
	} {
		if _, err := bench.RunNodes(t.Context(), c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A node that answers no stream: its subscriber ends before it is ready.
	_, err := bench.RunNodes(t.Context(), bench.NodesConfig{
		StreamURLs: []string{"http://" + addr + "/sse", startPlain(t) + "sse"},
		Sub:        good,
	})
	if err == nil || !strings.Contains(err.Error(), "node 2") {
		t.Errorf("got %v, want an error naming node 2", err)
	}
	// A subscriber process that cannot start.
	_, err = bench.RunNodes(t.Context(), bench.NodesConfig{
		StreamURLs: []string{"http://" + addr + "/sse"},
		Sub:        good,
		Command:    func(int, bench.Config, string) *exec.Cmd { return exec.Command("/nonexistent/valksor-sse") },
	})
	if err == nil || !strings.Contains(err.Error(), "node 1") {
		t.Errorf("got %v, want an error naming node 1", err)
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
