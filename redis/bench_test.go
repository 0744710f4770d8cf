package redis_test

import (
	"context"
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/redis"
)

// BenchmarkPublish measures one Publish: an XADD round trip with trimming.
func BenchmarkPublish(b *testing.B) {
	tr := open(b, newPrefix(b), redis.Options{})
	ctx := context.Background()
	topics := []string{sse.DefaultTopic}
	b.ReportAllocs()
	for b.Loop() {
		m := sse.Message{Type: "reload", Data: `{"files":["app.css"]}`, Topics: topics}
		if err := tr.Publish(ctx, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishParallel measures Publish from many goroutines sharing
// one transport.
func BenchmarkPublishParallel(b *testing.B) {
	tr := open(b, newPrefix(b), redis.Options{})
	ctx := context.Background()
	topics := []string{sse.DefaultTopic}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := sse.Message{Type: "reload", Data: `{"files":["app.css"]}`, Topics: topics}
			if err := tr.Publish(ctx, &m); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHistoryAfterCursor measures a resume from a stream id 100
// entries back: one MULTI with XRANGE and XINFO STREAM.
func BenchmarkHistoryAfterCursor(b *testing.B) {
	tr := open(b, newPrefix(b), redis.Options{})
	ctx := context.Background()
	var from string
	for i := range 200 {
		m := sse.Message{Data: "x", Topics: []string{sse.DefaultTopic}}
		if err := tr.Publish(ctx, &m); err != nil {
			b.Fatal(err)
		}
		if i == 99 {
			from = m.ID
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		h, err := tr.History(ctx, from)
		if err != nil || len(h.Messages) != 100 || !h.Complete {
			b.Fatalf("History: %d messages, complete %v, %v", len(h.Messages), h.Complete, err)
		}
	}
}
