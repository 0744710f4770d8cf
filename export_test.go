package sse

import "fmt"

// AddTestSubscribers registers n subscribers listening to topics, as streams
// would, and returns a function that takes one queued frame from each (false
// when one had nothing queued) and a function that removes them.
func (h *Hub) AddTestSubscribers(n int, topics []string) (drain func() bool, remove func()) {
	subs := make([]*subscriber, n)
	for i := range subs {
		subs[i] = &subscriber{id: fmt.Sprint("test-", i), topics: topics, queue: make(chan *frame, h.opts.queueSize), kicked: make(chan struct{})}
		if err := h.add(subs[i]); err != nil {
			panic(err)
		}
	}
	drain = func() bool {
		ok := true
		for _, s := range subs {
			select {
			case <-s.queue:
			default:
				ok = false
			}
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
