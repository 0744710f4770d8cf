package sse

import (
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
	heap   []lifetime
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
	l.heap = append(l.heap, lifetime{deadline, s})
	s.lifeIdx = len(l.heap)
	l.up(len(l.heap) - 1)
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
	i := s.lifeIdx - 1
	last := len(l.heap) - 1
	l.swap(i, last)
	l.heap[last] = lifetime{}
	l.heap = l.heap[:last]
	s.lifeIdx = 0
	if i < last {
		l.down(i)
		l.up(i)
	}
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
		s := l.heap[0].s
		last := len(l.heap) - 1
		l.swap(0, last)
		l.heap[last] = lifetime{}
		l.heap = l.heap[:last]
		s.lifeIdx = 0
		l.down(0)
		due = append(due, s)
	}
	if len(l.heap) > 0 {
		l.timer.Reset(time.Duration(l.heap[0].deadline - now))
	}
	if cap(l.heap) > 64 && len(l.heap) < cap(l.heap)/4 {
		l.heap = append([]lifetime(nil), l.heap...) // give back what a crowd of streams left
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

func (l *lifetimes) swap(i, j int) {
	l.heap[i], l.heap[j] = l.heap[j], l.heap[i]
	l.heap[i].s.lifeIdx = i + 1
	l.heap[j].s.lifeIdx = j + 1
}

func (l *lifetimes) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if l.heap[parent].deadline <= l.heap[i].deadline {
			return
		}
		l.swap(i, parent)
		i = parent
	}
}

func (l *lifetimes) down(i int) {
	n := len(l.heap)
	for {
		least := i
		if c := 2*i + 1; c < n && l.heap[c].deadline < l.heap[least].deadline {
			least = c
		}
		if c := 2*i + 2; c < n && l.heap[c].deadline < l.heap[least].deadline {
			least = c
		}
		if least == i {
			return
		}
		l.swap(i, least)
		i = least
	}
}
