package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/redis"
)

var errStop = errors.New("stop reading")

// newHub serves a hub on tr; both stop when the test ends.
func newHub(t *testing.T, tr sse.Transport) (*sse.Hub, *httptest.Server) {
	t.Helper()
	hub, err := sse.New(sse.WithTransport(tr), sse.WithPingInterval(0), sse.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		srv.Close()
	})
	return hub, srv
}

// stream reads a hub stream in the background.
type stream struct {
	events    chan client.Event
	connected chan struct{}
	connects  int // guarded by mu
	mu        sync.Mutex
}

// openStream subscribes to url until the test ends and waits for the
// connected event.
func openStream(t *testing.T, url string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &stream{events: make(chan client.Event, 4096), connected: make(chan struct{})}
	sub := &client.Subscriber{URL: url}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var once sync.Once
		_ = sub.Run(ctx, func(e client.Event) error {
			if e.Type == sse.TypeConnected {
				s.mu.Lock()
				s.connects++
				s.mu.Unlock()
				once.Do(func() { close(s.connected) })
				return nil
			}
			s.events <- e
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-s.connected:
	case <-time.After(wait):
		t.Fatalf("no connected event from %s", url)
	}
	return s
}

// next returns the next event of the stream.
func (s *stream) next(t *testing.T) client.Event {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(wait):
		t.Fatal("stream: no event")
		return client.Event{}
	}
}

// resume reads url from lastID until n events of type "n" arrived, then
// publishes a marker through hub and returns the data of the "n" events seen
// before the marker. A history gap fails the test.
func resume(t *testing.T, hub *sse.Hub, url, lastID string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sub := &client.Subscriber{URL: url, LastEventID: lastID}
	var got []string
	err := sub.Run(ctx, func(e client.Event) error {
		switch e.Type {
		case "n":
			got = append(got, e.Data)
			if len(got) == n {
				// A marker published now arrives after any duplicate would.
				go func() { _, _ = hub.Publish(ctx, sse.Event{Type: "after"}) }()
			}
		case "after":
			return errStop
		case sse.TypeHistoryGap:
			return fmt.Errorf("unexpected history-gap after %s", lastID)
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("resume after %s: %v (got %v)", lastID, err, got)
	}
	return got
}

// TestHubsShareOneHistory runs two hubs on two transports with one prefix,
// as two servers behind a load balancer.
func TestHubsShareOneHistory(t *testing.T) {
	p := newPrefix(t)
	hubA, srvA := newHub(t, open(t, p, redis.Options{}))
	hubB, srvB := newHub(t, open(t, p, redis.Options{}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	onB := openStream(t, srvB.URL+"/sse")

	// A client on A reads up to event 4, then goes away.
	subA := &client.Subscriber{URL: srvA.URL + "/sse"}
	connected := make(chan struct{})
	doneA := make(chan error, 1)
	go func() {
		doneA <- subA.Run(ctx, func(e client.Event) error {
			switch {
			case e.Type == sse.TypeConnected:
				close(connected)
			case e.Type == "n" && e.Data == "4":
				return errStop
			}
			return nil
		})
	}()
	<-connected
	ids := make([]string, 10)
	for i := range ids {
		e := sse.Event{Type: "n", Data: fmt.Sprint(i)}
		if i%3 == 1 {
			e.ID = fmt.Sprintf("evt-%d", i) // publisher ids: 1, 4, 7
		}
		id, err := hubA.Publish(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if err := <-doneA; !errors.Is(err, errStop) {
		t.Fatalf("reading on A: %v", err)
	}
	if subA.LastEventID != "evt-4" {
		t.Fatalf("client on A stopped at %q, want evt-4", subA.LastEventID)
	}

	// Events published on A reach the stream on B, in order, with their ids.
	for i, id := range ids {
		e := onB.next(t)
		if e.Type != "n" || e.Data != fmt.Sprint(i) || e.ID != id {
			t.Fatalf("stream on B: event %d is %+v, want n %d with id %s", i, e, i, id)
		}
	}

	// The client reconnects to B with the publisher id it read on A...
	if got := resume(t, hubB, srvB.URL+"/sse", subA.LastEventID, 5); strings.Join(got, ",") != "5,6,7,8,9" {
		t.Fatalf("resume on B after evt-4 delivered %v, want 5..9 exactly once", got)
	}
	// ...or with a stream id.
	if got := resume(t, hubA, srvB.URL+"/sse", ids[5], 4); strings.Join(got, ",") != "6,7,8,9" {
		t.Fatalf("resume on B after %s delivered %v, want 6..9 exactly once", ids[5], got)
	}
}

// TestHubResumeOnLaggingNode shows a hub-level race that only a transport
// with asynchronous delivery exposes: a client that read the newest event on
// node A reconnects to node B before B's reader delivered that event. B's
// history answer is empty (nothing after the client's id), so the stream
// drops no live frames, and B's late deliveries of events the client already
// has would be sent again, were it not for History.After: the hub skips live
// frames at or before the resume position.
func TestHubResumeOnLaggingNode(t *testing.T) {
	p := newPrefix(t)
	trA := open(t, p, redis.Options{})
	trB := open(t, p, redis.Options{})
	// A first listener on B that holds B's reader on its first entry, as a
	// slow link to B would.
	gate := make(chan struct{})
	var openGate sync.Once
	t.Cleanup(func() { openGate.Do(func() { close(gate) }) })
	var held sync.Once
	if _, err := trB.Listen(func(*sse.Message) { held.Do(func() { <-gate }) }); err != nil {
		t.Fatal(err)
	}
	hubA, _ := newHub(t, trA)
	_, srvB := newHub(t, trB)
	ctx := context.Background()
	var last string
	for i := range 3 {
		id, err := hubA.Publish(ctx, sse.Event{Type: "n", Data: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	// The client saw 0, 1 and 2 on A; it reconnects to B.
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	sub := &client.Subscriber{URL: srvB.URL + "/sse", LastEventID: last}
	var dup []string
	err := sub.Run(ctx, func(e client.Event) error {
		switch e.Type {
		case sse.TypeConnected:
			openGate.Do(func() { close(gate) })
			go func() { _, _ = hubA.Publish(ctx, sse.Event{Type: "after"}) }()
		case "n":
			dup = append(dup, e.Data)
		case "after":
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	if len(dup) > 0 {
		t.Fatalf("events the client already had were sent again: %v", dup)
	}
}
