package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/redis"
	"github.com/valksor/go-sse/ssetest"
)

// redisServer is a redis-server process of a test, with append-only
// persistence so that its data survives a restart.
type redisServer struct {
	t      *testing.T
	bin    string
	port   int
	dir    string
	proc   *os.Process // nil while stopped
	exited chan error
}

// startRedisServer starts redis-server on a free port, or skips the test
// (fails it on CI) when there is none to start.
func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed")
		}
		t.Skip("redis-server is not installed")
	}
	s := &redisServer{t: t, bin: bin, port: closedPort(t), dir: t.TempDir()}
	s.start()
	t.Cleanup(func() {
		if s.proc != nil {
			_ = s.proc.Kill()
			<-s.exited
		}
	})
	return s
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// readyWriter collects the server's log and closes ready at the line that
// says it accepts connections.
type readyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte("Ready to accept connections")) {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (w *readyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// start runs the server on its port and directory and waits until it
// accepts connections.
func (s *redisServer) start() {
	s.t.Helper()
	out := &readyWriter{ready: make(chan struct{})}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--dir", s.dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-out.ready:
	case err := <-exited:
		s.t.Fatalf("redis-server exited (%v):\n%s", err, out)
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
		s.t.Fatalf("redis-server not ready after %s:\n%s", wait, out)
	}
	s.proc, s.exited = cmd.Process, exited
}

// stop sends SIGTERM and waits for the server to exit.
func (s *redisServer) stop() {
	s.t.Helper()
	if err := s.proc.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(wait):
		s.t.Fatal("redis-server did not exit after SIGTERM")
	}
	s.proc = nil
}

// publishResult is the outcome of one publish of the fault test.
type publishResult struct {
	data string
	err  error
}

// TestRedisRestart publishes through a hub while its Redis is stopped for
// two seconds and started again on the same data: publishes fail cleanly
// during the outage, Health reports it, the hub's stream stays open, and
// every acknowledged publish reaches the listener and the stream exactly
// once, in order.
func TestRedisRestart(t *testing.T) {
	srv := startRedisServer(t)
	ctx := context.Background()
	tr, err := redis.New(ctx, redis.Options{URL: srv.url(), BlockTimeout: 200 * time.Millisecond, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	hub, hsrv := newHub(t, tr)
	onHub := openStream(t, hsrv.URL+"/sse")
	got := ssetest.Listen(t, tr)

	var mu sync.Mutex
	var results []publishResult
	progress := make(chan struct{}, 1)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond) // the publishing rate
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := hub.Publish(pctx, sse.Event{Type: "n", Data: strconv.Itoa(i)})
			cancel()
			mu.Lock()
			results = append(results, publishResult{data: strconv.Itoa(i), err: err})
			mu.Unlock()
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-stopped
	}()
	// await blocks until cond holds for the results from index from on, and
	// returns the number of results then.
	await := func(what string, from int, cond func([]publishResult) bool) int {
		t.Helper()
		deadline := time.After(wait)
		for {
			mu.Lock()
			n, ok := len(results), cond(results[from:])
			mu.Unlock()
			if ok {
				return n
			}
			select {
			case <-progress:
			case <-deadline:
				t.Fatalf("publisher: no %s after %s", what, wait)
			}
		}
	}
	count := func(rs []publishResult, failed bool) int {
		n := 0
		for _, r := range rs {
			if (r.err != nil) == failed {
				n++
			}
		}
		return n
	}

	await("30 acknowledged publishes", 0, func(rs []publishResult) bool { return count(rs, false) >= 30 })
	srv.stop()
	downAt := time.Now()
	mark := await("count", 0, func([]publishResult) bool { return true })
	await("failed publishes while Redis is down", mark, func(rs []publishResult) bool { return count(rs, true) >= 5 })
	if err := tr.Health(ctx); !errors.Is(err, sse.ErrTransportUnavailable) {
		t.Errorf("Health while Redis is down = %v, want sse.ErrTransportUnavailable", err)
	}
	time.Sleep(time.Until(downAt.Add(2 * time.Second))) // the outage under test
	srv.start()
	mark = await("count", 0, func([]publishResult) bool { return true })
	await("30 acknowledged publishes after the restart", mark, func(rs []publishResult) bool { return count(rs, false) >= 30 })
	if err := tr.Health(ctx); err != nil {
		t.Errorf("Health after the restart = %v", err)
	}
	close(stop)
	<-stopped

	acked, failed := []string{}, map[string]error{}
	for _, r := range results {
		if r.err == nil {
			acked = append(acked, r.data)
			continue
		}
		failed[r.data] = r.err
		if !errors.Is(r.err, sse.ErrTransportUnavailable) {
			t.Errorf("publish %s failed with %v, want sse.ErrTransportUnavailable", r.data, r.err)
		}
	}
	t.Logf("%d publishes: %d acknowledged, %d failed", len(results), len(acked), len(failed))
	lastAck, _ := strconv.Atoi(acked[len(acked)-1])

	msgs := got.WaitUntil(t, "the last acknowledged publish", func(ms []*sse.Message) bool {
		return len(ms) > 0 && atoi(ms[len(ms)-1].Data) >= lastAck
	})
	var delivered []string
	for _, m := range msgs {
		delivered = append(delivered, m.Data)
	}
	checkExactlyOnce(t, "listener", delivered, acked, failed)

	var streamed []string
	for len(streamed) == 0 || atoi(streamed[len(streamed)-1]) < lastAck {
		if e := onHub.next(t); e.Type == "n" {
			streamed = append(streamed, e.Data)
		}
	}
	checkExactlyOnce(t, "hub stream", streamed, acked, failed)
	onHub.mu.Lock()
	defer onHub.mu.Unlock()
	if onHub.connects != 1 {
		t.Errorf("the hub stream connected %d times; it should stay open through the outage", onHub.connects)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// checkExactlyOnce checks that delivered holds every acknowledged publish
// once, in publish order, and nothing else but publishes whose outcome was
// an error (a reply lost after Redis stored the entry).
func checkExactlyOnce(t *testing.T, where string, delivered, acked []string, failed map[string]error) {
	t.Helper()
	seen := make(map[string]bool, len(delivered))
	prev, extra := -1, 0
	for _, d := range delivered {
		n := atoi(d)
		if n <= prev {
			t.Errorf("%s: %s delivered after %d: out of order or twice", where, d, prev)
		}
		prev = n
		seen[d] = true
		if failed[d] != nil {
			extra++
		}
	}
	for _, a := range acked {
		if !seen[a] {
			t.Errorf("%s: acknowledged publish %s was not delivered", where, a)
		}
	}
	if len(delivered) != len(acked)+extra {
		t.Errorf("%s: %d delivered, want the %d acknowledged (+%d stored despite an error)", where, len(delivered), len(acked), extra)
	}
	if extra > 0 {
		t.Logf("%s: %d publishes that returned an error were stored anyway (reply lost at shutdown)", where, extra)
		for _, d := range delivered {
			if failed[d] != nil {
				t.Logf("  %s: %v", d, failed[d])
			}
		}
	}
}
