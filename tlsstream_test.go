package sse_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/internal/selfsigned"
	"github.com/valksor/go-sse/internal/wire"
)

// testCert returns a freshly generated self-signed certificate for the
// loopback addresses.
func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	cert, err := selfsigned.Certificate(time.Now(), time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// How tlsServer serves TLS.
type tlsMode int

const (
	tlsPlainListener tlsMode = iota // tls.NewListener over the TCP listener
	tlsListener                     // over sse.Listener
	tlsTakeover                     // over sse.Listener, with sse.TLSConfig
)

func (m tlsMode) String() string {
	return [...]string{"tls", "sse.Listener", "sse.TLSConfig"}[m]
}

// tlsServer serves hub over TLS on 127.0.0.1, offering h2 and http/1.1, as
// mode says. The returned client speaks HTTP/1.1; srv.Client() speaks
// HTTP/2.
func tlsServer(t testing.TB, hub *sse.Hub, mode tlsMode) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(hub.Handler())
	if mode != tlsPlainListener {
		srv.Listener = sse.Listener(srv.Listener)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{testCert(t)}, NextProtos: []string{"h2", "http/1.1"}}
	if mode == tlsTakeover {
		srv.TLS = sse.TLSConfig(srv.TLS)
	}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	t.Cleanup(h1.CloseIdleConnections)
	return srv, h1
}

// newTLSHub is newHub over TLS as the server package serves it: through
// sse.Listener with sse.TLSConfig.
func newTLSHub(t *testing.T, opts ...sse.Option) (*sse.Hub, *httptest.Server, *http.Client) {
	t.Helper()
	opts = append([]sse.Option{sse.WithPublishToken(token), sse.WithPingInterval(0)}, opts...)
	hub, err := sse.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	srv, h1 := tlsServer(t, hub, tlsTakeover)
	return hub, srv, h1
}

// TestTLSStreamIsHandedOff: an HTTP/1.1 stream over TLS accepted through
// Listener is taken over by the hub, written without waiting, watched
// for hang-ups, and gets live events, a replay, and the retry hint at
// shutdown.
func TestTLSStreamIsHandedOff(t *testing.T) {
	hub, srv, h1 := newTLSHub(t)
	s := openWith(t, h1, srv.URL+"/sse", nil)
	if s.resp.ProtoMajor != 1 || s.resp.TLS == nil {
		t.Fatalf("stream over %s, TLS %v; want HTTP/1.1 over TLS", s.resp.Proto, s.resp.TLS != nil)
	}
	// The client reads the opening before the hand-off is complete.
	waitFor(t, func() bool {
		handedOff, lean, watched := hub.StreamConn(s.connID)
		return handedOff && lean && watched == (runtime.GOOS == "linux" && !sse.Portable)
	})
	if !hub.StreamSealed(s.connID) {
		t.Fatal("the TLS 1.3 stream kept its *tls.Conn")
	}

	var ids []string
	for i := range 3 {
		id, err := hub.Publish(context.Background(), sse.Event{Type: "tick", Data: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if e := s.next(); e.Type != "tick" || e.Data != fmt.Sprint(i) || e.ID != id {
			t.Fatalf("live event %d: got %+v", i, e)
		}
	}

	resumed := openWith(t, h1, srv.URL+"/sse", http.Header{"Last-Event-Id": {ids[0]}})
	for i := 1; i < 3; i++ {
		if e := resumed.next(); e.Type != "tick" || e.ID != ids[i] {
			t.Fatalf("replayed event %d: got %+v", i, e)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, st := range []*stream{s, resumed} {
		if err := st.ended(); !errors.Is(err, io.EOF) {
			t.Errorf("stream %d ended with %v", i, err)
		}
		if st.p.Retry() != sse.ShutdownRetry {
			t.Errorf("stream %d: retry hint %v, want %v", i, st.p.Retry(), sse.ShutdownRetry)
		}
	}
}

// TestTLSStreamWithoutListener: a TLS stream whose listener was not
// wrapped is still taken over, and works.
func TestTLSStreamWithoutListener(t *testing.T) {
	hub, err := sse.New(sse.WithPingInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
	srv, h1 := tlsServer(t, hub, tlsPlainListener)
	s := openWith(t, h1, srv.URL+"/sse", nil)
	if handedOff, lean, _ := hub.StreamConn(s.connID); !handedOff || lean {
		t.Fatalf("handed off %v, lean %v; want taken over, written from goroutines", handedOff, lean)
	}
	for i := range 3 {
		if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if e := s.next(); e.Type != "tick" || e.Data != fmt.Sprint(i) {
			t.Fatalf("event %d: got %+v", i, e)
		}
	}
	s.resp.Body.Close()
	waitFor(t, func() bool { return hub.Stats().Connections == 0 })
}

// TestTLSHTTP2OnTheSameListener: ALPN still offers h2 through Listener,
// and an HTTP/2 stream is served from its handler.
func TestTLSHTTP2OnTheSameListener(t *testing.T) {
	hub, srv, _ := newTLSHub(t)
	s := open(t, srv, "/sse", nil)
	if s.resp.ProtoMajor != 2 {
		t.Fatalf("stream over %s, want HTTP/2", s.resp.Proto)
	}
	if handedOff, _, _ := hub.StreamConn(s.connID); handedOff {
		t.Fatal("an HTTP/2 stream was handed off")
	}
	if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: "h2"}); err != nil {
		t.Fatal(err)
	}
	if e := s.next(); e.Type != "tick" || e.Data != "h2" {
		t.Fatalf("got %+v", e)
	}
}

// rawTLSStream opens a TLS HTTP/1.1 stream to addr and reads its response
// head and nothing more; the caller decides whether to read on.
func rawTLSStream(t testing.TB, addr string, roots *x509.CertPool) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /sse HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream answered %s", resp.Status)
	}
	return c, br
}

// TestTLSSlowConsumersDoNotHoldUpWriters: TLS clients that stop reading
// are dropped as slow consumers while a reading one gets every event. There
// are more of them than the hub has writers, and the write timeout is far
// longer than the test: were a TLS write to wait for a full socket, every
// writer would be stuck on them and the reading client would get nothing.
func TestTLSSlowConsumersDoNotHoldUpWriters(t *testing.T) {
	for _, mode := range []tlsMode{tlsPlainListener, tlsListener, tlsTakeover} {
		t.Run(mode.String(), func(t *testing.T) {
			hub, err := sse.New(sse.WithPingInterval(0), sse.WithQueueSize(8), sse.WithWriteTimeout(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = hub.Shutdown(ctx)
			})
			srv, h1 := tlsServer(t, hub, mode)
			roots := x509.NewCertPool()
			roots.AddCert(srv.Certificate())
			slow := 2*max(2, runtime.GOMAXPROCS(0)) + 2
			for range slow {
				rawTLSStream(t, srv.Listener.Addr().String(), roots)
			}
			fast := openWith(t, h1, srv.URL+"/sse", nil)
			waitFor(t, func() bool { return hub.Stats().Connections == slow+1 })

			publishInStep(t, hub, fast, 300)
			waitFor(t, func() bool { return hub.Stats().Connections == 1 })
		})
	}
}

// TestTLSHangUpIsNoticed: TLS clients that hang up are noticed and their
// streams closed; on Linux without a goroutine per stream.
func TestTLSHangUpIsNoticed(t *testing.T) {
	hub, srv, _ := newTLSHub(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()
	// One stream first, so that the hub's own goroutines have started.
	rawTLSStream(t, addr, roots)
	waitFor(t, func() bool { return hub.Stats().Connections == 1 })
	before := runtime.NumGoroutine()
	const n = 40
	conns := make([]*tls.Conn, n)
	for i := range conns {
		conns[i], _ = rawTLSStream(t, addr, roots)
	}
	waitFor(t, func() bool { return hub.Stats().Connections == n+1 })
	// A client reads its response head before the hub's hand-off is
	// complete; wait for it.
	waitFor(t, func() bool {
		for _, c := range hub.Clients() {
			if _, lean, watched := hub.StreamConn(c.ID); !lean || watched != (runtime.GOOS == "linux" && !sse.Portable) {
				return false
			}
		}
		return true
	})
	if runtime.GOOS == "linux" && !sse.Portable {
		// net/http's goroutines for the connections end once the hub took
		// them over; wait for that rather than guess how long it takes.
		waitFor(t, func() bool { return runtime.NumGoroutine()-before < n/4 })
	}
	for _, c := range conns[:n/2] {
		c.Close() // close_notify, then FIN
	}
	for _, c := range conns[n/2:] {
		c.NetConn().Close() // FIN without close_notify
	}
	waitFor(t, func() bool { return hub.Stats().Connections == 1 })
}

// keptAliveStream sends requests GET requests for the health check on one
// TLS connection, reading each answer, and then opens a stream on it. It
// returns the stream's connection id and its parser.
func keptAliveStream(t *testing.T, srv *httptest.Server, cfg *tls.Config, requests int) (string, *wire.Parser) {
	t.Helper()
	addr := srv.Listener.Addr().String()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	br := bufio.NewReader(c)
	for i := range requests {
		fmt.Fprintf(c, "GET /sse/healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Fprintf(c, "GET /sse HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v %v", resp, err)
	}
	p := wire.NewParser(resp.Body)
	first, err := p.Next()
	if err != nil || first.Type != sse.TypeConnected {
		t.Fatalf("first event %+v, %v", first, err)
	}
	var v struct{ ID string }
	if err := json.Unmarshal([]byte(first.Data), &v); err != nil {
		t.Fatal(err)
	}
	return v.ID, p
}

// TestTLSTakeoverAfterRequests: a stream opened on a connection that
// served other requests first is taken over too, its records numbered
// after crypto/tls's; an event larger than a record arrives whole; a
// connection that sent more records than the hub looks back keeps its
// *tls.Conn, and works. The client is crypto/tls, which checks every
// record: a wrong key or sequence number ends its stream with an error.
func TestTLSTakeoverAfterRequests(t *testing.T) {
	hub, srv, _ := newTLSHub(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	cfg := &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}}
	big := strings.Repeat("0123456789abcdef", 5000) // 80 KB: five records
	for _, c := range []struct {
		requests int
		sealed   bool
	}{{0, true}, {50, true}, {5000, false}} {
		t.Run(fmt.Sprint(c.requests, " requests"), func(t *testing.T) {
			id, p := keptAliveStream(t, srv, cfg, c.requests)
			waitFor(t, func() bool { handedOff, lean, _ := hub.StreamConn(id); return handedOff && lean })
			if got := hub.StreamSealed(id); got != c.sealed {
				t.Fatalf("taken over from crypto/tls: %v, want %v", got, c.sealed)
			}
			for i, data := range []string{"small", big, "after"} {
				if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: data}); err != nil {
					t.Fatal(err)
				}
				e, err := p.Next()
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if e.Type != "tick" || e.Data != data {
					t.Fatalf("event %d: %s with %d bytes, want tick with %d", i, e.Type, len(e.Data), len(data))
				}
			}
		})
	}
}

// TestTLS12StreamKeepsItsConn: a TLS 1.2 client's stream is handed off
// but stays with crypto/tls, whose records it gets.
func TestTLS12StreamKeepsItsConn(t *testing.T) {
	hub, srv, _ := newTLSHub(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	id, p := keptAliveStream(t, srv, &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}, MaxVersion: tls.VersionTLS12}, 0)
	waitFor(t, func() bool { handedOff, lean, _ := hub.StreamConn(id); return handedOff && lean })
	if hub.StreamSealed(id) {
		t.Fatal("a TLS 1.2 stream was taken over from crypto/tls")
	}
	if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: "1.2"}); err != nil {
		t.Fatal(err)
	}
	if e, err := p.Next(); err != nil || e.Data != "1.2" {
		t.Fatalf("got %+v, %v", e, err)
	}
}

// TestTLSConfigKeepsTheKeyLog: a KeyLogWriter in the config given to
// TLSConfig still gets every line, and the stream is still taken over.
func TestTLSConfigKeepsTheKeyLog(t *testing.T) {
	hub, err := sse.New(sse.WithPingInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
	var keyLog proctest.Buffer
	srv := httptest.NewUnstartedServer(hub.Handler())
	srv.Listener = sse.Listener(srv.Listener)
	srv.TLS = sse.TLSConfig(&tls.Config{Certificates: []tls.Certificate{testCert(t)}, KeyLogWriter: &keyLog})
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	id, _ := keptAliveStream(t, srv, &tls.Config{RootCAs: roots}, 0)
	waitFor(t, func() bool { return hub.StreamSealed(id) })
	for _, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET ", "SERVER_HANDSHAKE_TRAFFIC_SECRET ", "CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 "} {
		if !strings.Contains(keyLog.String(), label) {
			t.Errorf("the key log lacks %s:\n%s", label, keyLog.String())
		}
	}
}

// TestTLSTakeoverResumedSession: a stream on a connection that resumed its
// TLS session (a handshake with a pre-shared key, without the certificate)
// is taken over too.
func TestTLSTakeoverResumedSession(t *testing.T) {
	hub, srv, _ := newTLSHub(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	cfg := &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	// The first connection reads a response, and with it the session
	// ticket the server sent after the handshake.
	keptAliveStream(t, srv, cfg, 1)
	var resumed bool
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		resumed = cs.DidResume
		return nil
	}
	id, p := keptAliveStream(t, srv, cfg, 0)
	if !resumed {
		t.Fatal("the second connection did not resume the session")
	}
	waitFor(t, func() bool { return hub.StreamSealed(id) })
	if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: "resumed"}); err != nil {
		t.Fatal(err)
	}
	for {
		e, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == "tick" {
			if e.Data != "resumed" {
				t.Fatalf("got %+v", e)
			}
			break
		}
	}
}

// TestTLSTakeoverWithCurl: curl, whose TLS is OpenSSL's, reads a stream the
// hub took over, with the default suite and with TLS_AES_256_GCM_SHA384;
// with TLS_CHACHA20_POLY1305_SHA256 and over TLS 1.2 the stream keeps its
// *tls.Conn. Every event arrives, one of
// several records included: OpenSSL checks every record as crypto/tls does.
func TestTLSTakeoverWithCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed (scripts/test installs it)")
		}
		t.Skip("curl is not installed")
	}
	hub, srv, _ := newTLSHub(t)
	big := strings.Repeat("0123456789abcdef", 3000) // 48 KB: four records
	for _, c := range []struct {
		name   string
		args   []string
		sealed bool
	}{
		{"default", nil, true},
		{"aes-256", []string{"--tlsv1.3", "--tls13-ciphers", "TLS_AES_256_GCM_SHA384"}, true},
		{"chacha20", []string{"--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"}, false},
		{"tls1.2", []string{"--tlsv1.2", "--tls-max", "1.2"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-sSN", "--http1.1", "--insecure"}, c.args...)
			cmd := exec.Command(curl, append(args, srv.URL+"/sse")...)
			var stderr proctest.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			})
			p := wire.NewParser(out)
			next := func() wire.Event {
				t.Helper()
				e, err := p.Next()
				if err != nil {
					t.Fatalf("curl's output: %v (curl says %q)", err, stderr.String())
				}
				return e
			}
			first := next()
			var v struct{ ID string }
			if err := json.Unmarshal([]byte(first.Data), &v); first.Type != sse.TypeConnected || err != nil {
				t.Fatalf("first event %+v", first)
			}
			waitFor(t, func() bool { handedOff, lean, _ := hub.StreamConn(v.ID); return handedOff && lean })
			if got := hub.StreamSealed(v.ID); got != c.sealed {
				t.Fatalf("taken over from crypto/tls: %v, want %v", got, c.sealed)
			}
			for _, data := range []string{"small", big} {
				if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: data}); err != nil {
					t.Fatal(err)
				}
				if e := next(); e.Type != "tick" || e.Data != data {
					t.Fatalf("got %s with %d bytes, want tick with %d", e.Type, len(e.Data), len(data))
				}
			}
		})
	}
}
