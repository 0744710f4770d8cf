package sse

import (
	"container/heap"
	"sync"
	"time"
)

// lifetimes ends streams when their lifetime is over (WithStreamTimeout,
// or the expiry of their credentials) with one timer for all of them
// rather than one per stream: the open streams' deadlines are kept in a
// heap, and the timer is set for the earliest. A stream costs one heap
// entry (16 bytes) instead of a timer and its function (160 bytes).
//
// Its mutex is taken last: add and remove may be called with s.mu free
// only, and expire calls end without holding it. The heap index of a
// stream, subscriber.lifeIdx, is guarded by this mutex.
type lifetimes struct {
	mu     sync.Mutex
	heap   deadlines
	timer  *time.Timer       // runs expire; nil until the first deadline
	expire func(*subscriber) // ends a stream whose deadline passed
}

// lifetime is one stream's deadline, in Unix nanoseconds.
type lifetime struct {
	deadline int64
	s        *subscriber
}

// add sets s's deadline to d from now.
func (l *lifetimes) add(s *subscriber, d time.Duration) {
	deadline := time.Now().Add(d).UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.lifeIdx != 0 {
		return
	}
	heap.Push(&l.heap, lifetime{deadline, s})
	if l.heap[0].s == s { // the new earliest
		if l.timer == nil {
			l.timer = time.AfterFunc(d, l.fire)
		} else {
			l.timer.Reset(d)
		}
	}
}

// remove forgets s's deadline, if it has one.
func (l *lifetimes) remove(s *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.lifeIdx == 0 {
		return
	}
	heap.Remove(&l.heap, int(s.lifeIdx-1))
	// The timer stays set for the old earliest; fire finds nothing due
	// then and sets it again.
}

// fire ends the streams whose deadline passed and sets the timer for the
// next one.
func (l *lifetimes) fire() {
	now := time.Now().UnixNano()
	var due []*subscriber
	l.mu.Lock()
	for len(l.heap) > 0 && l.heap[0].deadline <= now {
		due = append(due, heap.Pop(&l.heap).(lifetime).s)
	}
	if len(l.heap) > 0 {
		l.timer.Reset(time.Duration(l.heap[0].deadline - now))
	}
	if cap(l.heap) > 64 && len(l.heap) < cap(l.heap)/4 {
		l.heap = append(deadlines(nil), l.heap...) // give back what a crowd of streams left
	}
	l.mu.Unlock()
	for _, s := range due {
		l.expire(s)
	}
}

// stop stops the timer, once no stream is left.
func (l *lifetimes) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
	}
}

// deadlines is a min-heap of lifetimes by deadline (container/heap), which
// keeps each stream's subscriber.lifeIdx at its index plus one (0 once it
// left the heap).
type deadlines []lifetime

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline < d[j].deadline }

func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].s.lifeIdx = int32(i + 1)
	d[j].s.lifeIdx = int32(j + 1)
}

// Push adds x, a lifetime; use heap.Push.
func (d *deadlines) Push(x any) {
	e := x.(lifetime)
	e.s.lifeIdx = int32(len(*d) + 1)
	*d = append(*d, e)
}

// Pop removes the last lifetime; use heap.Pop.
func (d *deadlines) Pop() any {
	old := *d
	e := old[len(old)-1]
	old[len(old)-1] = lifetime{}
	*d = old[:len(old)-1]
	e.s.lifeIdx = 0
	return e
}
