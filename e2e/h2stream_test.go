package e2e_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/h2"
	"github.com/valksor/go-sse/internal/selfsigned"
)

// TestBrowserReadsDetachedHTTP2Streams: Chromium opens eight EventSources
// on one page over HTTP/2 served by package h2 (more than the six
// connections a browser allows a host over HTTP/1.1), and the hub detaches
// every one from its handler. Every stream gets every event, one larger
// than the protocol's initial flow-control window included; the page
// publishes with fetch over the same connection; when the stream lifetime
// ends, the browser reconnects and the new streams are detached too; and
// when the page goes away, the hub sees each stream end.
func TestBrowserReadsDetachedHTTP2Streams(t *testing.T) {
	const streams = 8
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithStreamTimeout(4*time.Second), sse.WithPublishToken("page-token"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
	mux := http.NewServeMux()
	hub.Register(mux)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>h2</title><script>
window.got = [];
for (let i = 0; i < %d; i++) {
	got.push([]);
	const es = new EventSource("/sse?n=" + i);
	es.addEventListener("tick", (e) => got[i].push(e.data));
}
</script>`, streams)
	})
	mux.HandleFunc("/blank", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<!doctype html><title>blank</title>") })
	cert, err := selfsigned.Certificate(time.Now(), time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	(&h2.Server{}).Configure(srv)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	detached := func() bool {
		clients := hub.Clients()
		for _, c := range clients {
			if !c.HandedOff {
				return false
			}
		}
		return len(clients) == streams
	}

	tb := newTab(t)
	if _, err := chromedp.Call(tb.ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	tb.navigate(base + "/")
	waitUntil(t, "eight detached streams", 10*time.Second, detached)
	if proto := evalInto[string](tb, "performance.getEntriesByType('navigation')[0].nextHopProtocol"); proto != "h2" {
		t.Fatalf("the page came over %q, want h2", proto)
	}

	big := strings.Repeat("x", 100000) // over the initial 65,535-byte window
	for _, d := range []string{"one", big} {
		if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	tb.eval(`fetch("/sse/publish", {method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer page-token"}, body: JSON.stringify({type: "tick", data: "three"})}).then(r => window.published = r.status)`)
	tb.waitFor("three events on every stream", "got.every(g => g.length === 3)", 10*time.Second)
	if status := evalInto[int](tb, "window.published"); status/100 != 2 {
		t.Fatalf("the page's publish answered %d", status)
	}
	got := evalInto[[][]string](tb, "got")
	for i, g := range got {
		if len(g) != 3 || g[0] != "one" || g[1] != big || g[2] != "three" {
			t.Fatalf("stream %d got %d events, want one, 100,000 bytes, three", i, len(g))
		}
	}

	// The lifetime ends every stream; the browser reconnects each.
	first := map[string]bool{}
	for _, c := range hub.Clients() {
		first[c.ID] = true
	}
	waitUntil(t, "the browser to reconnect every stream", 15*time.Second, func() bool {
		clients := hub.Clients()
		for _, c := range clients {
			if first[c.ID] {
				return false
			}
		}
		return detached()
	})
	if err := hub.Broadcast(context.Background(), sse.Event{Type: "tick", Data: "four"}); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the fourth event on every stream", "got.every(g => g.length === 4 && g[3] === 'four')", 10*time.Second)

	tb.navigate(base + "/blank")
	waitUntil(t, "the streams to end with the page", 10*time.Second, func() bool { return hub.Stats().Connections == 0 })
}
