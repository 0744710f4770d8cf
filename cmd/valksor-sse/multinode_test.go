package main_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/valksor/go-sse/internal/proctest"
	"net"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
)

// testRedis returns the Redis URL for tests: VALKSOR_SSE_TEST_REDIS, or
// database 14 of the local server. It skips the test when none answers,
// except in CI, where a missing Redis fails it.
func testRedis(t *testing.T) string {
	t.Helper()
	u := os.Getenv("VALKSOR_SSE_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/14"
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", pu.Host, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Redis at %s: %v (./scripts/test starts one)", u, err)
		}
		t.Skipf("no Redis at %s: %v", u, err)
	}
	c.Close()
	return u
}

// collect reads type-n events from a node until ctx ends.
type collected struct {
	mu   sync.Mutex
	data []string
	last string
}

func (c *collected) add(e client.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data = append(c.data, e.Data)
	c.last = e.ID
}

func (c *collected) snapshot() ([]string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.data...), c.last
}

func follow(ctx context.Context, url, lastID string, into *collected, connected chan<- struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		sub := &client.Subscriber{URL: url, LastEventID: lastID, MaxBackoff: 100 * time.Millisecond}
		done <- sub.Run(ctx, func(e client.Event) error {
			switch e.Type {
			case sse.TypeConnected:
				if connected != nil {
					connected <- struct{}{}
				}
			case "n":
				into.add(e)
			}
			return nil
		})
	}()
	return done
}

// TestThreeNodesOnOneRedis runs three real servers sharing one Redis:
// events published round-robin on the three reach a subscriber on each in
// one order, and a subscriber whose node is killed resumes on another node
// with its last id and ends with every event exactly once.
func TestThreeNodesOnOneRedis(t *testing.T) {
	t.Parallel()
	redisURL := testRedis(t)
	var b [6]byte
	rand.Read(b[:])
	env := []string{
		"VALKSOR_SSE_TRANSPORT=" + redisURL,
		"VALKSOR_SSE_REDIS_PREFIX=multinode-" + hex.EncodeToString(b[:]),
		"VALKSOR_SSE_HISTORY_SIZE=5000",
		"VALKSOR_SSE_MAX_CONNECTIONS=0",
		"VALKSOR_SSE_ALLOW_ANONYMOUS_PUBLISH=true",
	}
	var nodes []*server
	for range 3 {
		nodes = append(nodes, startEnv(t, t.TempDir(), env, "--port", "0"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	subs := make([]*collected, 3)
	connected := make(chan struct{}, 10)
	for i, n := range nodes {
		subs[i] = &collected{}
		follow(ctx, n.url(), "", subs[i], connected)
	}
	// The subscriber whose node dies: on node 2 first.
	moving := &collected{}
	movingCtx, stopMoving := context.WithCancel(ctx)
	defer stopMoving()
	movingDone := follow(movingCtx, nodes[2].url(), "", moving, connected)
	for range 4 {
		select {
		case <-connected:
		case <-ctx.Done():
			t.Fatal("subscribers did not connect")
		}
	}

	const total = 1000
	pubs := make([]*client.Publisher, 3)
	for i, n := range nodes {
		pubs[i] = &client.Publisher{URL: n.url()}
	}
	for i := range total {
		node := i % 3
		if i >= 400 && node == 2 {
			node = i % 2 // node 2 is gone
		}
		if i == 400 {
			nodes[2].signal(syscall.SIGKILL)
			nodes[2].exited()
			// The client notices its node is gone and moves to node 0
			// with the last id it saw.
			stopMoving()
			<-movingDone
			_, last := moving.snapshot()
			follow(ctx, nodes[0].url(), last, moving, nil)
		}
		if _, err := pubs[node].Publish(ctx, sse.Event{Type: "n", Data: fmt.Sprint(i)}); err != nil {
			t.Fatalf("publish %d on node %d: %v", i, node, err)
		}
	}

	waitAll := func(c *collected) []string {
		var got []string
		_ = proctest.Poll(30*time.Second, nil, func() bool { got, _ = c.snapshot(); return len(got) >= total })
		return got
	}
	ref := waitAll(subs[0])
	if len(ref) != total {
		t.Fatalf("node 0's subscriber got %d of %d events", len(ref), total)
	}
	seen := map[string]bool{}
	for _, d := range ref {
		if seen[d] {
			t.Fatalf("node 0's subscriber got %s twice", d)
		}
		seen[d] = true
	}
	got1 := waitAll(subs[1])
	if fmt.Sprint(got1) != fmt.Sprint(ref) {
		t.Fatalf("nodes 0 and 1 saw different orders or counts (%d vs %d)", len(ref), len(got1))
	}
	got2, _ := subs[2].snapshot()
	if len(got2) < 100 || fmt.Sprint(got2) != fmt.Sprint(ref[:len(got2)]) {
		t.Fatalf("node 2's subscriber saw %d events, not a prefix of the common order", len(got2))
	}
	movedGot := waitAll(moving)
	if fmt.Sprint(movedGot) != fmt.Sprint(ref) {
		t.Fatalf("the subscriber that moved nodes got %d events, want all %d once in order", len(movedGot), total)
	}
}
