package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
)

func TestSubscriberResumesWithLastEventID(t *testing.T) {
	var conns atomic.Int32
	var lastIDs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := conns.Add(1)
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		w.Header().Set("Content-Type", "text/event-stream")
		switch n {
		case 1:
			// Two events, then the connection drops.
			fmt.Fprint(w, "retry: 10\n\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n")
		case 2:
			// An event without id keeps the last one, as in a browser.
			fmt.Fprint(w, "data: c\n\nid: 3\nevent: end\ndata: d\n\n")
		}
	}))
	defer srv.Close()
	var got []string
	sub := &client.Subscriber{URL: srv.URL}
	err := sub.Run(context.Background(), func(e client.Event) error {
		got = append(got, e.Type+":"+e.Data+"@"+e.ID)
		if e.Type == "end" {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Run: %v", err)
	}
	want := "[message:a@1 message:b@2 message:c@2 end:d@3]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if fmt.Sprint(lastIDs) != "[ 2]" {
		t.Fatalf("Last-Event-ID headers %q, want none then 2", lastIDs)
	}
	if sub.LastEventID != "3" {
		t.Fatalf("LastEventID = %q", sub.LastEventID)
	}
}

var errStop = errors.New("stop")

func TestSubscriberStopsOn204And4xx(t *testing.T) {
	for status, want := range map[int]error{http.StatusNoContent: client.ErrStopped, http.StatusUnauthorized: sse.ErrUnauthorized} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", status)
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := (&client.Subscriber{URL: srv.URL}).Run(ctx, func(client.Event) error { return nil })
		cancel()
		srv.Close()
		if !errors.Is(err, want) {
			t.Errorf("status %d: Run = %v, want %v", status, err, want)
		}
	}
}

func TestSubscriberRetriesServerErrors(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: ok\n\n")
	}))
	defer srv.Close()
	sub := &client.Subscriber{URL: srv.URL, MaxBackoff: 20 * time.Millisecond}
	err := sub.Run(context.Background(), func(e client.Event) error { return errStop })
	if !errors.Is(err, errStop) || n.Load() != 3 {
		t.Fatalf("Run = %v after %d attempts", err, n.Load())
	}
}

func TestPublisherErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := (&client.Publisher{URL: url}).Publish(context.Background(), sse.Event{Type: "x"})
	if !errors.Is(err, client.ErrUnreachable) {
		t.Fatalf("closed server: %v", err)
	}
	if _, err := (&client.Publisher{URL: url}).Publish(context.Background(), sse.Event{Data: func() {}}); !errors.Is(err, sse.ErrInvalidEvent) {
		t.Fatalf("bad data: %v", err)
	}
}
