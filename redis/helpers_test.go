package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/redis"
)

// wait is the longest a test waits for an asynchronous delivery.
const wait = 10 * time.Second

// quietLogger silences go-redis's own logging (dial failures are expected in
// these tests and reported through the transport's errors instead).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	goredis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

// testURL is the Redis the tests use: $VALKSOR_SSE_TEST_REDIS or database 15
// of the local server.
func testURL() string {
	if u := os.Getenv("VALKSOR_SSE_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

var (
	probeOnce sync.Once
	probeErr  error
)

// needRedis skips the test when the test Redis does not answer, or fails it
// on CI, where a Redis must be there.
func needRedis(t testing.TB) {
	t.Helper()
	probeOnce.Do(func() {
		o, err := goredis.ParseURL(testURL())
		if err != nil {
			probeErr = err
			return
		}
		o.MaxRetries, o.DialerRetries = -1, 1 // answer fast when there is none
		c := goredis.NewClient(o)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		probeErr = c.Ping(ctx).Err()
	})
	if probeErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Redis at %s (set VALKSOR_SSE_TEST_REDIS): %v", testURL(), probeErr)
		}
		t.Skipf("no Redis at %s (set VALKSOR_SSE_TEST_REDIS): %v", testURL(), probeErr)
	}
}

// adminClient is a plain client on the test Redis for setup and checks.
func adminClient(t testing.TB) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(testURL())
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newPrefix returns a random key prefix and deletes its keys when the test
// ends.
func newPrefix(t testing.TB) string {
	t.Helper()
	needRedis(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "valksor-sse-test:" + hex.EncodeToString(b[:])
	admin := adminClient(t)
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := admin.Keys(ctx, prefix+":*").Result()
		if err == nil && len(keys) > 0 {
			err = admin.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("deleting the test keys of %s: %v", prefix, err)
		}
	})
	return prefix
}

// discard is a logger for tests that do not look at the log.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// open creates a transport on the test Redis with prefix and closes it when
// the test ends. Zero fields of o get test defaults.
func open(t testing.TB, prefix string, o redis.Options) *redis.Transport {
	t.Helper()
	if o.URL == "" && o.Client == nil {
		o.URL = testURL()
	}
	o.Prefix = prefix
	if o.Logger == nil {
		o.Logger = discard
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr, err := redis.New(ctx, o)
	if err != nil {
		t.Fatalf("redis.New: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func publish(t testing.TB, tr sse.Transport, m *sse.Message) *sse.Message {
	t.Helper()
	if m.Topics == nil {
		m.Topics = []string{sse.DefaultTopic}
	}
	if err := tr.Publish(context.Background(), m); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return m
}

func history(t testing.TB, tr sse.Transport, id string) sse.History {
	t.Helper()
	h, err := tr.History(context.Background(), id)
	if err != nil {
		t.Fatalf("History(%q): %v", id, err)
	}
	return h
}

// datas joins the data of ms with commas.
func datas(ms []*sse.Message) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.Data
	}
	return strings.Join(s, ",")
}
