package sse

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTopicStreamsInOpeningOrder opens streams on one and on several
// topics (one of them listing a topic twice), ends most of them in a
// random order, so that the lists are compacted several times, and checks
// after every step that each topic lists exactly its open streams, each
// once, in the order they opened, that every stream's recorded place is
// where it is, and that a fan-out reaches each open stream once.
func TestTopicStreamsInOpeningOrder(t *testing.T) {
	h, err := New(WithPingInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })

	topicsOf := func(i int) []string {
		switch i % 5 {
		case 0:
			return []string{"a"}
		case 1:
			return []string{"b"}
		case 2:
			return []string{"a", "b"}
		case 3:
			return []string{"b", "c", "a"}
		default:
			return []string{"c", "c"} // listed twice
		}
	}
	var open []*subscriber
	for i := range 400 {
		s := &subscriber{id: fmt.Sprint("s", i), topics: topicsOf(i), side: &streamSide{wake: make(chan struct{}, 1)}}
		if _, err := h.add(s); err != nil {
			t.Fatal(err)
		}
		open = append(open, s)
	}
	check := func(step string) {
		t.Helper()
		h.mu.RLock()
		defer h.mu.RUnlock()
		for name, ts := range h.byTopic {
			var want, got []*subscriber
			for _, s := range open {
				if slices.Contains(s.topics, name) {
					want = append(want, s)
				}
			}
			for j, s := range ts.subs {
				if s == nil {
					continue
				}
				got = append(got, s)
				if p := ts.place(s, topicIndex(s, name)); p != j {
					t.Fatalf("%s: %s is at %d of topic %s, its place says %d", step, s.id, j, name, p)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: topic %s lists %d streams, want the %d open ones in opening order", step, name, len(got), len(want))
			}
			if ts.live != len(want) {
				t.Fatalf("%s: topic %s counts %d streams, has %d", step, name, ts.live, len(want))
			}
		}
		for _, name := range []string{"a", "b", "c"} {
			if h.byTopic[name] == nil && slices.ContainsFunc(open, func(s *subscriber) bool { return slices.Contains(s.topics, name) }) {
				t.Fatalf("%s: topic %s is gone while streams listen to it", step, name)
			}
		}
	}
	fanOut := func(step string) {
		t.Helper()
		h.deliver(&Message{ID: step, Type: "update", Data: "{}", Topics: []string{"a", "b", "c"}})
		for _, s := range open {
			if n := len(s.take()); n != 1 {
				t.Fatalf("%s: %s (topics %v) got %d frames of one event, want 1", step, s.id, s.topics, n)
			}
		}
	}
	check("opened")
	fanOut("opened")

	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; len(open) > 0; round++ {
		for range min(len(open), 1+len(open)/8) {
			k := rng.IntN(len(open))
			h.remove(open[k])
			open = slices.Delete(open, k, k+1)
		}
		step := fmt.Sprintf("round %d, %d open", round, len(open))
		check(step)
		fanOut(step)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.byTopic) != 0 {
		t.Errorf("%d topics left with no stream", len(h.byTopic))
	}
}

// TestFanOutGenerationWraps: the fan-out generation is 32 bits; when it
// wraps, a stream that never received anything (generation 0) still gets
// the event, and so do the others.
func TestFanOutGenerationWraps(t *testing.T) {
	h, err := New(WithPingInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	fresh := &subscriber{id: "fresh", topics: []string{"a"}, side: &streamSide{wake: make(chan struct{}, 1)}}
	old := &subscriber{id: "old", topics: []string{"a", "b"}, side: &streamSide{wake: make(chan struct{}, 1)}}
	for _, s := range []*subscriber{fresh, old} {
		if _, err := h.add(s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.remove(s) }) // before Shutdown, which waits for every stream
	}
	h.gen = math.MaxUint32 // the next fan-out wraps
	for i := range 3 {
		h.deliver(&Message{ID: fmt.Sprint("m", i), Type: "update", Data: "{}", Topics: []string{"a", "b"}})
		for _, s := range []*subscriber{fresh, old} {
			if n := len(s.take()); n != 1 {
				t.Fatalf("event %d (generation %d): %s got %d frames, want 1", i, h.gen, s.id, n)
			}
		}
	}
	if h.gen == 0 {
		t.Error("the generation is 0 after wrapping")
	}
}
