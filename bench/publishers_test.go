package bench_test

import (
	"strings"
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/bench"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/redis"
)

// TestPublishers publishes from four publishers at once, on the memory and
// the Redis transport: every accepted publish reaches every stream.
func TestPublishers(t *testing.T) {
	hubs := map[string]func(t *testing.T) string{
		"memory": func(t *testing.T) string { return startHub(t, sse.WithPublishToken("s3cret")) },
		"redis": func(t *testing.T) string {
			r := proctest.StartRedis(t)
			tr, err := redis.New(t.Context(), redis.Options{URL: r.URL(), Prefix: "bench-publishers-" + randomHex(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tr.Close() })
			return startHub(t, sse.WithPublishToken("s3cret"), sse.WithTransport(tr))
		},
	}
	for name, start := range hubs {
		t.Run(name, func(t *testing.T) {
			addr := start(t)
			const n, k = 20, 200
			rep, err := bench.Run(t.Context(), bench.Config{
				StreamURL:    "http://" + addr + "/sse?topic=bench",
				PublishURL:   "http://" + addr + "/sse/publish",
				PublishToken: "s3cret",
				Streams:      n,
				Publishes:    k,
				Publishers:   4,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, rep, n, k)
			if rep.Received != int64(rep.Published)*int64(rep.Connected) {
				t.Errorf("received %d, want published %d × streams %d", rep.Received, rep.Published, rep.Connected)
			}
			if rep.Publishers != 4 || rep.PublishesPerSec <= 0 || rep.PublishSeconds <= 0 {
				t.Errorf("publishers %d, publishes/s %v, publish seconds %v", rep.Publishers, rep.PublishesPerSec, rep.PublishSeconds)
			}
			out := checkTable(t, rep)
			for _, want := range []string{"4 publishers, back to back", "publishes/s"} {
				if !strings.Contains(out, want) {
					t.Errorf("table lacks %q:\n%s", want, out)
				}
			}
			checkJSON(t, rep)
		})
	}
}

// TestPublishersFailures counts the refused publishes of concurrent
// publishers and refuses Publishers with a Gap.
func TestPublishersFailures(t *testing.T) {
	addr := startHub(t, sse.WithPublishToken("right"))
	cfg := bench.Config{
		StreamURL: "http://" + addr + "/sse", PublishURL: "http://" + addr + "/sse/publish", PublishToken: "wrong",
		Streams: 2, Publishes: 8, Publishers: 3, SettleTime: -1,
	}
	rep, err := bench.Run(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "every publish") || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "(8 times)") {
		t.Errorf("err = %v", err)
	}
	if rep.Published != 0 {
		t.Errorf("published %d", rep.Published)
	}
	cfg.Gap = 1
	if _, err := bench.Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "Gap") {
		t.Errorf("Publishers with a Gap: err = %v", err)
	}
}
