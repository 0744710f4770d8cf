package sse_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
)

// BenchmarkIdleStream reports what an idle HTTP/1.1 stream costs the
// server, plain and over TLS (through sse.Listener): the heap and stacks in
// use per stream, and goroutines per stream, with 2,000 streams open. The
// clients run in a child process, so that their memory is not counted.
// Run it once per round:
//
//	go test -run '^$' -bench BenchmarkIdleStream -benchtime 1x .
//
// IDLE_STREAMS sets another number of streams; IDLE_HEAP_PROFILE names a
// file to write the heap profile to while the TLS streams are open.
func BenchmarkIdleStream(b *testing.B) {
	if os.Getenv("IDLE_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact profile
	}
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("IDLE_STREAMS")); err == nil && v > 0 {
		n = v
	}
	for _, useTLS := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "tls"}[useTLS], func(b *testing.B) {
			var bytes, goroutines float64
			for b.Loop() {
				bs, gs := idleStreams(b, n, useTLS)
				bytes += bs
				goroutines += gs
			}
			b.ReportMetric(bytes/float64(b.N), "B/stream")
			b.ReportMetric(goroutines/float64(b.N), "goroutines/stream")
		})
	}
}

// idleStreams serves a hub, has a child process open n idle streams to
// it, and returns the server's heap and stack growth per stream and its
// goroutines per stream.
func idleStreams(b *testing.B, n int, useTLS bool) (bytesPerStream, goroutinesPerStream float64) {
	b.StopTimer()
	defer b.StartTimer()
	hub, err := sse.New(sse.WithPingInterval(0), sse.WithMaxConnections(0))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: hub.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if useTLS {
		cfg := &tls.Config{Certificates: []tls.Certificate{testCert(b)}, NextProtos: []string{"h2", "http/1.1"}}
		go srv.Serve(tls.NewListener(sse.Listener(ln), cfg))
	} else {
		go srv.Serve(ln)
	}
	defer func() {
		_ = hub.Shutdown(context.Background())
		_ = srv.Close()
	}()

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStreamClient$")
	cmd.Env = append(os.Environ(), "IDLE_CLIENT_ADDR="+ln.Addr().String(), "IDLE_CLIENT_N="+strconv.Itoa(n), "IDLE_CLIENT_TLS="+strconv.FormatBool(useTLS))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	before, gBefore := inUse()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	ready := bufio.NewScanner(stdout)
	for ready.Scan() && ready.Text() != "ready" {
	}
	deadline := time.Now().Add(time.Minute)
	for hub.Stats().Connections != n || runtime.NumGoroutine()-gBefore > n/10 {
		if time.Now().After(deadline) {
			b.Fatalf("%d streams open, %d goroutines more than before, after a minute", hub.Stats().Connections, runtime.NumGoroutine()-gBefore)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after, gAfter := inUse()
	if f := os.Getenv("IDLE_HEAP_PROFILE"); f != "" && useTLS {
		if out, err := os.Create(f); err == nil {
			_ = pprof.WriteHeapProfile(out)
			out.Close()
		}
	}
	return float64(after-before) / float64(n), float64(gAfter-gBefore) / float64(n)
}

// inUse returns the heap and stack memory in use after a collection, and
// the number of goroutines.
func inUse() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse, runtime.NumGoroutine()
}

// TestIdleStreamClient is the child process of BenchmarkIdleStream: it
// opens the streams, says "ready", and holds them until its stdin closes.
func TestIdleStreamClient(t *testing.T) {
	addr := os.Getenv("IDLE_CLIENT_ADDR")
	if addr == "" {
		t.Skip("run by BenchmarkIdleStream")
	}
	n, _ := strconv.Atoi(os.Getenv("IDLE_CLIENT_N"))
	useTLS := os.Getenv("IDLE_CLIENT_TLS") == "true"
	conns := make([]net.Conn, 0, n)
	for range n {
		var c net.Conn
		var err error
		if useTLS {
			c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		} else {
			c, err = net.Dial("tcp", addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /sse HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		// Read the head and the connected event, up to its blank line.
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		br := bufio.NewReader(c)
		status, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200 ") {
			t.Fatalf("stream answered %q, %v", status, err)
		}
		for blank := 0; blank < 2; {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(line) == "" {
				blank++
			}
		}
		_ = c.SetReadDeadline(time.Time{})
		conns = append(conns, c)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}
