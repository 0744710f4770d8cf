package sse_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/h2"
	"github.com/valksor/go-sse/internal/proctest"
)

// newH2Hub serves a hub over TLS with HTTP/2 from package h2, and returns
// a client that multiplexes its streams over one connection.
func newH2Hub(t *testing.T, hs *h2.Server, opts ...sse.Option) (*sse.Hub, *httptest.Server, *http.Client) {
	t.Helper()
	opts = append([]sse.Option{sse.WithPublishToken(token), sse.WithPingInterval(0)}, opts...)
	hub, err := sse.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(hub.Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{testCert(t)}, NextProtos: []string{"h2", "http/1.1"}}
	hs.Configure(srv.Config)
	srv.StartTLS()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	var p http.Protocols
	p.SetHTTP2(true)
	tr.Protocols = &p
	t.Cleanup(tr.CloseIdleConnections)
	return hub, srv, &http.Client{Transport: tr}
}

// TestHTTP2StreamsAreDetached: HTTP/2 streams served by package h2 are
// detached from their handlers (handed off, as HTTP/1.1 ones are), share
// one connection, and each gets every event; a client that closes one
// stream (RST_STREAM) ends that stream alone; Shutdown ends the others
// with the retry hint.
func TestHTTP2StreamsAreDetached(t *testing.T) {
	hub, srv, hc := newH2Hub(t, &h2.Server{})
	var streams []*stream
	for range 3 {
		s := openWith(t, hc, srv.URL+"/sse?topic=news", nil)
		if s.resp.ProtoMajor != 2 {
			t.Fatalf("stream over %s, want HTTP/2", s.resp.Proto)
		}
		streams = append(streams, s)
	}
	for _, c := range hub.Clients() {
		if !c.HandedOff {
			t.Fatalf("stream %s is served from its handler, want it detached", c.ID)
		}
	}
	if _, err := hub.Publish(context.Background(), sse.Event{Topics: []string{"news"}, Type: "one", Data: strings.Repeat("x", 70000)}); err != nil {
		t.Fatal(err)
	}
	for i, s := range streams {
		if e := s.next(); e.Type != "one" || len(e.Data) != 70000 {
			t.Fatalf("stream %d got %q with %d bytes, want one with 70,000", i, e.Type, len(e.Data))
		}
	}

	streams[0].resp.Body.Close()
	proctest.Await(t, 10*time.Second, "the closed stream to end", func() bool { return hub.Stats().Connections == 2 })
	if _, err := hub.Publish(context.Background(), sse.Event{Topics: []string{"news"}, Type: "two"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range streams[1:] {
		if e := s.next(); e.Type != "two" {
			t.Fatalf("got %q, want two", e.Type)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, s := range streams[1:] {
		s.ended()
		if s.p.Retry() != sse.ShutdownRetry {
			t.Errorf("stream %d: retry hint %v at shutdown, want %v", i+1, s.p.Retry(), sse.ShutdownRetry)
		}
	}
}

// TestHTTP2SlowConsumerIsDropped: a client that opens a stream with a
// zero flow-control window and never opens it is dropped as a slow
// consumer once its stream's buffer is full: the stream is reset, the hub
// counts it, and a stream on another connection keeps receiving.
func TestHTTP2SlowConsumerIsDropped(t *testing.T) {
	hub, srv, hc := newH2Hub(t, &h2.Server{MaxStreamBuffer: 64 << 10})
	healthy := openWith(t, hc, srv.URL+"/sse?topic=news", nil)

	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/sse?topic=news"}, {":authority", "x"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	proctest.Await(t, 10*time.Second, "the second stream to open", func() bool { return hub.Stats().Connections == 2 })

	big := strings.Repeat("y", 16<<10)
	for i := 0; hub.Stats().SlowDisconnects == 0; i++ {
		if i == 100 {
			t.Fatalf("100 events of 16 KB published and no slow consumer dropped: %+v", hub.Stats())
		}
		if _, err := hub.Publish(context.Background(), sse.Event{Topics: []string{"news"}, Type: "big", Data: big}); err != nil {
			t.Fatal(err)
		}
		if e := healthy.next(); e.Type != "big" {
			t.Fatalf("the healthy stream got %q, want big", e.Type)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no RST_STREAM for the slow stream: %v", err)
		}
		if rst, ok := f.(*http2.RSTStreamFrame); ok && rst.StreamID == 1 {
			break
		}
	}
	proctest.Await(t, 10*time.Second, "the slow stream to be released", func() bool { return hub.Stats().Connections == 1 })
}

// TestHTTP2ReplayLargerThanStreamBuffer: a stream that resumes with more
// history than its buffer holds gets all of it: the opening is one write,
// which an empty queue always takes.
func TestHTTP2ReplayLargerThanStreamBuffer(t *testing.T) {
	hub, srv, hc := newH2Hub(t, &h2.Server{MaxStreamBuffer: 64 << 10})
	data := strings.Repeat("z", 16<<10)
	for range 20 {
		if _, err := hub.Publish(context.Background(), sse.Event{Type: "old", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	s := openWith(t, hc, srv.URL+"/sse?lastEventID=earliest", nil)
	for i := range 20 {
		if e := s.next(); e.Type != "old" || e.Data != data {
			t.Fatalf("replayed event %d: %q with %d bytes, want old with %d", i, e.Type, len(e.Data), len(data))
		}
	}
}

// TestHTTP2StreamChurn: streams open and close on a few shared HTTP/2
// connections while events are published. Every stream that stays open
// gets every event published after it opened, in order, none twice;
// every stream closed is released, and when the clients go, so do the
// server's connections and goroutines.
func TestHTTP2StreamChurn(t *testing.T) {
	const conns, perConn, events = 4, 25, 30
	hub, srv, _ := newH2Hub(t, &h2.Server{})
	before := runtime.NumGoroutine() // the server and the hub's writers are up

	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	var transports []*http.Transport
	var kept []*stream
	for range conns {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
		var p http.Protocols
		p.SetHTTP2(true)
		tr.Protocols = &p
		transports = append(transports, tr)
		hc := &http.Client{Transport: tr}
		for i := range perConn {
			s := openWith(t, hc, srv.URL+"/sse?topic=churn", nil)
			if i%2 == 0 {
				s.resp.Body.Close() // half of them go at once
				continue
			}
			kept = append(kept, s)
		}
	}
	proctest.Await(t, 10*time.Second, "the closed half to be released", func() bool {
		return hub.Stats().Connections == len(kept)
	})
	for i := range events {
		if _, err := hub.Publish(context.Background(), sse.Event{Topics: []string{"churn"}, Type: "n", Data: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		if i == events/2 {
			kept[0].resp.Body.Close() // one more goes mid-way
		}
	}
	for k, s := range kept[1:] {
		for i := range events {
			if e := s.next(); e.Type != "n" || e.Data != strconv.Itoa(i) {
				t.Fatalf("stream %d, event %d: got %q %q", k+1, i, e.Type, e.Data)
			}
		}
	}
	for _, s := range kept {
		s.resp.Body.Close()
	}
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}
	proctest.Await(t, 10*time.Second, "every stream to be released", func() bool { return hub.Stats().Connections == 0 })
	// The server's connection goroutines (a reader and a writer each) end
	// with the connections, and the clients' with theirs.
	proctest.Await(t, 10*time.Second, "the connections' goroutines to end", func() bool {
		return runtime.NumGoroutine() <= before
	})
}
