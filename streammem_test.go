package sse_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/bench"
	"github.com/valksor/go-sse/h2"
	"github.com/valksor/go-sse/server"
)

var (
	idleStreams = flag.Int("idle-streams", 2000, "how many streams BenchmarkIdleStreamMemory opens")
	idleEvents  = flag.Int("idle-events", 1, "how many events BenchmarkIdleStreamMemory sends every stream before it measures")
	idleProfile = flag.String("idle-profile", "", "directory where BenchmarkIdleStreamMemory writes a heap and a goroutine profile of each case while its streams are idle")
)

// streamClientEnv makes the test binary the client of
// BenchmarkIdleStreamMemory (see TestIdleStreamClient): "h1 URL N",
// "h2 URL N" or "h2-1 URL N".
const streamClientEnv = "VALKSOR_SSE_IDLE_STREAM_CLIENT"

// BenchmarkIdleStreamMemory opens -idle-streams streams (2,000 unless told)
// against a server behind a real listener on 127.0.0.1, sends each
// -idle-events events (1 unless told: an idle stream has had a heartbeat
// at least), and reports what each idle stream costs the server's
// process: live heap and goroutine stack bytes after a garbage
// collection, against the same figures before the streams opened. The client is this test binary run again as another
// process, so that its own memory is not counted.
//
//   - floor: the floor server of the bench package (hijacks the
//     connection and keeps nothing else), the yardstick;
//   - h1: the hub over plain HTTP/1.1 (streams handed off from net/http);
//   - tls: the hub over TLS as the server package serves it (sse.Listener
//     and sse.TLSConfig) with HTTP/1.1 streams, handed off too and
//     written with the hub's own TLS 1.3 records;
//   - tls-conn: the same through sse.Listener only, so that every stream
//     keeps its *tls.Conn;
//   - h2: the hub over TLS with HTTP/2 served by package h2, 100 streams
//     on each connection as a browser would multiplex them, detached from
//     their handlers (sse.Detacher);
//   - h2-net: the same with net/http's own HTTP/2 server, where every
//     stream keeps its handler's goroutine and buffers;
//   - h2-1 and h2-1-net: the same with one stream a connection, as a
//     browser whose tabs share one stream has: what an HTTP/2 connection
//     costs;
//   - server: server.New over plain HTTP/1.1 with the access log on, as
//     valksor-sse serve runs by default (what the server layer keeps per
//     stream is server minus h1);
//   - limits: the same with limits.streams_per_ip set, so that every
//     stream also holds a rate-limit slot.
//
// Run it once per case, with a heap profile of the idle streams:
//
//	go test -run '^$' -bench IdleStreamMemory -benchtime 1x -idle-streams 10000 -idle-profile /tmp/prof .
//	go tool pprof -sample_index=inuse_space -top /tmp/prof/h1.heap
//
// The figures move with the Go version; compare runs of the same build
// machine, before and after a change.
func BenchmarkIdleStreamMemory(b *testing.B) {
	n := *idleStreams
	if *idleProfile != "" {
		// Every allocation sampled, so that the profile adds up to the
		// figures.
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1
	}
	hubOpts := []sse.Option{sse.WithPingInterval(0), sse.WithMaxConnections(0)}
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			f := bench.ServeFloor(ln)
			publish := func() {
				resp, err := http.Post(f.PublishURL(), "application/json", strings.NewReader(`{"type":"update","data":"{}"}`))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
			measureIdleStreams(b, "floor", "h1", f.StreamURL(), n, nil, publish)
			_ = f.Close()
		}
	})
	b.Run("h1", func(b *testing.B) {
		for b.Loop() {
			hub, err := sse.New(hubOpts...)
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(hub.Handler())
			measureIdleStreams(b, "h1", "h1", srv.URL+hub.BasePath()+"?topic=news", n, hub, hubPublisher(b, hub))
			shutdownIdle(b, hub, srv)
		}
	})
	for _, c := range []struct {
		name string
		mode tlsMode
	}{
		{"tls", tlsTakeover},
		{"tls-conn", tlsListener},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				hub, err := sse.New(hubOpts...)
				if err != nil {
					b.Fatal(err)
				}
				srv, _ := tlsServer(b, hub, c.mode)
				measureIdleStreams(b, c.name, "h1", srv.URL+hub.BasePath()+"?topic=news", n, hub, hubPublisher(b, hub))
				shutdownIdle(b, hub, srv)
			}
		})
	}
	for _, c := range []struct {
		name  string
		own   bool   // package h2's server, which detaches streams; otherwise net/http's
		proto string // h2: 100 streams a connection; h2-1: one, as a browser's only stream
	}{
		{"h2", true, "h2"},
		{"h2-net", false, "h2"},
		{"h2-1", true, "h2-1"},
		{"h2-1-net", false, "h2-1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				hub, err := sse.New(hubOpts...)
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewUnstartedServer(hub.Handler())
				srv.EnableHTTP2 = true
				if c.own {
					(&h2.Server{}).Configure(srv.Config)
				}
				var conns atomic.Int64
				srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
					if st == http.StateNew {
						conns.Add(1)
					}
				}
				srv.StartTLS()
				measureIdleStreams(b, c.name, c.proto, srv.URL+hub.BasePath()+"?topic=news", n, hub, hubPublisher(b, hub))
				b.ReportMetric(float64(conns.Load()), "conns")
				shutdownIdle(b, hub, srv)
			}
		})
	}
	for _, c := range []struct {
		name   string
		limits server.Limits
	}{
		{"server", server.Limits{}},
		{"limits", server.Limits{StreamsPerClient: n + 1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s, err := server.New(server.Options{
					Addr:      "127.0.0.1:0",
					Logger:    slog.New(slog.DiscardHandler),
					AccessLog: true,
					Limits:    c.limits,
					Hub:       hubOpts,
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Open(); err != nil {
					b.Fatal(err)
				}
				hub := s.Hub()
				measureIdleStreams(b, c.name, "h1", "http://"+s.Addr().String()+hub.BasePath()+"?topic=news", n, hub, hubPublisher(b, hub))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if err := s.Shutdown(ctx); err != nil {
					b.Error(err)
				}
				cancel()
			}
		})
	}
}

// hubPublisher returns a function that publishes one event to the
// streams of BenchmarkIdleStreamMemory and waits until every stream has
// taken it from its queue and the goroutines that wrote it have ended.
func hubPublisher(b *testing.B, hub *sse.Hub) func() {
	return func() {
		goroutines := runtime.NumGoroutine()
		if err := hub.Broadcast(context.Background(), sse.Event{Type: "update", Data: "{}", Topics: []string{"news"}}); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for queued(hub) > 0 || runtime.NumGoroutine() > goroutines {
			if time.Now().After(deadline) {
				b.Fatalf("%d events still queued, %d goroutines of %d before", queued(hub), runtime.NumGoroutine(), goroutines)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func queued(hub *sse.Hub) int {
	n := 0
	for _, c := range hub.Clients() {
		n += c.Queued
	}
	return n
}

func shutdownIdle(b *testing.B, hub *sse.Hub, srv *httptest.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hub.Shutdown(ctx); err != nil {
		b.Error(err)
	}
	srv.Close()
}

// measureIdleStreams has a client process open n streams at url (proto h1
// or h2), waits until they are all open and the hub, when given, counts
// them, publishes -idle-events events with publish, and reports the live
// heap and stack bytes the streams added, per stream.
func measureIdleStreams(b *testing.B, name, proto, url string, n int, hub *sse.Hub, publish func()) {
	b.Helper()
	before := settledMemStats()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStreamClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), streamClientEnv+"="+proto+" "+url+" "+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close() // the client exits when its stdin closes
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	ready := false
	for lines.Scan() {
		if lines.Text() == "ready" {
			ready = true
			break
		}
		b.Log(lines.Text())
	}
	if !ready {
		b.Fatalf("the stream client ended before opening its %d streams", n)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if hub != nil {
		deadline := time.Now().Add(30 * time.Second)
		for hub.Stats().Connections < n {
			if time.Now().After(deadline) {
				b.Fatalf("the hub counts %d streams of %d", hub.Stats().Connections, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if proto == "h1" {
		// Handlers return once their stream is handed off: wait for the
		// last ones.
		deadline := time.Now().Add(30 * time.Second)
		for runtime.NumGoroutine() > before.goroutines+8 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for range *idleEvents {
		publish()
	}
	after := settledMemStats()
	heap := float64(after.heap-before.heap) / float64(n)
	stack := float64(after.stack-before.stack) / float64(n)
	b.ReportMetric(heap, "heap-B/stream")
	b.ReportMetric(stack, "stack-B/stream")
	b.ReportMetric(heap+stack, "B/stream")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/stream")
	if after.rss > 0 {
		// What the bench command measures: the process's resident
		// memory, which also holds garbage not yet collected and the
		// heap's headroom.
		b.ReportMetric(float64(after.rss-before.rss)/float64(n), "rss-B/stream")
	}
	if dir := *idleProfile; dir != "" {
		writeProfile(b, filepath.Join(dir, name+".heap"), "heap")
		writeProfile(b, filepath.Join(dir, name+".goroutine"), "goroutine")
	}
}

type memFigures struct {
	heap, stack, rss int64
	goroutines       int
}

// settledMemStats collects garbage (twice, so that stacks shrink and
// finalizers run) and returns the live heap, the stack bytes in use and
// the number of goroutines.
func settledMemStats() memFigures {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memFigures{heap: int64(m.HeapAlloc), stack: int64(m.StackInuse), rss: residentBytes(), goroutines: runtime.NumGoroutine()}
}

// residentBytes returns the process's resident memory where /proc tells
// it (Linux), else 0.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func writeProfile(b *testing.B, path, name string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// TestIdleStreamClient is the client process of BenchmarkIdleStreamMemory;
// it is skipped unless that benchmark runs it. It opens the streams, says
// "ready" on its standard output once every one has its response head,
// and holds them until its standard input closes.
func TestIdleStreamClient(t *testing.T) {
	spec := strings.Fields(os.Getenv(streamClientEnv))
	if len(spec) != 3 {
		t.Skip("the client process of BenchmarkIdleStreamMemory")
	}
	proto, url := spec[0], spec[1]
	n, err := strconv.Atoi(spec[2])
	if err != nil {
		t.Fatal(err)
	}
	var open func() (io.Closer, error)
	switch proto {
	case "h1":
		open = func() (io.Closer, error) { return openRawStream(url) }
	case "h2", "h2-1":
		// As a browser does: one connection carries up to 100 streams
		// (h2), or a browser's one stream (h2-1). Each connection is a
		// transport of its own, and its first stream opens before the
		// others, so that they share it.
		perConn := 100
		if proto == "h2-1" {
			perConn = 1
		}
		clients := make([]*http.Client, (n+perConn-1)/perConn)
		for i := range clients {
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
			var p http.Protocols
			p.SetHTTP2(true)
			tr.Protocols = &p
			clients[i] = &http.Client{Transport: tr}
		}
		var k atomic.Int64
		get := func(c *http.Client) (io.Closer, error) {
			resp, err := c.Get(url)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
				resp.Body.Close()
				return nil, fmt.Errorf("stream answered %s over %s", resp.Status, resp.Proto)
			}
			return resp.Body, nil
		}
		for _, c := range clients {
			body, err := get(c)
			if err != nil {
				t.Fatal(err)
			}
			defer body.Close()
		}
		n -= len(clients)
		open = func() (io.Closer, error) {
			return get(clients[int(k.Add(1)-1)%len(clients)])
		}
	default:
		t.Fatalf("unknown protocol %q", proto)
	}
	streams := make([]io.Closer, n)
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				c, err := open()
				if err != nil {
					errMu.Lock()
					first = err
					errMu.Unlock()
					return
				}
				streams[i] = c
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range streams {
		_ = c.Close()
	}
}

// openRawStream opens a stream with a GET over a TCP connection of its
// own (a TLS one for an https URL) and returns the connection once the response head has arrived.
func openRawStream(url string) (net.Conn, error) {
	secure := strings.HasPrefix(url, "https://")
	addr, path, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://"), "/")
	var conn net.Conn
	var err error
	if secure {
		conn, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	} else {
		conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(conn, "GET /%s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, addr); err != nil {
		conn.Close()
		return nil, err
	}
	var got []byte
	buf := make([]byte, 512)
	for !bytes.Contains(got, []byte("\r\n\r\n")) {
		n, err := conn.Read(buf)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("reading the response head: %w", err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 ")) {
		conn.Close()
		return nil, fmt.Errorf("stream answered %q", got)
	}
	return conn, nil
}

// BenchmarkStreamOpen counts what opening one stream allocates: h1 is an
// HTTP/1.1 stream over TCP up to the hand-off (its close, which the client
// starts, is not counted); handler is a stream served from its handler, as
// HTTP/2 and TLS streams are, opened and ended by its request's context.
func BenchmarkStreamOpen(b *testing.B) {
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithMaxConnections(0))
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Shutdown(context.Background())
	target := hub.BasePath() + "?topic=news"
	b.Run("h1", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			server, err := ln.Accept()
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			w := &hijackableWriter{header: http.Header{}, conn: server}
			b.StartTimer()
			hub.ServeHTTP(w, r)
			b.StopTimer()
			if !w.hijacked {
				b.Fatal("the stream was not handed off")
			}
			client.Close()
			for hub.Stats().Connections > 0 {
				runtime.Gosched()
			}
			b.StartTimer()
		}
	})
	b.Run("handler", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			r.ProtoMajor, r.ProtoMinor, r.Proto = 2, 0, "HTTP/2.0"
			w := httptest.NewRecorder()
			b.StartTimer()
			hub.ServeHTTP(w, r)
		}
	})
}

// hijackableWriter is a ResponseWriter whose connection can be hijacked,
// as net/http's HTTP/1.1 writer is.
type hijackableWriter struct {
	header   http.Header
	conn     net.Conn
	hijacked bool
}

func (w *hijackableWriter) Header() http.Header         { return w.header }
func (w *hijackableWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *hijackableWriter) WriteHeader(int)             {}

func (w *hijackableWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return w.conn, nil, nil
}

// TestSubscriberSize keeps the state every open stream holds within the
// 192-byte allocation class it was brought down to (from 320, then 240):
// a field added to it moves every stream to the next class, so it should
// be worth that. On 32-bit systems the struct is smaller.
func TestSubscriberSize(t *testing.T) {
	if sse.SubscriberSize > 192 {
		t.Errorf("the subscriber struct is %d bytes, over 192: every open stream pays for the next allocation class; store what is rare behind a pointer, or derive it", sse.SubscriberSize)
	}
}
