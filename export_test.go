package sse

import (
	"fmt"
	"slices"
	"unsafe"
)

// AddTestSubscribers registers n subscribers listening to topics, as streams
// would, and returns a function that takes one queued frame from each (false
// when one had nothing queued) and a function that removes them.
func (h *Hub) AddTestSubscribers(n int, topics []string) (drain func() bool, remove func()) {
	return h.AddTestMatchSubscribers(n, topics, nil)
}

// AddTestCSSAsReloadSubscribers is AddTestSubscribers for subscribers
// opened with StreamRequest.CSSAsReload.
func (h *Hub) AddTestCSSAsReloadSubscribers(n int, topics []string) (drain func() bool, remove func()) {
	return h.addTestSubscribers(n, topics, nil, true)
}

// AddTestMatchSubscribers is AddTestSubscribers for subscribers that also
// admit the topics match(i) accepts, as StreamRequest.Match does; match may
// be nil.
func (h *Hub) AddTestMatchSubscribers(n int, topics []string, match func(i int) func(topic string) bool) (drain func() bool, remove func()) {
	return h.addTestSubscribers(n, topics, match, false)
}

func (h *Hub) addTestSubscribers(n int, topics []string, match func(i int) func(topic string) bool, asReload bool) (drain func() bool, remove func()) {
	subs := make([]*subscriber, n)
	for i := range subs {
		subs[i] = &subscriber{id: fmt.Sprint("test-", i), topics: slices.Clone(topics), asReload: asReload, side: &streamSide{wake: make(chan struct{}, 1)}}
		if match != nil {
			subs[i].opts = newStreamOpts(nil, match(i), nil)
		}
		if _, err := h.add(subs[i]); err != nil {
			panic(err)
		}
	}
	drain = func() bool {
		ok := true
		for _, s := range subs {
			batch := s.take()
			if len(batch) == 0 {
				ok = false
			}
			s.giveBack(batch)
		}
		return ok
	}
	remove = func() {
		for _, s := range subs {
			h.remove(s)
		}
	}
	return drain, remove
}

// Matches exposes the topic matcher to benchmarks.
var Matches = matches

// SubscriberSize is the size of the state every open stream holds.
const SubscriberSize = unsafe.Sizeof(subscriber{})

// StreamConn reports how the hub holds the stream connID: handedOff when
// its writers write it, lean when it is a TLS stream written without
// waiting (accepted through Listener), watched when the close watcher
// rather than a reading goroutine notices its client leave.
func (h *Hub) StreamConn(connID string) (handedOff, lean, watched bool) {
	s := h.streamByID(connID)
	if s == nil {
		return false, false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := tlsStream(s.conn)
	return s.conn != nil, sc != nil && sc.lean.Load(), s.watchKey != 0
}

// Portable is true where the hub writes sockets without raw writes (the
// valksor_portable build tag, or a system without them).
const Portable = !rawWrites

// StreamSealed reports whether the hub writes the TLS stream connID with
// records of its own, its *tls.Conn dropped (see TLSConfig).
func (h *Hub) StreamSealed(connID string) bool {
	s := h.streamByID(connID)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.conn.(*sealer)
	return ok
}

// streamByID returns the open stream connID, nil if there is none.
func (h *Hub) streamByID(connID string) *subscriber {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.byID[connID]
}
