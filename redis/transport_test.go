package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/redis"
	"github.com/valksor/go-sse/ssetest"
)

// TestConformance runs the transport suite with exact trimming, and
// TestConformanceApproximate with Redis's default approximate trimming,
// which may keep up to about 100 entries more than MaxLen.
func TestConformance(t *testing.T) {
	needRedis(t)
	const size = 100
	var prefixes sync.Map // *redis.Transport -> prefix
	ssetest.Run(t, ssetest.Config{
		New: func(t *testing.T) sse.Transport {
			p := newPrefix(t)
			tr := open(t, p, redis.Options{MaxLen: size, ExactTrim: true})
			prefixes.Store(tr, p)
			return tr
		},
		Peer: func(t *testing.T, first sse.Transport) sse.Transport {
			p, _ := prefixes.Load(first)
			return open(t, p.(string), redis.Options{MaxLen: size, ExactTrim: true})
		},
		HistorySize: size,
	})
}

func TestConformanceApproximate(t *testing.T) {
	needRedis(t)
	const size = 20
	var prefixes sync.Map // *redis.Transport -> prefix
	ssetest.Run(t, ssetest.Config{
		New: func(t *testing.T) sse.Transport {
			p := newPrefix(t)
			tr := open(t, p, redis.Options{MaxLen: size})
			prefixes.Store(tr, p)
			return tr
		},
		Peer: func(t *testing.T, first sse.Transport) sse.Transport {
			p, _ := prefixes.Load(first)
			return open(t, p.(string), redis.Options{MaxLen: size})
		},
		HistorySize: size,
		TrimSlack:   100,
	})
}

func TestApproximateTrimming(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{MaxLen: 10})
	var ms []*sse.Message
	for i := range 300 {
		ms = append(ms, publish(t, tr, &sse.Message{Data: fmt.Sprint(i)}))
	}
	n, err := adminClient(t).XLen(context.Background(), p+":stream").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 || n >= 300 {
		t.Fatalf("stream holds %d entries after 300 publishes with MaxLen ~10", n)
	}
	h := history(t, tr, ms[0].ID)
	if h.Complete || len(h.Messages) != int(n) {
		t.Fatalf("History(trimmed id) = %d messages complete=%v, want the %d retained and a gap", len(h.Messages), h.Complete, n)
	}
	oldest := ms[300-n]
	if h.Messages[0].ID != oldest.ID {
		t.Fatalf("oldest retained is %s, want %s", h.Messages[0].ID, oldest.ID)
	}
	if h := history(t, tr, oldest.ID); !h.Complete || len(h.Messages) != int(n)-1 {
		t.Fatalf("History(oldest retained) = %d messages complete=%v, want %d complete", len(h.Messages), h.Complete, n-1)
	}
	if h := history(t, tr, sse.EarliestID); h.Complete || len(h.Messages) != int(n) {
		t.Fatalf("History(earliest) = %d messages complete=%v, want %d and a gap", len(h.Messages), h.Complete, n)
	}
}

func TestMaxAgeOnPublish(t *testing.T) {
	p := newPrefix(t)
	const age = 50 * time.Millisecond
	tr := open(t, p, redis.Options{MaxLen: -1, MaxAge: age, ExactTrim: true, BlockTimeout: time.Hour})
	old := publish(t, tr, &sse.Message{Data: "old"})
	time.Sleep(age + 10*time.Millisecond) // the duration under test
	fresh := publish(t, tr, &sse.Message{Data: "new"})
	h := history(t, tr, sse.EarliestID)
	if len(h.Messages) != 1 || h.Messages[0].ID != fresh.ID || h.Complete {
		t.Fatalf("History(earliest) = %d messages complete=%v, want only the new one and a gap", len(h.Messages), h.Complete)
	}
	if h := history(t, tr, old.ID); h.Complete || len(h.Messages) != 1 {
		t.Fatalf("History(expired id) = %d messages complete=%v, want the new one and a gap", len(h.Messages), h.Complete)
	}
}

func TestMaxAgeByReader(t *testing.T) {
	p := newPrefix(t)
	const age = 100 * time.Millisecond
	tr := open(t, p, redis.Options{MaxAge: age, ExactTrim: true, BlockTimeout: 20 * time.Millisecond})
	publish(t, tr, &sse.Message{Data: "old"})
	// Trimming runs in the reader, on its own schedule; nothing announces it.
	deadline := time.Now().Add(wait)
	for {
		h := history(t, tr, sse.EarliestID)
		if len(h.Messages) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("an entry older than MaxAge %s is still retained after %s", age, wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCustomIDs(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{MaxLen: 2000, ExactTrim: true})
	publish(t, tr, &sse.Message{ID: "dup", Data: "first dup"})
	publish(t, tr, &sse.Message{ID: "deep", Data: "deep"})
	for i := range 700 {
		publish(t, tr, &sse.Message{Data: fmt.Sprint(i)})
	}
	err := tr.Publish(context.Background(), &sse.Message{ID: "dup", Data: "second dup", Topics: []string{sse.DefaultTopic}})
	if !errors.Is(err, sse.ErrDuplicateID) {
		t.Fatalf("a second dup = %v, want ErrDuplicateID", err)
	}
	h := history(t, tr, "deep")
	if !h.Complete || len(h.Messages) != 700 || h.Messages[0].Data != "0" || h.Messages[699].Data != "699" {
		t.Fatalf("History(deep) = %d messages complete=%v", len(h.Messages), h.Complete)
	}
	if h := history(t, tr, "dup"); !h.Complete || len(h.Messages) != 701 || h.Messages[0].ID != "deep" {
		t.Fatalf("History(dup) = %d messages complete=%v, want the 701 after the only dup", len(h.Messages), h.Complete)
	}
	if h := history(t, tr, "never-published"); h.Complete || len(h.Messages) != 702 {
		t.Fatalf("History(unknown) = %d messages complete=%v, want all 702 retained and a gap", len(h.Messages), h.Complete)
	}
}

// TestIDIndexStaysBounded: the index of publisher-chosen ids forgets the
// ids whose entries were trimmed, so it does not grow with every publish.
func TestIDIndexStaysBounded(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{MaxLen: 20, ExactTrim: true})
	for i := range 500 {
		publish(t, tr, &sse.Message{ID: fmt.Sprintf("order-%d", i), Data: fmt.Sprint(i)})
	}
	n, err := adminClient(t).HLen(context.Background(), p+":ids").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 || n > 2*20+64+1 {
		t.Fatalf("the id index holds %d ids for a history of 20", n)
	}
	// A trimmed id is free again; a retained one is not.
	publish(t, tr, &sse.Message{ID: "order-0", Data: "again"})
	err = tr.Publish(context.Background(), &sse.Message{ID: "order-499", Topics: []string{sse.DefaultTopic}})
	if !errors.Is(err, sse.ErrDuplicateID) {
		t.Fatalf("reusing a retained id = %v, want ErrDuplicateID", err)
	}
	if h := history(t, tr, "order-498"); !h.Complete || datas(h.Messages) != "499,again" {
		t.Fatalf("History(order-498) = %q complete=%v", datas(h.Messages), h.Complete)
	}
}

func TestHistoryWithoutStream(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{})
	if h := history(t, tr, sse.EarliestID); !h.Complete || len(h.Messages) != 0 {
		t.Fatalf("History(earliest) of no stream = %d messages complete=%v, want none, complete", len(h.Messages), h.Complete)
	}
	for _, id := range []string{"1-0", "custom"} {
		if h := history(t, tr, id); h.Complete || len(h.Messages) != 0 {
			t.Fatalf("History(%s) of no stream = %d messages complete=%v, want a gap", id, len(h.Messages), h.Complete)
		}
	}
}

func TestHistoryCursorAfterEnd(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{})
	m := publish(t, tr, &sse.Message{Data: "x"})
	future := sse.Cursor{Ms: m.Cursor.Ms + 1000}.String()
	for _, id := range []string{future, "18446744073709551615-18446744073709551615"} {
		if h := history(t, tr, id); h.Complete || datas(h.Messages) != "x" {
			t.Fatalf("History(%s) = %q complete=%v, want everything retained as a gap", id, datas(h.Messages), h.Complete)
		}
	}
}

func TestXDELIsAGap(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{})
	a := publish(t, tr, &sse.Message{Data: "a"})
	b := publish(t, tr, &sse.Message{Data: "b"})
	publish(t, tr, &sse.Message{Data: "c"})
	admin := adminClient(t)
	if err := admin.XDel(context.Background(), p+":stream", b.ID).Err(); err != nil {
		t.Fatal(err)
	}
	info, err := admin.XInfoStream(context.Background(), p+":stream").Result()
	if err != nil {
		t.Fatal(err)
	}
	if info.MaxDeletedEntryID == "" {
		t.Skip("Redis before 7.0 does not report max-deleted-entry-id")
	}
	if h := history(t, tr, a.ID); h.Complete {
		t.Fatal("History after an id followed by an XDEL'd entry says complete")
	}
	if h := history(t, tr, b.ID); !h.Complete || len(h.Messages) != 1 {
		t.Fatalf("History(deleted id) = %d messages complete=%v, want c, complete", len(h.Messages), h.Complete)
	}
}

func TestNewUnreachable(t *testing.T) {
	port := closedPort(t)
	url := fmt.Sprintf("redis://:s3cret@127.0.0.1:%d/0", port)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := redis.New(ctx, redis.Options{URL: url, Logger: discard})
	if err == nil {
		t.Fatal("New succeeded without a Redis")
	}
	msg := err.Error()
	want := fmt.Sprintf("redis: cannot reach redis://127.0.0.1:%d/0: ", port)
	if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "; is redis-server running?") {
		t.Errorf("error = %q, want %q...; is redis-server running?", msg, want)
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error shows the password: %q", msg)
	}
	if !errors.Is(err, sse.ErrTransportUnavailable) {
		t.Errorf("error does not wrap sse.ErrTransportUnavailable: %v", err)
	}
}

func TestOptionsRejected(t *testing.T) {
	ctx := context.Background()
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	for name, o := range map[string]redis.Options{
		"both URL and Client": {URL: "redis://127.0.0.1:1/0", Client: client},
		"unbounded history":   {URL: "redis://127.0.0.1:1/0", MaxLen: -1},
		"negative MaxAge":     {URL: "redis://127.0.0.1:1/0", MaxAge: -time.Second},
		"tiny BlockTimeout":   {URL: "redis://127.0.0.1:1/0", BlockTimeout: time.Microsecond},
		"bad scheme":          {URL: "http://127.0.0.1:1/0"},
	} {
		if _, err := redis.New(ctx, o); err == nil {
			t.Errorf("%s: New accepted the options", name)
		} else if strings.Contains(err.Error(), "cannot reach") {
			t.Errorf("%s: New tried to connect before validating: %v", name, err)
		}
	}
	_, err := redis.New(ctx, redis.Options{URL: "redis://:pw@[::1", Logger: discard})
	if err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("malformed URL: %v", err)
	}
}

func TestWrongKeyType(t *testing.T) {
	p := newPrefix(t)
	if err := adminClient(t).Set(context.Background(), p+":stream", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := redis.New(context.Background(), redis.Options{URL: testURL(), Prefix: p, Logger: discard})
	if err == nil || !strings.Contains(err.Error(), "holds something other than a stream") {
		t.Fatalf("New on a string key: %v", err)
	}
}

func TestString(t *testing.T) {
	p := newPrefix(t)
	o, _ := goredis.ParseURL(testURL())
	tr := open(t, p, redis.Options{})
	want := fmt.Sprintf("redis (%s/%d, stream %s:stream)", o.Addr, o.DB, p)
	if got := tr.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if o.Password != "" && strings.Contains(tr.String(), o.Password) {
		t.Fatal("String shows the password")
	}
}

func TestSuppliedClient(t *testing.T) {
	p := newPrefix(t)
	o, _ := goredis.ParseURL(testURL())
	o.MaxRetries = -1
	client := goredis.NewClient(o)
	defer client.Close()
	tr := open(t, p, redis.Options{Client: client})
	got := ssetest.Listen(t, tr)
	m := publish(t, tr, &sse.Message{Data: "via client"})
	if g := got.WaitFor(t, 1); g[0].ID != m.ID {
		t.Fatalf("listener got %s, want %s", g[0].ID, m.ID)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Close closed the caller's client: %v", err)
	}
}

func TestCloseIsPrompt(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{BlockTimeout: time.Minute})
	got := ssetest.Listen(t, tr)
	publish(t, tr, &sse.Message{Data: "x"})
	got.WaitFor(t, 1) // the reader is now blocked in XREAD for a minute
	start := time.Now()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s with a blocked reader", d)
	}
	if _, err := tr.Listen(func(*sse.Message) {}); !errors.Is(err, sse.ErrTransportClosed) {
		t.Fatalf("Listen after Close = %v", err)
	}
	if err := tr.Health(context.Background()); !errors.Is(err, sse.ErrTransportClosed) {
		t.Fatalf("Health after Close = %v", err)
	}
}

func TestHealth(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{})
	if err := tr.Health(context.Background()); err != nil {
		t.Fatalf("Health = %v", err)
	}
}

func TestInvalidTopic(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{})
	err := tr.Publish(context.Background(), &sse.Message{Data: "x", Topics: []string{"a\nb"}})
	if !errors.Is(err, sse.ErrInvalidTopic) {
		t.Fatalf("Publish with a line break in a topic = %v", err)
	}
}

func TestListenerStopsDuringDelivery(t *testing.T) {
	p := newPrefix(t)
	tr := open(t, p, redis.Options{})
	var mu sync.Mutex
	calls := 0
	stop, err := tr.Listen(func(*sse.Message) { mu.Lock(); calls++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	marker := ssetest.Listen(t, tr)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 100 {
			if err := tr.Publish(context.Background(), &sse.Message{Data: fmt.Sprint(i), Topics: []string{sse.DefaultTopic}}); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	})
	marker.WaitFor(t, 10)
	stop()
	mu.Lock()
	n := calls
	mu.Unlock()
	wg.Wait()
	marker.WaitFor(t, 100)
	mu.Lock()
	defer mu.Unlock()
	if calls != n {
		t.Fatalf("listener called %d times after stop returned", calls-n)
	}
}

// closedPort returns a local TCP port nothing listens on.
func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}
