package sse_test

import (
	"context"
	"fmt"
	"testing"

	sse "github.com/valksor/go-sse"
)

// BenchmarkFanout publishes one event to 10,000 in-process subscribers of a
// topic. The allocations reported are per event, not per delivery: the event
// is encoded once and the same bytes are queued for every subscriber.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			hub, err := sse.New(sse.WithPingInterval(0), sse.WithHistorySize(100), sse.WithMaxConnections(0))
			if err != nil {
				b.Fatal(err)
			}
			defer hub.Shutdown(context.Background())
			drain, remove := hub.AddTestSubscribers(n, []string{"news"})
			defer remove()
			e := sse.Event{Type: "update", Data: `{"price":42.5,"symbol":"VALK"}`, Topics: []string{"news"}}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := hub.Broadcast(ctx, e); err != nil {
					b.Fatal(err)
				}
				if !drain() {
					b.Fatal("a subscriber got nothing")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}

// BenchmarkPublish measures Broadcast with no subscriber: validation, data
// encoding and the memory transport.
func BenchmarkPublish(b *testing.B) {
	hub, err := sse.New(sse.WithPingInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Shutdown(context.Background())
	e := sse.Event{Type: "update", Data: map[string]any{"price": 42.5, "symbol": "VALK"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := hub.Broadcast(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTopicMatch(b *testing.B) {
	subscribed := []string{"orders", "users/7", sse.DefaultTopic}
	topics := []string{"inventory", "users/7"}
	b.ReportAllocs()
	for b.Loop() {
		if !sse.Matches(subscribed, topics) {
			b.Fatal("no match")
		}
	}
}
