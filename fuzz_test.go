package sse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/wire"
)

// FuzzPublish sends arbitrary publish bodies (JSON, URL-encoded and
// multipart forms, anything else): the hub answers 200 with an id or a 4xx
// with an explanation, never a panic or a 5xx, and a stream that replays the
// history after an accepted event is still well formed.
func FuzzPublish(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"type":"reload","data":{"files":[]}}`},
		{"application/json", `{"type":"x","data":"a\r\nb","topic":["a","b"],"retry":10,"id":"i"}`},
		{"application/json", `{"data":null}`},
		{"application/json", `{"type":"reload","data":{"files":[]},"timestamp":1732700000}`},
		{"application/json", `{"type":"css-update","timestamp":"1732700000.5"}`},
		{"application/json", `{"TYPE":"ping","type":"x"}`},
		{"application/json", `{"type":"a","type":"b"}`},
		{"application/json", `{"type":"connected","id":"1-0"}`},
		{"application/json", `{"topics":["a","a","a"],"id":"earliest"}`},
		{"application/x-www-form-urlencoded", "type=reload&timestamp=1732700000"},
		{"application/x-www-form-urlencoded", "type=t&data=d&topic=a&topic=b&retry=5"},
		{"application/x-www-form-urlencoded", "type=t;data=d&%zz"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nt\r\n--X--\r\n"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.txt\"\r\n\r\nt\r\n--X--\r\n"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"upload\"\r\n\r\nt\r\n--X--\r\n"},
		{"text/plain", "hello"},
		{"", ""},
	} {
		f.Add(seed.ct, seed.body)
	}
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithAnonymousPublish(), sse.WithMaxBodyBytes(4096), sse.WithHistorySize(10), sse.WithMaxTopics(8))
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
			var got struct{ ID string }
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID == "" {
				t.Fatalf("200 without an id: %q", rec.Body)
			}
			// A stream replaying the whole history stays well formed.
			checkStream(t, h, "lastEventID=earliest", "")
		case rec.Code >= 400 && rec.Code < 500:
			if rec.Body.Len() == 0 {
				t.Fatalf("%d without an explanation", rec.Code)
			}
		default:
			t.Fatalf("status %d for %q %q: %s", rec.Code, ct, body, rec.Body)
		}
	})
}

// FuzzStreamRequest opens streams with arbitrary query strings and
// Last-Event-ID headers: the answer is a 4xx with an explanation, or a
// stream of well-formed lines that starts with the connected event; never a
// panic or a 5xx.
func FuzzStreamRequest(f *testing.F) {
	f.Add("topic=a&lastEventID=1-0", "")
	f.Add("lastEventID=earliest", "")
	f.Add("topic=x%00", "a\nb")
	f.Add("topic=a;topic=b", "")
	f.Add("topic=%zz", "")
	f.Add("topic=a&topic=a&topic=b", "order-42")
	f.Add(strings.Repeat("topic=t&", 9), "")
	f.Add("", "99999999999999-0")
	f.Add("last_event_id=urn:uuid:5d1c3b8e", "")
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithHistorySize(10), sse.WithAnonymousPublish(), sse.WithMaxTopics(8))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { hub.Shutdown(context.Background()) })
	ctx := context.Background()
	hub.Broadcast(ctx, sse.Event{Type: "x", Topics: []string{"a"}})
	hub.Broadcast(ctx, sse.Event{ID: "order-42", Type: "y", Data: "line 1\nline 2"})
	h := hub.Handler()
	f.Fuzz(func(t *testing.T, rawQuery, lastID string) {
		checkStream(t, h, rawQuery, lastID)
	})
}

// checkStream opens a stream on h with rawQuery and the Last-Event-ID
// header lastID, ends it once its opening is written, and checks the answer:
// a 4xx with a message, or 200 with well-formed lines starting with the
// connected event.
func checkStream(t *testing.T, h http.Handler, rawQuery, lastID string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := httptest.NewRequest(http.MethodGet, "/sse", nil).WithContext(ctx)
	req.URL.RawQuery = rawQuery
	if lastID != "" {
		req.Header["Last-Event-Id"] = []string{lastID}
	}
	// The stream ends right after its opening events are flushed.
	rec := &cancelOnFlush{httptest.NewRecorder(), cancel}
	h.ServeHTTP(rec, req)
	switch {
	case rec.Code >= 400 && rec.Code < 500:
		if rec.Body.Len() == 0 {
			t.Fatalf("%d without an explanation for %q", rec.Code, rawQuery)
		}
		return
	case rec.Code != http.StatusOK:
		t.Fatalf("status %d for query %q Last-Event-ID %q: %s", rec.Code, rawQuery, lastID, rec.Body)
	}
	body := rec.Body.Bytes()
	if !bytes.HasSuffix(body, []byte("\n\n")) {
		t.Fatalf("the opening does not end with a blank line: %q", body)
	}
	for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
		if !wellFormed(line) {
			t.Fatalf("malformed stream line %q in %q", line, body)
		}
	}
	e, err := wire.NewParser(bytes.NewReader(body)).Next()
	if err != nil || e.Type != sse.TypeConnected {
		t.Fatalf("the stream does not start with connected (%v): %q", err, body)
	}
}

// wellFormed reports whether line is one this server may write: empty, a
// comment, or one of the fields id, event, data and retry.
func wellFormed(line []byte) bool {
	if len(line) == 0 || line[0] == ':' {
		return true
	}
	if bytes.ContainsAny(line, "\r\x00") {
		return false
	}
	for _, field := range []string{"id", "event", "data", "retry"} {
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok && (len(rest) == 0 || bytes.HasPrefix(rest, []byte(": "))) {
			return true
		}
	}
	return false
}

type cancelOnFlush struct {
	*httptest.ResponseRecorder
	cancel func()
}

func (c *cancelOnFlush) Flush() {
	c.ResponseRecorder.Flush()
	c.cancel()
}
