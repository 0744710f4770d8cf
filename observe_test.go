package sse_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
)

// TestObserveStream: a middleware that observes the stream learns its real
// end, after the handler returned (hijacked) or with it (handler mode), and
// with the stream's reason.
func TestObserveStream(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, err := sse.New(mode, sse.WithPingInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		type end struct {
			id     string
			reason error
		}
		opened, closed := make(chan string, 1), make(chan end, 1)
		mw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r = sse.ObserveStream(r, sse.StreamObserver{
				Opened: func(id string) { opened <- id },
				Closed: func(id string, reason error) { closed <- end{id, reason} },
			})
			hub.Handler().ServeHTTP(w, r)
		})
		srv := httptest.NewServer(mw)
		t.Cleanup(func() { hub.Shutdown(context.Background()); srv.Close() })
		s := open(t, srv, "/sse", nil)
		if id := <-opened; id != s.connID {
			t.Fatalf("Opened(%q), want the connection id %q", id, s.connID)
		}
		select {
		case e := <-closed:
			t.Fatalf("Closed(%+v) while the client still reads", e)
		default:
		}
		s.resp.Body.Close()
		select {
		case e := <-closed:
			if e.id != s.connID || e.reason != nil {
				t.Fatalf("Closed(%q, %v), want %q and nil (client went away)", e.id, e.reason, s.connID)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Closed was not called after the client left")
		}
	})
}

// ExampleObserveStream logs each stream when it really ends, which a
// middleware cannot learn from its handler returning: HTTP/1.1 streams are
// taken over from net/http and outlive it.
func ExampleObserveStream() {
	hub, err := sse.New()
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Shutdown(context.Background())
	ended := make(chan struct{})
	accessLog := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			r = sse.ObserveStream(r, sse.StreamObserver{
				Closed: func(connID string, reason error) {
					log.Printf("stream %s ended after %s: %v", connID, time.Since(start), reason)
					fmt.Println("stream ended; reason:", reason)
					close(ended)
				},
			})
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(accessLog(hub.Handler()))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/sse")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close() // the client leaves
	<-ended
	// Output: stream ended; reason: <nil>
}
