package e2e_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/selfsigned"
)

// TestBrowserReadsTakenOverTLSStream: Chromium reads an EventSource over
// HTTP/1.1 and TLS 1.3 whose records, after the response head, the hub
// writes itself (sse.Listener with sse.TLSConfig): every event arrives,
// one larger than a TLS record included. When the stream's lifetime ends,
// the browser reconnects on a new connection, and that stream is taken
// over too. (Chromium does not resume a session whose certificate error
// was ignored: the root package's tests cover resumed sessions.)
func TestBrowserReadsTakenOverTLSStream(t *testing.T) {
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithStreamTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
	mux := http.NewServeMux()
	hub.Register(mux)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>tls</title><script>
window.got = [];
const es = new EventSource("/sse");
es.addEventListener("tick", (e) => got.push(e.data));
</script>`)
	})
	cert, err := selfsigned.Certificate(time.Now(), time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// HTTP/1.1 only: over HTTP/2 the streams keep their handlers.
	cfg := sse.TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	// The cipher suite the browser chose for its stream: on a machine
	// without AES instructions Chromium prefers ChaCha20-Poly1305, whose
	// streams keep their tls.Conn.
	var suite atomic.Uint32
	var streams atomic.Int32 // stream requests, reconnects included
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sse" && r.TLS != nil {
			suite.Store(uint32(r.TLS.CipherSuite))
			streams.Add(1)
		}
		mux.ServeHTTP(w, r)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tls.NewListener(sse.Listener(ln), cfg)) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})

	tb := newTab(t)
	if _, err := chromedp.Call(tb.ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatal(err)
	}
	tb.navigate("https://" + ln.Addr().String() + "/")
	waitUntil(t, "the stream to open", 10*time.Second, func() bool { return hub.Stats().Connections == 1 })
	aes := suite.Load() == uint32(tls.TLS_AES_128_GCM_SHA256) || suite.Load() == uint32(tls.TLS_AES_256_GCM_SHA384)
	if aes {
		waitUntil(t, "the hub to take the stream over", 10*time.Second, func() bool { return hub.Stats().TLSTakenOver == 1 })
	} else {
		t.Logf("Chromium chose %s: the stream keeps its tls.Conn", tls.CipherSuiteName(uint16(suite.Load())))
	}
	if proto := evalInto[string](tb, "performance.getEntriesByType('navigation')[0].nextHopProtocol"); proto != "http/1.1" {
		t.Fatalf("the page came over %q, want http/1.1", proto)
	}

	big := strings.Repeat("x", 40000) // three records
	want := []string{"one", big, "three"}
	for _, d := range want {
		if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	tb.waitFor("three events", "got.length === 3", 10*time.Second)
	if got := evalInto[[]string](tb, "got"); len(got) != 3 || got[0] != "one" || got[1] != big || got[2] != "three" {
		t.Fatalf("the page got %d events, want one, 40,000 bytes, three", len(got))
	}

	waitUntil(t, "the browser to reconnect", 15*time.Second, func() bool {
		return streams.Load() >= 2 && hub.Stats().Connections == 1 && (!aes || hub.Stats().TLSTakenOver >= 2)
	})
	if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: "four"}); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the fourth event", "got.length === 4 && got[3] === 'four'", 10*time.Second)
}
