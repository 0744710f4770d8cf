package bench_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/bench"
)

// tlsHub is a valksor-sse hub behind a TLS test server that speaks
// HTTP/1.1 and, when h2 is set, HTTP/2. It counts the connections and the
// protocol of every stream request.
type tlsHub struct {
	srv *httptest.Server
	tls *tls.Config // trusts the server's certificate

	mu     sync.Mutex
	conns  int
	protos map[string]int // stream requests by r.Proto
}

func startTLSHub(t *testing.T, h2 bool) *tlsHub { return startTLSHubLimit(t, h2, 0) }

// startTLSHubLimit is startTLSHub with the server's limit of concurrent
// HTTP/2 streams per connection (0: net/http's default).
func startTLSHubLimit(t *testing.T, h2 bool, maxStreams int) *tlsHub {
	t.Helper()
	hub, err := sse.New(sse.WithAnonymousPublish(), sse.WithMaxConnections(0), sse.WithPingInterval(0), sse.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	h := &tlsHub{protos: map[string]int{}}
	handler := hub.Handler()
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			h.mu.Lock()
			h.protos[r.Proto]++
			h.mu.Unlock()
		}
		handler.ServeHTTP(w, r)
	}))
	h.srv.EnableHTTP2 = h2
	if maxStreams > 0 {
		h.srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: maxStreams}
	}
	h.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes
	h.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			h.mu.Lock()
			h.conns++
			h.mu.Unlock()
		}
	}
	h.srv.StartTLS()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5e9)
		defer cancel()
		_ = hub.Shutdown(ctx)
		h.srv.Close()
	})
	pool := x509.NewCertPool()
	pool.AddCert(h.srv.Certificate())
	h.tls = &tls.Config{RootCAs: pool}
	return h
}

func (h *tlsHub) config(streams, publishes int) bench.Config {
	return bench.Config{
		StreamURL: h.srv.URL + "/sse?topic=bench", PublishURL: h.srv.URL + "/sse/publish",
		Streams: streams, Publishes: publishes, SettleTime: -1, TLSConfig: h.tls,
	}
}

// counts returns the connections accepted and the stream requests by
// protocol so far.
func (h *tlsHub) counts() (int, map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	protos := map[string]int{}
	for k, v := range h.protos {
		protos[k] = v
	}
	return h.conns, protos
}

// TestTLSHTTP1: over https the streams are HTTP/1.1, one TLS connection
// each, even when the server also speaks HTTP/2.
func TestTLSHTTP1(t *testing.T) {
	h := startTLSHub(t, true)
	rep, err := bench.Run(t.Context(), h.config(50, 4))
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 50, 4)
	if out := checkTable(t, rep); !strings.Contains(out, "HTTP/1.1 over TLS") {
		t.Errorf("the table does not name the protocol:\n%s", out)
	}
	_, protos := h.counts()
	if protos["HTTP/1.1"] != 50 || len(protos) != 1 {
		t.Errorf("stream requests by protocol: %v, want 50 HTTP/1.1", protos)
	}
}

// TestH2: with H2 the streams are HTTP/2 streams, H2StreamsPerConn to a
// connection, and every event reaches every stream.
func TestH2(t *testing.T) {
	h := startTLSHub(t, true)
	cfg := h.config(250, 5)
	cfg.H2 = true
	cfg.H2StreamsPerConn = 100
	rep, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 250, 5)
	if out := checkTable(t, rep); !strings.Contains(out, "HTTP/2, 100 streams per connection") {
		t.Errorf("the table does not name the protocol:\n%s", out)
	}
	checkJSON(t, rep)
	conns, protos := h.counts()
	if protos["HTTP/2.0"] != 250 || len(protos) != 1 {
		t.Errorf("stream requests by protocol: %v, want 250 HTTP/2.0", protos)
	}
	// 250 streams at 100 a connection; the publishes have a connection of
	// their own.
	if conns != 3+1 {
		t.Errorf("the server accepted %d connections, want 3 for the streams and 1 for the publishes", conns)
	}
}

// TestH2StreamLimit: a server that allows fewer streams on a connection
// than asked for refuses the streams beyond, each with an error that says
// to lower H2StreamsPerConn; within its limit every stream connects.
func TestH2StreamLimit(t *testing.T) {
	h := startTLSHubLimit(t, true, 50)
	cfg := h.config(120, 2)
	cfg.H2 = true
	rep, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 70 || rep.Failed != 50 || rep.Lost != 0 {
		t.Errorf("connected %d, failed %d, lost %d; want 70 (50 and 20 on two connections), 50, 0", rep.Connected, rep.Failed, rep.Lost)
	}
	for _, e := range rep.ConnectErrors {
		if !strings.Contains(e, "--h2-streams-per-conn") {
			t.Errorf("connect error %q does not say what to do", e)
		}
	}
	cfg.H2StreamsPerConn = 50
	rep, err = bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 120, 2)
}

// TestH2Default: 100 streams to a connection unless told otherwise.
func TestH2Default(t *testing.T) {
	h := startTLSHub(t, true)
	cfg := h.config(201, 0)
	cfg.H2 = true
	rep, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 201 {
		t.Fatalf("connected %d of 201: %v", rep.Connected, rep.ConnectErrors)
	}
	if conns, _ := h.counts(); conns != 3 {
		t.Errorf("the server accepted %d connections for 201 streams, want 3", conns)
	}
}

// TestH2NotNegotiated: a server without HTTP/2 fails an H2 run at once,
// saying so.
func TestH2NotNegotiated(t *testing.T) {
	h := startTLSHub(t, false)
	cfg := h.config(10, 1)
	cfg.H2 = true
	_, err := bench.Run(t.Context(), cfg)
	if !errors.Is(err, bench.ErrNoHTTP2) || !strings.Contains(err.Error(), "ALPN") {
		t.Fatalf("err = %v, want one wrapping ErrNoHTTP2 that names ALPN", err)
	}
	if conns, protos := h.counts(); len(protos) != 0 || conns > 1 {
		t.Errorf("after the refusal the server saw %d connections and stream requests %v", conns, protos)
	}
}

// TestUntrustedCertificate: a certificate the client does not trust fails
// the run at once with an error that says which way out to take; skipping
// verification gets through.
func TestUntrustedCertificate(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		h := startTLSHub(t, true)
		cfg := h.config(10, 2)
		cfg.H2 = h2
		cfg.TLSConfig = nil
		_, err := bench.Run(t.Context(), cfg)
		if !errors.Is(err, bench.ErrUntrustedCertificate) {
			t.Fatalf("h2 %v: err = %v, want ErrUntrustedCertificate", h2, err)
		}
		for _, want := range []string{"--ca FILE", "--insecure", "certificate"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("h2 %v: error %q lacks %q", h2, err, want)
			}
		}
		if _, protos := h.counts(); len(protos) != 0 {
			t.Errorf("h2 %v: stream requests %v after the refusal", h2, protos)
		}
		cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true}
		rep, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatalf("h2 %v, insecure: %v", h2, err)
		}
		checkClean(t, rep, 10, 2)
	}
}

// TestTLSFloor: the TLS floor serves HTTP/1.1 streams over TLS, resets
// them, and refuses HTTP/2.
func TestTLSFloor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := bench.ServeFloorTLS(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for _, u := range []string{f.StreamURL(), f.PublishURL(), f.ResetURL()} {
		if !strings.HasPrefix(u, "https://") {
			t.Errorf("URL %q is not https", u)
		}
	}
	cfg := bench.Config{
		StreamURL: f.StreamURL(), PublishURL: f.PublishURL(), ResetURL: f.ResetURL(),
		Streams: 40, Publishes: 5, SourceAddrs: true, TLSConfig: &tls.Config{InsecureSkipVerify: true},
	}
	for range 2 {
		rep, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, rep, 40, 5)
		if n := f.Streams(); n != 40 {
			t.Errorf("the floor holds %d streams after a reset and a run of 40", n)
		}
	}
	// The floor's certificate is its own: verification fails.
	cfg.TLSConfig = nil
	if _, err := bench.Run(t.Context(), cfg); !errors.Is(err, bench.ErrUntrustedCertificate) {
		t.Errorf("without InsecureSkipVerify: err = %v", err)
	}
	cfg.TLSConfig, cfg.H2 = &tls.Config{InsecureSkipVerify: true}, true
	if _, err := bench.Run(t.Context(), cfg); err == nil {
		t.Errorf("an H2 run against the HTTP/1.1-only floor succeeded")
	}
}

// TestCompareTLS compares HTTP/2 streams of a hub with the TLS floor and
// the plaintext floor, alternating.
func TestCompareTLS(t *testing.T) {
	plain := startFloor(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := bench.ServeFloorTLS(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tf.Close() })
	h := startTLSHub(t, true)
	insecure := &tls.Config{InsecureSkipVerify: true}
	base := bench.Config{Streams: 30, Publishes: 3, SettleTime: -1}
	p, tl, s := base, base, h.config(30, 3)
	p.StreamURL, p.PublishURL, p.ResetURL = plain.StreamURL(), plain.PublishURL(), plain.ResetURL()
	tl.StreamURL, tl.PublishURL, tl.ResetURL, tl.TLSConfig = tf.StreamURL(), tf.PublishURL(), tf.ResetURL(), insecure
	s.Name, s.H2 = "valksor-sse", true
	r, err := bench.CompareTLS(t.Context(), p, tl, s, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PlainFloorRounds) != 2 || len(r.ARounds) != 2 || len(r.BRounds) != 2 {
		t.Fatalf("rounds: %d, %d, %d", len(r.PlainFloorRounds), len(r.ARounds), len(r.BRounds))
	}
	for _, rep := range append(append(r.PlainFloorRounds, r.ARounds...), r.BRounds...) {
		checkClean(t, rep, 30, 3)
	}
	if r.PlainFloor.Name != "floor" || r.A.Name != "floor-tls" || r.B.Name != "valksor-sse" || r.P99Ratio <= 0 || r.PlainFloorP99Ratio <= 0 {
		t.Errorf("names %q %q %q, ratios %v %v", r.PlainFloor.Name, r.A.Name, r.B.Name, r.P99Ratio, r.PlainFloorP99Ratio)
	}
	if !strings.Contains(r.Note, "HTTP/2") {
		t.Errorf("note %q does not say the floors are HTTP/1.1", r.Note)
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"median of 2 rounds", "floor-tls/floor", "valksor-sse/floor-tls", "valksor-sse/floor", "RSS per stream (KB)", "NOTE: "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	checkJSON(t, r)
	t.Logf("\n%s", b.String())
}

// TestH2ConfigErrors: H2 needs https and has no slow streams.
func TestH2ConfigErrors(t *testing.T) {
	for _, cfg := range []bench.Config{
		{StreamURL: "http://127.0.0.1:1/sse", Streams: 1, H2: true},
		{StreamURL: "https://127.0.0.1:1/sse", Streams: 1, H2: true, Slow: 1},
		{StreamURL: "https://127.0.0.1:1/sse", Streams: 1, H2: true, H2StreamsPerConn: -1},
	} {
		if _, err := bench.Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "invalid config") {
			t.Errorf("%+v: err = %v", cfg, err)
		}
	}
}

// TestTLSSlowStreams: a stream that never reads speaks TLS too over https
// (it used to send its request in plaintext, and the server hung up on it,
// which the report counted as a slow stream dropped).
func TestTLSSlowStreams(t *testing.T) {
	h := startTLSHub(t, false)
	cfg := h.config(5, 3)
	cfg.Slow = 2
	rep, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 0 || rep.Slow != 2 || rep.SlowDropped != 0 {
		t.Fatalf("lost %d, slow %d, dropped %d: want 0, 2, 0", rep.Lost, rep.Slow, rep.SlowDropped)
	}
	if _, protos := h.counts(); protos["HTTP/1.1"] != 7 {
		t.Errorf("stream requests %v, want 7 HTTP/1.1 (5 streams and 2 slow ones)", protos)
	}
}
