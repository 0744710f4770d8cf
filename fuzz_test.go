package sse_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	sse "github.com/valksor/go-sse"
)

// FuzzPublish sends arbitrary publish bodies: the hub answers 200 or a 4xx,
// never panics, and an accepted event is in the history.
func FuzzPublish(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"type":"reload","data":{"files":[]}}`},
		{"application/json", `{"type":"x","data":"a\r\nb","topic":["a","b"],"retry":10,"id":"i"}`},
		{"application/json", `{"data":null}`},
		{"application/json", `{"type":"reload","data":{"files":[]},"timestamp":1732700000}`},
		{"application/json", `{"type":"css-update","timestamp":"1732700000.5"}`},
		{"application/x-www-form-urlencoded", "type=reload&timestamp=1732700000"},
		{"application/x-www-form-urlencoded", "type=t&data=d&topic=a&topic=b&retry=5"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nt\r\n--X--\r\n"},
		{"text/plain", "hello"},
		{"", ""},
	} {
		f.Add(seed.ct, seed.body)
	}
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithAnonymousPublish(), sse.WithMaxBodyBytes(4096), sse.WithHistorySize(10))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { hub.Shutdown(context.Background()) })
	h := hub.Handler()
	f.Fuzz(func(t *testing.T, ct, body string) {
		req := httptest.NewRequest(http.MethodPost, "/sse/publish", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			if !strings.Contains(rec.Body.String(), `"id"`) {
				t.Fatalf("200 without an id: %q", rec.Body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			if rec.Body.Len() == 0 {
				t.Fatalf("%d without an explanation", rec.Code)
			}
		default:
			t.Fatalf("status %d for %q %q: %s", rec.Code, ct, body, rec.Body)
		}
	})
}

// FuzzStreamRequest opens streams with arbitrary topics and Last-Event-IDs:
// the answer is a stream or a 4xx, never a panic or a 5xx.
func FuzzStreamRequest(f *testing.F) {
	f.Add("a", "1-0")
	f.Add("", "earliest")
	f.Add("x\x00", "a\nb")
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithHistorySize(10))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { hub.Shutdown(context.Background()) })
	hub.Broadcast(context.Background(), sse.Event{Type: "x"})
	h := hub.Handler()
	f.Fuzz(func(t *testing.T, topic, lastID string) {
		q := url.Values{"topic": {topic}, "lastEventID": {lastID}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req := httptest.NewRequest(http.MethodGet, "/sse?"+q.Encode(), nil).WithContext(ctx)
		// The stream ends right after its opening events are flushed.
		rec := &cancelOnFlush{httptest.NewRecorder(), cancel}
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("status %d for topic %q id %q: %s", rec.Code, topic, lastID, rec.Body)
		}
		if rec.Code == http.StatusOK && !strings.HasPrefix(rec.Body.String(), "event: connected\n") {
			t.Fatalf("stream does not start with connected: %q", rec.Body)
		}
	})
}

type cancelOnFlush struct {
	*httptest.ResponseRecorder
	cancel func()
}

func (c *cancelOnFlush) Flush() {
	c.ResponseRecorder.Flush()
	c.cancel()
}
