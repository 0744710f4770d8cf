package metrics_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/metrics"
)

// fakeSource returns settable stats and can count its history.
type fakeSource struct {
	mu      sync.Mutex
	st      sse.Stats
	history int
}

func (f *fakeSource) Stats() sse.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeSource) HistoryLen(context.Context) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.history, true
}

func TestMetricsHubCollector(t *testing.T) {
	src := &fakeSource{st: sse.Stats{Connections: 3, MaxConnections: 100, Published: 7, Delivered: 21, SlowDisconnects: 1, Uptime: 90 * time.Second}, history: 7}
	m := metrics.New(src)
	want := `
# HELP valksor_sse_deliveries_total Events queued to streams: one per stream per event.
# TYPE valksor_sse_deliveries_total counter
valksor_sse_deliveries_total 21
# HELP valksor_sse_events_published_total Events accepted by Broadcast and the publish endpoint.
# TYPE valksor_sse_events_published_total counter
valksor_sse_events_published_total 7
# HELP valksor_sse_history_events Events kept in the history for resuming clients.
# TYPE valksor_sse_history_events gauge
valksor_sse_history_events 7
# HELP valksor_sse_slow_consumer_disconnects_total Streams dropped because their queue was full (the client did not keep up).
# TYPE valksor_sse_slow_consumer_disconnects_total counter
valksor_sse_slow_consumer_disconnects_total 1
# HELP valksor_sse_streams_max The connection cap (max_connections); 0 means none.
# TYPE valksor_sse_streams_max gauge
valksor_sse_streams_max 100
# HELP valksor_sse_streams_open Streams open now.
# TYPE valksor_sse_streams_open gauge
valksor_sse_streams_open 3
# HELP valksor_sse_streams_opened_total Stream requests by result: ok (opened), refused (by the hub: credentials, bad request, connection cap, shutdown) or limited (429 from a rate limit).
# TYPE valksor_sse_streams_opened_total counter
valksor_sse_streams_opened_total{result="limited"} 1
valksor_sse_streams_opened_total{result="ok"} 2
valksor_sse_streams_opened_total{result="refused"} 0
`
	m.StreamOpened(metrics.ResultOK)
	m.StreamOpened(metrics.ResultOK)
	m.StreamOpened(metrics.ResultLimited)
	names := []string{"valksor_sse_deliveries_total", "valksor_sse_events_published_total", "valksor_sse_history_events",
		"valksor_sse_slow_consumer_disconnects_total", "valksor_sse_streams_max", "valksor_sse_streams_open", "valksor_sse_streams_opened_total"}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndLint(m.Registry()); err != nil || len(n) > 0 {
		t.Fatalf("lint: %v %v", err, n)
	}
}

// scrape reads the metrics page into name{labels} -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestRealHub scrapes the metrics of a real hub over HTTP while events
// flow to a stream.
func TestMetricsRealHub(t *testing.T) {
	hub, err := sse.New(sse.WithPingInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown(context.Background())
	m := metrics.New(hub)
	m.GaugeFunc("valksor_sse_test_gauge", "A gauge for the test.", func() float64 { return 42 })
	mux := http.NewServeMux()
	hub.Register(mux)
	mux.Handle("/metrics", m.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	before := scrape(t, srv.URL+"/metrics")
	if before["valksor_sse_streams_open"] != 0 || before["valksor_sse_test_gauge"] != 42 || before["go_goroutines"] == 0 {
		t.Fatalf("before: open %v, gauge %v, goroutines %v", before["valksor_sse_streams_open"], before["valksor_sse_test_gauge"], before["go_goroutines"])
	}
	resp, err := http.Get(srv.URL + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readUntil := func(prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended before %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	readUntil("event: connected")
	for i := range 3 {
		if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: i}); err != nil {
			t.Fatal(err)
		}
		readUntil("event: tick")
	}
	after := scrape(t, srv.URL+"/metrics")
	if after["valksor_sse_streams_open"] != 1 || after["valksor_sse_events_published_total"] != 3 || after["valksor_sse_deliveries_total"] != 3 {
		t.Fatalf("after three events: open %v, published %v, delivered %v", after["valksor_sse_streams_open"], after["valksor_sse_events_published_total"], after["valksor_sse_deliveries_total"])
	}
	m.ObservePublish(200, 3*time.Millisecond)
	m.Limited("publishes_per_second")
	last := scrape(t, srv.URL+"/metrics")
	if last[`valksor_sse_publish_requests_total{code="200"}`] != 1 || last["valksor_sse_publish_duration_seconds_count"] != 1 ||
		last[`valksor_sse_rate_limited_total{limit="publishes_per_second"}`] != 1 {
		t.Fatalf("publish and limit counters: %v", last)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 0))
}
