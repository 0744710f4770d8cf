package sse_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
)

// TestLifetimesShareOneTimer opens streams whose credentials expire at
// different times, in an order unlike that of their deadlines, plus one
// whose client leaves long before its own expiry: every stream ends when its own credentials
// expire (never before), with the token's reason, and the one that left
// is reported as gone, not expired.
func TestLifetimesShareOneTimer(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		var (
			mu      sync.Mutex
			reasons = map[string]error{}
			ends    = map[string]time.Time{}
		)
		_, srv := newHub(t, mode, sse.WithAuthorizer(topicAuthorizer{}), sse.WithOnDisconnect(func(info sse.ConnInfo, reason error) {
			mu.Lock()
			defer mu.Unlock()
			reasons[info.ID], ends[info.ID] = reason, time.Now()
		}))
		type opened struct {
			s       *stream
			expires time.Time
		}
		var streams []opened
		for _, d := range []time.Duration{600 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 300 * time.Millisecond} {
			expires := time.Now().Add(d)
			streams = append(streams, opened{open(t, srv, "/sse", http.Header{"X-Expires-In": {d.String()}}), expires})
		}
		leaving := open(t, srv, "/sse", http.Header{"X-Expires-In": {"5s"}})
		leaving.resp.Body.Close()
		for _, o := range streams {
			if err := o.s.ended(); err == nil {
				t.Fatalf("stream %s ended without an error", o.s.connID)
			}
		}
		ids := append([]string{leaving.connID}, func() []string {
			var ids []string
			for _, o := range streams {
				ids = append(ids, o.s.connID)
			}
			return ids
		}()...)
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := 0
			for _, id := range ids {
				if _, ok := reasons[id]; ok {
					n++
				}
			}
			mu.Unlock()
			if n == len(ids) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d streams reported closed", n, len(ids))
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, o := range streams {
			id := o.s.connID
			if reasons[id] == nil || reasons[id].Error() != "sse: the stream's token expired" {
				t.Errorf("stream %s ended with %v, want the token's expiry", id, reasons[id])
			}
			if ends[id].Before(o.expires) {
				t.Errorf("stream %s ended %s before its credentials expired", id, o.expires.Sub(ends[id]))
			}
		}
		if r := reasons[leaving.connID]; r != nil {
			t.Errorf("the stream whose client left ended with %v, want nil (gone)", r)
		}
	})
}
