package sse_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/mercure"
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

// BenchmarkFanoutCSSUpdate publishes one css-update to 10,000 in-process
// subscribers of which half asked for it as a reload (clients that do not
// handle css-update): the reload form is encoded once per event, so the
// allocations per event are those of BenchmarkFanout plus one frame.
func BenchmarkFanoutCSSUpdate(b *testing.B) {
	const n = 10_000
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithHistorySize(100), sse.WithMaxConnections(0))
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Shutdown(context.Background())
	drainCapable, removeCapable := hub.AddTestSubscribers(n/2, []string{"dev"})
	defer removeCapable()
	drainReload, removeReload := hub.AddTestCSSAsReloadSubscribers(n/2, []string{"dev"})
	defer removeReload()
	e := sse.CSSUpdate("assets/app.css")
	e.Topics = []string{"dev"}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := hub.Broadcast(ctx, e); err != nil {
			b.Fatal(err)
		}
		if !drainCapable() || !drainReload() {
			b.Fatal("a subscriber got nothing")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
}

// BenchmarkFanoutURLPattern publishes one event to 10,000 in-process
// subscribers that select its 200-byte topic with a Mercure URL pattern:
// all with the same pattern, or spread over 100 distinct ones; every event
// to the same topic, or each to a topic never seen before. Subscribers
// with the same selector share its compiled form, as the Mercure handler's
// selector cache makes them do. The matching runs on the delivering
// goroutine, so ns/op is how long every other event waits behind this one.
func BenchmarkFanoutURLPattern(b *testing.B) {
	const n = 10_000
	prefix := "https://example.com/books/" + strings.Repeat("0123456789", 17) + "/chapters/"
	for _, distinct := range []int{1, 100} {
		for _, fresh := range []bool{false, true} {
			name := fmt.Sprintf("selectors=%d/topic=same", distinct)
			if fresh {
				name = fmt.Sprintf("selectors=%d/topic=fresh", distinct)
			}
			b.Run(name, func(b *testing.B) {
				hub, err := sse.New(sse.WithPingInterval(0), sse.WithHistorySize(100), sse.WithMaxConnections(0))
				if err != nil {
					b.Fatal(err)
				}
				defer hub.Shutdown(context.Background())
				sels := make([]*mercure.Selector, distinct)
				for i := range sels {
					if sels[i], err = mercure.NewSelector(mercure.MatchURLPattern, fmt.Sprintf("https://example.com/books/:id%d/*", i), ""); err != nil {
						b.Fatal(err)
					}
				}
				drain, remove := hub.AddTestMatchSubscribers(n, nil, func(i int) func(string) bool { return sels[i%distinct].Match })
				defer remove()
				// Fresh topics are new to every run, the match cache being
				// the process's.
				run := prefix + strconv.Itoa(int(freshRuns.Add(1))) + "-"
				e := sse.Event{Type: "update", Data: `{"title":"Chapter 7"}`, Topics: []string{run + "0"}}
				ctx := context.Background()
				// One event first, so that the subscribers' queues have
				// grown and allocs/op counts the event alone.
				if err := hub.Broadcast(ctx, e); err != nil || !drain() {
					b.Fatal("warm-up event not delivered", err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					if fresh {
						i++
						e.Topics = []string{run + strconv.Itoa(i)}
					}
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
}

var freshRuns atomic.Int64

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
