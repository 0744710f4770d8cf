package server_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/valksor/go-sse/server"
)

var (
	idleStreams = flag.Int("idle-streams", 2000, "how many streams BenchmarkIdleStreamMemory opens")
	idleProfile = flag.String("idle-profile", "", "directory where BenchmarkIdleStreamMemory writes a heap profile of each case while its streams are idle")
)

// streamClientEnv makes the test binary the client of
// BenchmarkIdleStreamMemory (see TestIdleStreamClient): "URL N".
const streamClientEnv = "VALKSOR_SSE_SERVER_IDLE_STREAM_CLIENT"

// BenchmarkIdleStreamMemory opens -idle-streams HTTP/1.1 streams (2,000
// unless told) against a server on 127.0.0.1 and reports the live heap
// each idle stream adds to the server's process after a garbage
// collection. The client is this test binary run again as another
// process, so that its memory is not counted.
//
//   - hub: the bare hub behind an http.Server, the yardstick;
//   - server: server.New with the access log on, as valksor-sse serve runs
//     by default;
//   - limits: the same with limits.streams_per_ip set, so that every
//     stream also holds a rate-limit slot.
//
// What the server layer keeps per stream is server (or limits) minus hub.
// With -idle-profile, a heap profile of each case (every allocation
// sampled) shows where it goes:
//
//	go test -run '^$' -bench IdleStreamMemory -benchtime 1x -idle-profile /tmp/prof ./server
//	go tool pprof -sample_index=inuse_space -top /tmp/prof/server.heap
func BenchmarkIdleStreamMemory(b *testing.B) {
	n := *idleStreams
	if *idleProfile != "" {
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1
	}
	hubOpts := []sse.Option{sse.WithPingInterval(0), sse.WithMaxConnections(0)}
	b.Run("hub", func(b *testing.B) {
		for b.Loop() {
			hub, err := sse.New(hubOpts...)
			if err != nil {
				b.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: hub.Handler()}
			served := make(chan struct{})
			go func() { defer close(served); _ = srv.Serve(ln) }()
			measureIdleStreams(b, "hub", "http://"+ln.Addr().String()+hub.BasePath()+"?topic=news", n, hub)
			if err := hub.Shutdown(context.Background()); err != nil {
				b.Error(err)
			}
			_ = srv.Close()
			<-served
		}
	})
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
				measureIdleStreams(b, c.name, "http://"+s.Addr().String()+s.Hub().BasePath()+"?topic=news", n, s.Hub())
				if err := s.Shutdown(context.Background()); err != nil {
					b.Error(err)
				}
			}
		})
	}
}

// measureIdleStreams has a client process open n streams at url, waits
// until the hub counts them and their handlers have returned, and reports
// the live heap they added, per stream.
func measureIdleStreams(b *testing.B, name, url string, n int, hub *sse.Hub) {
	b.Helper()
	before := settledHeap()
	goroutines := runtime.NumGoroutine()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStreamClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), streamClientEnv+"="+url+" "+strconv.Itoa(n))
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
	deadline := time.Now().Add(30 * time.Second)
	for hub.Stats().Connections < n {
		if time.Now().After(deadline) {
			b.Fatalf("the hub counts %d streams of %d", hub.Stats().Connections, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Handlers return once their stream is handed off: wait for the last
	// ones.
	for runtime.NumGoroutine() > goroutines+8 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	after := settledHeap()
	b.ReportMetric(float64(after-before)/float64(n), "heap-B/stream")
	if dir := *idleProfile; dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, name+".heap"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// settledHeap collects garbage (twice, so that finalizers run) and
// returns the live heap.
func settledHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestIdleStreamClient is the client process of BenchmarkIdleStreamMemory;
// it is skipped unless that benchmark runs it. It opens the streams, each
// over a TCP connection of its own, says "ready" on its standard output
// once every one has its response head, and holds them until its standard
// input closes.
func TestIdleStreamClient(t *testing.T) {
	spec := strings.Fields(os.Getenv(streamClientEnv))
	if len(spec) != 2 {
		t.Skip("the client process of BenchmarkIdleStreamMemory")
	}
	url := spec[0]
	n, err := strconv.Atoi(spec[1])
	if err != nil {
		t.Fatal(err)
	}
	streams := make([]net.Conn, n)
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				c, err := openRawStream(url)
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

// openRawStream opens a stream with a GET over a TCP connection of its own
// and returns the connection once the response head has arrived.
func openRawStream(url string) (net.Conn, error) {
	addr, path, _ := strings.Cut(strings.TrimPrefix(url, "http://"), "/")
	conn, err := net.Dial("tcp", addr)
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
