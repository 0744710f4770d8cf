package sse

import (
	"context"
	"fmt"
	"sync"
	"time"
)

var (
	_ Transport  = (*MemoryTransport)(nil)
	_ Positioner = (*MemoryTransport)(nil)
)

// MemoryTransport is the in-process Transport and the hub's default. It keeps the last N messages in memory and delivers each message to
// the listeners of this process before Publish returns. It is safe for
// concurrent use.
//
// Cursors are time-based ("<unix ms>-<seq>"), so a client that resumes after
// the process restarted is recognised as older than this process's history
// and told about the gap instead of being silently skipped.
type MemoryTransport struct {
	mu        sync.Mutex
	ring      []*Message          // circular; len == capacity
	head      int                 // index of the oldest message
	n         int                 // messages held
	ids       map[string]*Message // retained messages by publisher-chosen id
	last      Cursor              // cursor of the newest message (or the start)
	horizon   Cursor              // messages at or before this may be missing
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
		ids:       make(map[string]*Message),
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
	chosen := m.ID != ""
	if prev := t.ids[m.ID]; chosen && prev != nil {
		return fmt.Errorf("%w: event %q (published as %s) is still in the history", ErrDuplicateID, m.ID, prev.Cursor)
	}
	t.last = t.last.Next(t.now())
	m.Cursor = t.last
	if !chosen {
		m.ID = m.Cursor.String()
	}
	if size := len(t.ring); size > 0 {
		if chosen {
			t.ids[m.ID] = m
		}
		if t.n == size {
			old := t.ring[t.head]
			if t.ids[old.ID] == old {
				delete(t.ids, old.ID)
			}
			t.horizon = old.Cursor
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
	c, ok := ParseCursor(lastID)
	if m := t.ids[lastID]; m != nil {
		c, ok = m.Cursor, true // a publisher-chosen id
	}
	if !ok || c.Compare(t.last) > 0 {
		// Unknown, or after anything this transport handed out: everything
		// retained, as a gap.
		return History{Messages: t.after(-1)}, nil
	}
	i := t.indexAfter(c)
	return History{Messages: t.after(i), Complete: c.Compare(t.horizon) >= 0, After: c}, nil
}

// Position implements Positioner.
func (t *MemoryTransport) Position() Cursor {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// indexAfter returns the index of the newest retained message at or before
// c, or -1. The ring is in cursor order, so it is a binary search.
func (t *MemoryTransport) indexAfter(c Cursor) int {
	lo, hi := 0, t.n // the answer is lo-1 once lo == hi
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.at(mid).Cursor.Compare(c) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
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
	clear(t.ids)
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
