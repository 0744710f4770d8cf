package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
	"github.com/valksor/go-sse/internal/proctest"
	"github.com/valksor/go-sse/server"
)

// logBuffer collects what a logger writes, for concurrent reads.
type logBuffer = proctest.Buffer

// open builds and opens a server on 127.0.0.1:0 and shuts it down when
// the test ends.
func open(t *testing.T, o server.Options) (*server.Server, string) {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, s.Scheme() + "://" + s.Addr().String()
}

// subscribe reads the stream at url into a channel until the test ends,
// once it is connected.
func subscribe(t *testing.T, url string, hc *http.Client) <-chan client.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan client.Event, 16)
	connected := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub := &client.Subscriber{URL: url, HTTPClient: hc, MaxBackoff: 100 * time.Millisecond}
		_ = sub.Run(ctx, func(e client.Event) error {
			if e.Type == sse.TypeConnected {
				once.Do(func() { close(connected) })
			}
			events <- e
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("stream not connected after 10s")
	}
	return events
}

// expect returns the next event of type typ.
func expect(t *testing.T, events <-chan client.Event, typ string) client.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type == typ {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event within 10s", typ)
		}
	}
}

func get(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeAndShutdown: the server answers its routes, delivers what is
// broadcast on its hub, and shuts down (twice is fine).
func TestServeAndShutdown(t *testing.T) {
	s, base := open(t, server.Options{Metrics: true})
	hc := http.DefaultClient
	for path, want := range map[string]int{
		"/sse/healthz": 200, "/sse/readyz": 200, "/": 200, "/metrics": 200,
		"/sse/client.js": 200, "/nothing-here": 404,
	} {
		if code, _ := get(t, hc, base+path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	events := subscribe(t, base+"/sse", hc)
	if err := s.Hub().Broadcast(context.Background(), sse.Event{Type: "hello", Data: "x"}); err != nil {
		t.Fatal(err)
	}
	if e := expect(t, events, "hello"); e.Data != "x" {
		t.Errorf("data %q", e.Data)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Shutdown")
	}
	if s.Err() != nil {
		t.Errorf("Err after Shutdown: %v", s.Err())
	}
	if err := s.Open(); err == nil {
		t.Error("Open after Shutdown succeeded")
	}
}

// TestAccessLogSeesTheStreamEnd: a stream's access log line is written
// when the stream ends, with how long it lasted, not when its handler
// returns.
func TestAccessLogSeesTheStreamEnd(t *testing.T) {
	var log logBuffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, base := open(t, server.Options{Logger: logger, AccessLog: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub := &client.Subscriber{URL: base + "/sse"}
		_ = sub.Run(ctx, func(e client.Event) error { return nil })
	}()
	proctest.Await(t, 10*time.Second, "the stream to open", func() bool {
		return strings.Contains(log.String(), "connected") || strings.Contains(log.String(), "conn=")
	})
	time.Sleep(300 * time.Millisecond) // the stream is held open this long
	if strings.Contains(log.String(), `msg=stream`) {
		t.Fatalf("the stream was logged while open:\n%s", log.String())
	}
	cancel()
	<-done
	proctest.Await(t, 10*time.Second, "the stream's log line", func() bool { return strings.Contains(log.String(), "msg=stream") })
	line := log.String()[strings.Index(log.String(), "msg=stream"):]
	line = line[:strings.IndexByte(line, '\n')]
	d, err := time.ParseDuration(line[strings.Index(line, "duration=")+len("duration=") : strings.Index(line, " end=")])
	if err != nil || d < 300*time.Millisecond {
		t.Errorf("stream line %q: duration %v (%v), want at least 300ms", line, d, err)
	}
}

// TestFallback: the fallback handler takes what no route takes, and the
// demo page is not served.
func TestFallback(t *testing.T) {
	_, base := open(t, server.Options{Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "app "+r.URL.Path)
	})})
	for path, want := range map[string]string{"/": "app /", "/page": "app /page"} {
		if code, body := get(t, http.DefaultClient, base+path); code != 200 || body != want {
			t.Errorf("GET %s: %d %q, want %q", path, code, body, want)
		}
	}
	if code, _ := get(t, http.DefaultClient, base+"/sse/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}

// TestSignalFile: the reload signal file reloads browsers with its files,
// and is removed.
func TestSignalFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "reload.signal")
	_, base := open(t, server.Options{SignalFile: file})
	events := subscribe(t, base+"/sse", http.DefaultClient)
	if err := os.WriteFile(file, []byte(`{"files":["a.twig"],"timestamp":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if e := expect(t, events, sse.TypeReload); e.Data != `{"files":["a.twig"]}` {
		t.Errorf("reload data %q", e.Data)
	}
	proctest.Await(t, 5*time.Second, "the signal file to be removed", func() bool {
		_, err := os.Stat(file)
		return os.IsNotExist(err)
	})
}

// TestSelfSignedTLS: a self-signed certificate is created, HTTPS is
// served with HTTP/2, and a second server reuses the certificate.
func TestSelfSignedTLS(t *testing.T) {
	dir := t.TempDir()
	s, base := open(t, server.Options{TLS: &server.TLS{SelfSignedDir: dir}})
	if s.Scheme() != "https" || !strings.HasPrefix(base, "https://") {
		t.Fatalf("scheme %s", s.Scheme())
	}
	certFile := filepath.Join(dir, server.SelfSignedCert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: client.LocalTLS(certFile), ForceAttemptHTTP2: true}}
	resp, err := hc.Get(base + "/sse/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.TLS == nil {
		t.Errorf("proto %s, TLS %v; want HTTP/2 over TLS", resp.Proto, resp.TLS != nil)
	}
	before, _ := os.ReadFile(certFile)
	open(t, server.Options{TLS: &server.TLS{SelfSignedDir: dir}})
	if after, _ := os.ReadFile(certFile); !bytes.Equal(before, after) {
		t.Error("the second server wrote a new certificate")
	}
	// The system does not trust the certificate: only LocalTLS accepts it.
	if _, err := http.Get(base + "/sse/healthz"); err == nil {
		t.Error("a client that does not trust the certificate connected")
	}
}

// TestSelfSignedTLSForMoreHosts: SelfSignedHosts are in the certificate;
// a certificate that lacks one of them is replaced.
func TestSelfSignedTLSForMoreHosts(t *testing.T) {
	dir := t.TempDir()
	open(t, server.Options{TLS: &server.TLS{SelfSignedDir: dir}})
	certFile := filepath.Join(dir, server.SelfSignedCert)
	before, _ := os.ReadFile(certFile)
	_, base := open(t, server.Options{TLS: &server.TLS{SelfSignedDir: dir, SelfSignedHosts: []string{"app.localhost", "192.0.2.7"}}})
	after, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Fatal("the certificate for localhost alone was kept")
	}
	block, _ := pem.Decode(after)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "app.localhost", "192.0.2.7"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Errorf("the certificate does not cover %s: %v", h, err)
		}
	}
	// A client that trusts it and reaches the server by that name accepts it.
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "app.localhost"}}}
	resp, err := hc.Get(base + "/sse/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestNewFails: a bad option is an error, and the given listener is closed.
func TestNewFails(t *testing.T) {
	_, err := server.New(server.Options{TLS: &server.TLS{CertFile: filepath.Join(t.TempDir(), "missing.crt"), KeyFile: "x"}})
	if err == nil || !strings.Contains(err.Error(), "tls.cert") {
		t.Fatalf("missing certificate: %v", err)
	}
	if _, err := server.New(server.Options{BasePath: "no-slash"}); err == nil {
		t.Fatal("a bad base path was accepted")
	}
}

// TestTLSStreamsAreHandedOff: over TLS, an HTTP/1.1 stream is taken over
// by the hub (through the per-client connection budget), an HTTP/2 stream
// on the same listener is detached from its handler (package h2), and both
// get what is broadcast; both close when the client goes.
func TestTLSStreamsAreHandedOff(t *testing.T) {
	dir := t.TempDir()
	s, base := open(t, server.Options{TLS: &server.TLS{SelfSignedDir: dir}, Limits: server.Limits{ConnectionsPerClient: 100}})
	certFile := filepath.Join(dir, server.SelfSignedCert)
	for _, h2 := range []bool{false, true} {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: client.LocalTLS(certFile), ForceAttemptHTTP2: h2}}
		resp, err := hc.Get(base + "/sse")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want || resp.TLS == nil {
			t.Fatalf("stream over %s, TLS %v; want HTTP/%d over TLS", resp.Proto, resp.TLS != nil, want)
		}
		proctest.Await(t, 10*time.Second, "the stream to be registered", func() bool { return len(s.Hub().Clients()) == 1 })
		if got := s.Hub().Clients()[0].HandedOff; !got {
			t.Errorf("HTTP/%d stream: handed off %v", resp.ProtoMajor, got)
		}
		if err := s.Hub().Broadcast(context.Background(), sse.Event{Type: "hello", Data: "x"}); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("HTTP/%d stream ended before the event: %v", resp.ProtoMajor, err)
			}
			if line == "event: hello\n" {
				break
			}
		}
		resp.Body.Close()
		hc.CloseIdleConnections()
		proctest.Await(t, 10*time.Second, "the stream to close", func() bool { return len(s.Hub().Clients()) == 0 })
	}
}
