package ssetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
)

// Collector records what a transport delivers to one listener, for tests of
// transports. It is safe for concurrent use.
type Collector struct {
	mu   sync.Mutex
	got  []*sse.Message
	ch   chan struct{}
	wait time.Duration
}

// Listen registers a Collector as a listener of tr. It stops listening when
// t ends. Its waits give up after ten seconds.
func Listen(t testing.TB, tr sse.Transport) *Collector {
	t.Helper()
	c := &Collector{ch: make(chan struct{}, 1), wait: wait}
	stop, err := tr.Listen(func(m *sse.Message) {
		c.mu.Lock()
		c.got = append(c.got, m)
		c.mu.Unlock()
		select {
		case c.ch <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(stop)
	return c
}

// WaitUntil blocks until done holds for the messages received so far, in
// delivery order, and returns a copy of them. It fails t, naming what, when
// that does not happen in time.
func (c *Collector) WaitUntil(t testing.TB, what string, done func([]*sse.Message) bool) []*sse.Message {
	t.Helper()
	deadline := time.After(c.wait)
	for {
		c.mu.Lock()
		if done(c.got) {
			out := append([]*sse.Message(nil), c.got...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("listener: %s not seen after %s (got %d messages)", what, c.wait, len(c.got))
		}
	}
}

// WaitFor blocks until at least n messages arrived and returns them.
func (c *Collector) WaitFor(t testing.TB, n int) []*sse.Message {
	t.Helper()
	return c.WaitUntil(t, fmt.Sprintf("%d messages", n), func(ms []*sse.Message) bool { return len(ms) >= n })
}
