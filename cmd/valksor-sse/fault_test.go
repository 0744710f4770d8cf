package main_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/internal/proctest"
)

// TestFaultInjection is the hostile-network test of the whole product at
// small size: two servers share a Redis the test starts itself; a
// subscriber follows them, moving to the other server whenever its stream
// breaks and resuming by Last-Event-ID; events are published one at a time,
// alternately on both servers, and count as acknowledged when a server
// answered 200. Meanwhile one server is killed with SIGKILL and started
// again, and Redis is stopped and started again (on the same data). At the
// end every acknowledged event must have arrived exactly once, in order:
//
//	acknowledged N, received N, lost 0, duplicated 0, out of order 0
//
// Events whose publish failed may arrive or not (a publish cut off after
// Redis stored it cannot know), but never twice.
func TestFaultInjection(t *testing.T) {
	t.Parallel()
	redis := proctest.StartRedis(t)
	env := []string{
		"VALKSOR_SSE_TRANSPORT=" + redis.URL(),
		"VALKSOR_SSE_HISTORY_SIZE=10000",
		"VALKSOR_SSE_PUBLISH_TOKEN=fault-test-token-0123456789",
		"VALKSOR_SSE_PING_INTERVAL=1s",
	}
	dirs := []string{t.TempDir(), t.TempDir()}
	nodes := []*server{startEnv(t, dirs[0], env, "--port", "0"), startEnv(t, dirs[1], env, "--port", "0")}
	urls := []string{nodes[0].url(), nodes[1].url()}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rec := &faultRecord{seen: map[int]int{}}
	subDone := make(chan error, 1)
	connected := make(chan struct{}, 64)
	go func() {
		which := 0
		sub := &client.Subscriber{URL: urls[which], MaxBackoff: 200 * time.Millisecond, HTTPClient: &http.Client{}}
		sub.OnDisconnect = func(error) { // move to the other server
			which = 1 - which
			sub.URL = urls[which]
		}
		subDone <- sub.Run(ctx, func(e client.Event) error {
			switch e.Type {
			case "connected":
				connected <- struct{}{}
			case "n":
				n, err := strconv.Atoi(e.Data)
				if err != nil {
					return fmt.Errorf("event data %q: %w", e.Data, err)
				}
				rec.received(n)
			case "end":
				return errEnd
			}
			return nil
		})
	}()
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("the subscriber did not connect")
	}

	// The publisher: one event at a time, alternating servers.
	pubs := []*client.Publisher{
		{URL: urls[0], Token: "fault-test-token-0123456789", HTTPClient: &http.Client{Timeout: 5 * time.Second}},
		{URL: urls[1], Token: "fault-test-token-0123456789", HTTPClient: &http.Client{Timeout: 5 * time.Second}},
	}
	publish := func(n int) {
		_, err := pubs[n%2].Publish(ctx, sse.Event{Type: "n", Data: strconv.Itoa(n)})
		rec.published(n, err == nil)
	}
	next := 0
	publishUntil := func(acked int) {
		t.Helper()
		for rec.ackCount() < acked {
			if ctx.Err() != nil {
				t.Fatalf("publishing: %v", ctx.Err())
			}
			publish(next)
			next++
		}
	}

	publishUntil(50)
	// A server dies without a word, and comes back on its port.
	nodes[0].cmd.Process.Signal(syscall.SIGKILL)
	<-nodes[0].done
	publishUntil(100) // half of these fail: the dead server's share
	nodes[0] = startEnv(t, dirs[0], env, "--port", strconv.Itoa(nodes[0].port))
	publishUntil(150)
	// Redis goes away and comes back with its data.
	redis.Stop()
	for range 20 { // every one of these fails
		publish(next)
		next++
	}
	redis.Start()
	publishUntil(250)

	// The end marker arrives after everything published before it.
	for {
		if _, err := pubs[0].Publish(ctx, sse.Event{Type: "end"}); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("cannot publish the end marker")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := <-subDone; !errors.Is(err, errEnd) {
		t.Fatalf("subscriber: %v (received %d)", err, len(rec.order))
	}
	acked, received, lost, dup, outOfOrder := rec.tally()
	line := fmt.Sprintf("acknowledged %d, received %d, lost %d, duplicated %d, out of order %d (published %d, %d unacknowledged)",
		acked, received, lost, dup, outOfOrder, next, next-acked)
	fmt.Fprintln(os.Stdout, "fault injection:", line)
	t.Log(line)
	if lost != 0 || dup != 0 || outOfOrder != 0 || received != acked {
		t.Fatalf("%s\nlost: %v", line, rec.lost())
	}
}

var errEnd = errors.New("end marker")

// faultRecord is what the fault test published and received.
type faultRecord struct {
	mu    sync.Mutex
	acked []int       // acknowledged events, in publish order
	seen  map[int]int // how often each event arrived
	order []int       // arrivals, in order
}

func (r *faultRecord) published(n int, ok bool) {
	if !ok {
		return
	}
	r.mu.Lock()
	r.acked = append(r.acked, n)
	r.mu.Unlock()
}

func (r *faultRecord) received(n int) {
	r.mu.Lock()
	r.seen[n]++
	r.order = append(r.order, n)
	r.mu.Unlock()
}

func (r *faultRecord) ackCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.acked)
}

// tally counts the acknowledged events, those of them received, lost
// (acknowledged, never received), duplicated (any event received twice)
// and out of order (received after a later one).
func (r *faultRecord) tally() (acked, received, lost, dup, outOfOrder int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.acked {
		if r.seen[n] > 0 {
			received++
		} else {
			lost++
		}
	}
	for _, c := range r.seen {
		if c > 1 {
			dup += c - 1
		}
	}
	for i := 1; i < len(r.order); i++ {
		if r.order[i] <= r.order[i-1] {
			outOfOrder++
		}
	}
	return len(r.acked), received, lost, dup, outOfOrder
}

// lost lists the acknowledged events that never arrived.
func (r *faultRecord) lost() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.acked {
		if r.seen[n] == 0 {
			out = append(out, strconv.Itoa(n))
		}
	}
	return strings.Join(out, " ")
}
