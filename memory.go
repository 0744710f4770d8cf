package sse

import (
	"context"
	"fmt"
	"sync"
	"time"
)

var _ Transport = (*MemoryTransport)(nil)

// MemoryTransport is the in-process Transport and the hub's default. It keeps the last N messages in memory and delivers each message to
// the listeners of this process before Publish returns. It is safe for
// concurrent use.
//
// Cursors are time-based ("<unix ms>-<seq>"), so a client that resumes after
// the process restarted is recognised as older than this process's history
// and told about the gap instead of being silently skipped.
type MemoryTransport struct {
	mu        sync.Mutex
	ring      []*Message // circular; len == capacity
	head      int        // index of the oldest message
	n         int        // messages held
	last      Cursor     // cursor of the newest message (or the start)
	horizon   Cursor     // messages at or before this may be missing
	listeners map[int]func(*Message)
	nextID    int
	evicted   bool // a message was dropped from the ring
	closed    bool
	now       func() time.Time
}

// NewMemoryTransport returns a transport that keeps the last size messages.
// Size 0 keeps none (every resume reports a gap); a negative size means
// DefaultHistorySize.
func NewMemoryTransport(size int) *MemoryTransport {
	if size < 0 {
		size = DefaultHistorySize
	}
	start := Cursor{Ms: uint64(time.Now().UnixMilli())}
	return &MemoryTransport{
		ring:      make([]*Message, size),
		last:      start,
		horizon:   start,
		listeners: make(map[int]func(*Message)),
		now:       time.Now,
	}
}

// Publish implements Transport. Listeners run before it returns, in the
// caller's goroutine, one message at a time.
func (t *MemoryTransport) Publish(ctx context.Context, m *Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrTransportClosed
	}
	t.last = t.last.Next(t.now())
	m.Cursor = t.last
	if m.ID == "" {
		m.ID = m.Cursor.String()
	}
	if size := len(t.ring); size > 0 {
		if t.n == size {
			t.horizon = t.ring[t.head].Cursor
			t.evicted = true
			t.ring[t.head] = m
			t.head = (t.head + 1) % size
		} else {
			t.ring[(t.head+t.n)%size] = m
			t.n++
		}
	} else {
		t.horizon = m.Cursor
		t.evicted = true
	}
	for _, fn := range t.listeners {
		fn(m)
	}
	return nil
}

// Listen implements Transport.
func (t *MemoryTransport) Listen(fn func(*Message)) (func(), error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrTransportClosed
	}
	id := t.nextID
	t.nextID++
	t.listeners[id] = fn
	return func() {
		t.mu.Lock()
		delete(t.listeners, id)
		t.mu.Unlock()
	}, nil
}

// History implements Transport.
func (t *MemoryTransport) History(ctx context.Context, lastID string) (History, error) {
	if err := ctx.Err(); err != nil {
		return History{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return History{}, ErrTransportClosed
	}
	if lastID == EarliestID {
		return History{Messages: t.after(-1), Complete: !t.evicted}, nil
	}
	// A publisher-supplied id, or one of ours, found in the ring.
	for i := t.n - 1; i >= 0; i-- {
		if t.at(i).ID == lastID {
			return History{Messages: t.after(i), Complete: true, After: t.at(i).Cursor}, nil
		}
	}
	c, ok := ParseCursor(lastID)
	if !ok {
		return History{Complete: false}, nil
	}
	if c.Compare(t.last) > 0 {
		return History{Complete: true}, nil
	}
	if c == t.last {
		return History{Complete: true, After: c}, nil
	}
	i := t.n - 1
	for i >= 0 && t.at(i).Cursor.Compare(c) > 0 {
		i--
	}
	return History{Messages: t.after(i), Complete: c.Compare(t.horizon) >= 0, After: c}, nil
}

// HistoryLen implements HistoryLener.
func (t *MemoryTransport) HistoryLen(context.Context) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n, nil
}

// Close implements Transport.
func (t *MemoryTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	clear(t.listeners)
	return nil
}

// String describes the transport for logs and health reports.
func (t *MemoryTransport) String() string {
	return fmt.Sprintf("memory (history %d)", len(t.ring))
}

// at returns the i-th retained message, 0 being the oldest.
func (t *MemoryTransport) at(i int) *Message { return t.ring[(t.head+i)%len(t.ring)] }

// after returns a copy of the retained messages after index i.
func (t *MemoryTransport) after(i int) []*Message {
	if i+1 >= t.n {
		return nil
	}
	out := make([]*Message, 0, t.n-i-1)
	for j := i + 1; j < t.n; j++ {
		out = append(out, t.at(j))
	}
	return out
}
