package sse_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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

// TestHooksSeeThePeerAddress: the disconnect hook and Clients report the
// peer's address as the request had it, for a hijacked stream too (which
// derives it from its connection rather than storing it), including an
// address a middleware rewrote.
func TestHooksSeeThePeerAddress(t *testing.T) {
	for _, rewrite := range []bool{false, true} {
		t.Run(fmt.Sprint("rewritten=", rewrite), func(t *testing.T) {
			eachMode(t, func(t *testing.T, mode sse.Option) {
				gone := make(chan sse.ConnInfo, 1)
				hub, err := sse.New(mode, sse.WithPingInterval(0), sse.WithOnDisconnect(func(info sse.ConnInfo, _ error) { gone <- info }))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
				var seen atomic.Value
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if rewrite {
						r.RemoteAddr = "203.0.113.7:4242"
					}
					seen.Store(r.RemoteAddr)
					hub.Handler().ServeHTTP(w, r)
				}))
				t.Cleanup(srv.Close)
				s := open(t, srv, "/sse?topic=news", nil)
				want := seen.Load().(string)
				clients := hub.Clients()
				if len(clients) != 1 || clients[0].RemoteAddr != want {
					t.Fatalf("Clients says %+v, want one stream from %s", clients, want)
				}
				s.resp.Body.Close()
				select {
				case info := <-gone:
					if info.RemoteAddr != want || info.ID != s.connID || len(info.Topics) != 1 || info.Topics[0] != "news" {
						t.Fatalf("the disconnect hook got %+v, want stream %s from %s on news", info, s.connID, want)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no disconnect within 10s")
				}
			})
		})
	}
}
