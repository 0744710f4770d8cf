package bench_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/bench"
)

// TestMain doubles as a floor server process when BENCH_TEST_FLOOR is set.
func TestMain(m *testing.M) {
	if os.Getenv("BENCH_TEST_FLOOR") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err := bench.RunFloor(ctx, "127.0.0.1:0", bench.AnnounceFloor(os.Stdout))
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startFloor serves a floor server on a loopback port for the test.
func startFloor(t *testing.T) *bench.Floor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := bench.ServeFloor(ln)
	t.Cleanup(func() { f.Close() })
	return f
}

// startHub serves a valksor-sse hub without a connection limit on a
// loopback port and returns its address.
func startHub(t *testing.T, opts ...sse.Option) string {
	t.Helper()
	opts = append([]sse.Option{sse.WithMaxConnections(0), sse.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	hub, err := sse.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: hub.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		srv.Close()
	})
	return ln.Addr().String()
}

// checkClean fails the test unless rep shows a lossless run of n streams
// and p publishes with sane figures.
func checkClean(t *testing.T, rep bench.Report, n, p int) {
	t.Helper()
	if rep.Connected != n || rep.Failed != 0 {
		t.Errorf("connected %d, failed %d; want %d, 0 (%v)", rep.Connected, rep.Failed, n, rep.ConnectErrors)
	}
	if want := int64(n * p); rep.Expected != want || rep.Received != want || rep.Lost != 0 {
		t.Errorf("expected %d, received %d, lost %d; want %d, %d, 0", rep.Expected, rep.Received, rep.Lost, want, want)
	}
	if rep.Published != p || rep.Disconnected != 0 || rep.Duplicates != 0 || rep.TimedOut {
		t.Errorf("published %d (want %d), disconnected %d, duplicates %d, timed out %v", rep.Published, p, rep.Disconnected, rep.Duplicates, rep.TimedOut)
	}
	if rep.LatencyP50 <= 0 || rep.LatencyP99 < rep.LatencyP50 || rep.LatencyMax < rep.LatencyP99 || rep.LatencyMax > 10*time.Second {
		t.Errorf("latency p50 %v, p99 %v, max %v: not sane", rep.LatencyP50, rep.LatencyP99, rep.LatencyMax)
	}
	if rep.PublishP50 <= 0 || rep.PublishP99 < rep.PublishP50 {
		t.Errorf("publish p50 %v, p99 %v: not sane", rep.PublishP50, rep.PublishP99)
	}
	if rep.DeliveriesPerSec <= 0 || rep.ConnectRate <= 0 || rep.ConnectSeconds <= 0 {
		t.Errorf("deliveries/s %v, connect rate %v, connect seconds %v: want positive", rep.DeliveriesPerSec, rep.ConnectRate, rep.ConnectSeconds)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %q", rep.Warnings)
	}
}

// checkTable renders rep and checks its main lines.
func checkTable(t *testing.T, rep bench.Report) string {
	t.Helper()
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"streams", "connect", "server RSS", "publishes", "fan-out latency", "p99", "deliveries/s", "publish request"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	return out
}

// checkJSON checks that rep survives a JSON round trip.
func checkJSON[T any](t *testing.T, rep T) {
	t.Helper()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep, back) {
		t.Errorf("JSON round trip changed the report:\n%+v\n%+v", rep, back)
	}
}

func formBody(typ, topic string) func(int, time.Time) (string, []byte) {
	return func(seq int, at time.Time) (string, []byte) {
		v := url.Values{"type": {typ}, "topic": {topic}, "data": {fmt.Sprintf("%d %d", seq, at.UnixNano())}}
		return "application/x-www-form-urlencoded", []byte(v.Encode())
	}
}

func TestRunFloor(t *testing.T) {
	f := startFloor(t)
	var progress bytes.Buffer
	rep, err := bench.Run(t.Context(), bench.Config{
		Name:       "floor",
		StreamURL:  f.StreamURL(),
		PublishURL: f.PublishURL(),
		Streams:    200,
		Publishes:  20,
		ServerPID:  os.Getpid(),
		Progress:   &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 200, 20)
	if rep.RSSBeforeKB <= 0 || rep.RSSAfterKB <= 0 {
		t.Errorf("RSS before %d, after %d: want both measured", rep.RSSBeforeKB, rep.RSSAfterKB)
	}
	out := checkTable(t, rep)
	if !strings.Contains(out, "KB per idle stream") || strings.Contains(out, "WARNING") {
		t.Errorf("table:\n%s", out)
	}
	checkJSON(t, rep)
	// Not a terminal: a line about every tenth, the last one complete.
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if len(lines) > 11 || !strings.HasPrefix(lines[len(lines)-1], "connected 200/200 (") || strings.Contains(progress.String(), "\r") {
		t.Errorf("progress:\n%s", progress.String())
	}
	t.Logf("\n%s", out)
}

func TestRunHub(t *testing.T) {
	var mu sync.Mutex
	sources := map[string]bool{}
	addr := startHub(t, sse.WithPublishToken("s3cret"), sse.WithOnConnect(func(c sse.ConnInfo) {
		host, _, _ := net.SplitHostPort(c.RemoteAddr)
		mu.Lock()
		sources[host] = true
		mu.Unlock()
	}))
	rep, err := bench.Run(t.Context(), bench.Config{
		Name:         "valksor-sse",
		StreamURL:    "http://" + addr + "/sse?topic=bench",
		PublishURL:   "http://" + addr + "/sse/publish",
		PublishToken: "s3cret",
		Streams:      200,
		Publishes:    20,
		SourceAddrs:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 200, 20)
	checkTable(t, rep)
	checkJSON(t, rep)
	mu.Lock()
	defer mu.Unlock()
	if len(sources) < 100 {
		t.Errorf("streams came from %d source addresses, want them spread over 127.0.0.1-254", len(sources))
	}
}

// TestRunVariants runs other publish bodies and a gap on both servers.
func TestRunVariants(t *testing.T) {
	f := startFloor(t)
	hub := startHub(t, sse.WithAnonymousPublish())
	for _, tc := range []struct {
		name               string
		stream, publish    string
		body               func(int, time.Time) (string, []byte)
		gap                time.Duration
		streams, publishes int
	}{
		{"floor form", f.StreamURL(), f.PublishURL(), formBody("bench", ""), 0, 50, 10},
		{"floor gap", f.StreamURL(), f.PublishURL(), nil, 20 * time.Millisecond, 50, 5},
		{"hub form topics", "http://" + hub + "/sse?topic=a&topic=b", "http://" + hub + "/sse/publish", formBody("bench", "b"), 0, 50, 10},
		{"hub anonymous gap public channel", "http://" + hub + "/sse", "http://" + hub + "/sse/publish", nil, 20 * time.Millisecond, 50, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			rep, err := bench.Run(t.Context(), bench.Config{
				StreamURL:   tc.stream,
				PublishURL:  tc.publish,
				PublishBody: tc.body,
				Streams:     tc.streams,
				Publishes:   tc.publishes,
				Gap:         tc.gap,
				Concurrency: 5,
				SettleTime:  -1,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, rep, tc.streams, tc.publishes)
			if min := time.Duration(tc.publishes-1) * tc.gap; time.Since(start) < min {
				t.Errorf("run took %v, less than the gaps (%v)", time.Since(start), min)
			}
		})
	}
}

// dropServer is an SSE server that misbehaves on purpose: it ends the odd
// streams after dropAfter events, and skips the deliveries skip names.
type dropServer struct {
	dropAfter int
	skip      func(stream, seq int) bool

	mu   sync.Mutex
	subs []chan []byte
}

func (d *dropServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var body struct{ Type, Topic, Data string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var seq int
		fmt.Sscan(body.Data, &seq)
		frame := []byte("id: x\nevent: " + body.Type + "\ndata: " + body.Data + "\n\n")
		d.mu.Lock()
		for i, ch := range d.subs {
			if d.skip == nil || !d.skip(i, seq) {
				select {
				case ch <- frame:
				default:
				}
			}
		}
		d.mu.Unlock()
		fmt.Fprint(w, `{"id":"1"}`)
		return
	}
	ch := make(chan []byte, 64)
	d.mu.Lock()
	idx := len(d.subs)
	d.subs = append(d.subs, ch)
	d.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	for n := 0; ; {
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			w.Write(b)
			http.NewResponseController(w).Flush()
			n++
			if d.dropAfter > 0 && idx%2 == 1 && n >= d.dropAfter {
				return
			}
		}
	}
}

func TestLostWhenStreamsAreDropped(t *testing.T) {
	ds := &dropServer{dropAfter: 4}
	srv := &http.Server{Handler: ds}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	u := "http://" + ln.Addr().String()
	start := time.Now()
	rep, err := bench.Run(t.Context(), bench.Config{StreamURL: u + "/sse", PublishURL: u + "/publish", Streams: 40, Publishes: 10, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 20 streams end after 4 of 10 events: 20×6 deliveries lost. The run
	// does not wait for the timeout: the dropped streams are known.
	if rep.Lost != 120 || rep.Received != 280 || rep.Expected != 400 || rep.Disconnected != 20 || rep.TimedOut {
		t.Errorf("lost %d, received %d of %d, disconnected %d, timed out %v; want 120, 280 of 400, 20, false",
			rep.Lost, rep.Received, rep.Expected, rep.Disconnected, rep.TimedOut)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("run took %v: it waited for the timeout", time.Since(start))
	}
	out := checkTable(t, rep)
	if !strings.Contains(out, "WARNING: LOST 120 of 400 deliveries") || !strings.Contains(out, "20 streams ended during the run: the server ended the stream") {
		t.Errorf("table does not say what was lost:\n%s", out)
	}
	checkJSON(t, rep)
}

func TestLostWhenEventsAreSkipped(t *testing.T) {
	ds := &dropServer{skip: func(stream, seq int) bool { return stream < 3 && seq == 2 }}
	srv := &http.Server{Handler: ds}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	u := "http://" + ln.Addr().String()
	rep, err := bench.Run(t.Context(), bench.Config{StreamURL: u, PublishURL: u, Streams: 10, Publishes: 5, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 3 || rep.Received != 47 || rep.Disconnected != 0 || !rep.TimedOut {
		t.Errorf("lost %d, received %d, disconnected %d, timed out %v; want 3, 47, 0, true", rep.Lost, rep.Received, rep.Disconnected, rep.TimedOut)
	}
	if len(rep.Warnings) == 0 || !strings.HasPrefix(rep.Warnings[0], "LOST 3 of 50") {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

// rawServer streams with hand-made framing: optional chunked encoding cut
// into tiny chunks with extensions, CRLF line endings, comments, foreign
// events and an over-long line before every benchmark event.
type rawServer struct {
	chunked bool
	mu      sync.Mutex
	conns   []net.Conn
}

func (s *rawServer) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			buf := make([]byte, 0, 1024)
			tmp := make([]byte, 512)
			for !bytes.Contains(buf, []byte("\r\n\r\n")) {
				n, err := c.Read(tmp)
				if err != nil {
					c.Close()
					return
				}
				buf = append(buf, tmp[:n]...)
			}
			head := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
			if s.chunked {
				head += "Transfer-Encoding: chunked\r\n"
			}
			head += "\r\n"
			s.mu.Lock()
			defer s.mu.Unlock()
			s.write(c, []byte(head), false)
			s.write(c, []byte(": hello\r\nretry: 1000\r\n\r\n"), s.chunked)
			s.conns = append(s.conns, c)
		}()
	}
}

// write sends b, chunk-encoded in pieces of 1 to 7 bytes when chunked.
func (s *rawServer) write(c net.Conn, b []byte, chunked bool) {
	if !chunked {
		c.Write(b)
		return
	}
	for i, n := 0, 0; i < len(b); i += n {
		n = min(1+i%7, len(b)-i)
		ext := ""
		if i%3 == 0 {
			ext = ";x=y"
		}
		c.Write(fmt.Appendf(nil, "%X%s\r\n%s\r\n", n, ext, b[i:i+n]))
	}
}

func (s *rawServer) publish(w http.ResponseWriter, r *http.Request) {
	var body struct{ Type, Topic, Data string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	frame := ": a comment 1 2 3\r\n" +
		"event: other\r\ndata: 0 0\r\n\r\n" + // a foreign event with a stamp
		": " + strings.Repeat("x", 5000) + "\r\n" + // skipped as too long
		"id: 42\r\nevent: " + body.Type + "\r\ndata\r\ndata: [\"" + body.Data + "\"]\r\ndata: 7 7\r\nretry: 500\r\n\r\n"
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		s.write(c, []byte(frame), s.chunked)
	}
}

func TestOddFraming(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			rs := &rawServer{chunked: chunked}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go rs.serve(ln)
			defer func() {
				rs.mu.Lock()
				for _, c := range rs.conns {
					c.Close()
				}
				rs.mu.Unlock()
			}()
			pub := &http.Server{Handler: http.HandlerFunc(rs.publish)}
			pln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go pub.Serve(pln)
			defer pub.Close()
			rep, err := bench.Run(t.Context(), bench.Config{
				StreamURL:  "http://" + ln.Addr().String() + "/events?x=1",
				PublishURL: "http://" + pln.Addr().String() + "/",
				Streams:    5,
				Publishes:  6,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Lost != 0 || rep.Received != 30 || rep.LongLines != 30 || rep.Disconnected != 0 {
				t.Errorf("lost %d, received %d, long lines %d, disconnected %d; want 0, 30, 30, 0 (%q)", rep.Lost, rep.Received, rep.LongLines, rep.Disconnected, rep.DisconnectErrors)
			}
			if rep.LatencyP50 <= 0 {
				t.Errorf("latency p50 %v", rep.LatencyP50)
			}
		})
	}
}

func TestConnectFailures(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	plain := startPlain(t)
	limited := startHub(t, sse.WithMaxConnections(3), sse.WithAnonymousPublish())

	t.Run("refused", func(t *testing.T) {
		rep, err := bench.Run(t.Context(), bench.Config{StreamURL: "http://" + closedAddr + "/sse", PublishURL: "http://" + closedAddr, Streams: 5, Publishes: 1})
		if err == nil || !strings.Contains(err.Error(), "no stream connected") || !strings.Contains(err.Error(), "refused") {
			t.Errorf("err = %v", err)
		}
		if rep.Failed != 5 || rep.Connected != 0 || len(rep.ConnectErrors) != 1 || !strings.Contains(rep.ConnectErrors[0], "(5 times)") {
			t.Errorf("failed %d, connected %d, errors %q", rep.Failed, rep.Connected, rep.ConnectErrors)
		}
	})
	t.Run("not an event stream", func(t *testing.T) {
		_, err := bench.Run(t.Context(), bench.Config{StreamURL: plain, PublishURL: plain, Streams: 2, Publishes: 1})
		if err == nil || !strings.Contains(err.Error(), `Content-Type is "text/plain; charset=utf-8", not text/event-stream`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("over the server's limit", func(t *testing.T) {
		rep, err := bench.Run(t.Context(), bench.Config{StreamURL: "http://" + limited + "/sse", PublishURL: "http://" + limited + "/sse/publish", Streams: 10, Publishes: 3, Concurrency: 1})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Connected != 3 || rep.Failed != 7 || rep.Lost != 0 || rep.Received != 9 {
			t.Errorf("connected %d, failed %d, lost %d, received %d; want 3, 7, 0, 9", rep.Connected, rep.Failed, rep.Lost, rep.Received)
		}
		if len(rep.ConnectErrors) == 0 || !strings.HasPrefix(rep.ConnectErrors[0], "HTTP 503: ") || !strings.Contains(rep.ConnectErrors[0], "limit of 3 streams") {
			t.Errorf("connect errors %q", rep.ConnectErrors)
		}
		if len(rep.Warnings) != 1 || !strings.HasPrefix(rep.Warnings[0], "7 of 10 streams failed to connect") {
			t.Errorf("warnings %q", rep.Warnings)
		}
	})
}

// startPlain serves text/plain on every path and returns its URL.
func startPlain(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

func TestPublishFailures(t *testing.T) {
	addr := startHub(t, sse.WithPublishToken("right"))
	rep, err := bench.Run(t.Context(), bench.Config{
		StreamURL: "http://" + addr + "/sse", PublishURL: "http://" + addr + "/sse/publish", PublishToken: "wrong",
		Streams: 3, Publishes: 2, SettleTime: -1,
	})
	if err == nil || !strings.Contains(err.Error(), "every publish") || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "(2 times)") {
		t.Errorf("err = %v", err)
	}
	if rep.Connected != 3 || rep.Published != 0 {
		t.Errorf("connected %d, published %d", rep.Connected, rep.Published)
	}
	if len(rep.Warnings) != 1 || !strings.HasPrefix(rep.Warnings[0], "2 of 2 publishes failed: publish: HTTP 401: ") {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := bench.Config{StreamURL: "http://127.0.0.1:1/sse", PublishURL: "http://127.0.0.1:1/p", Streams: 1, Publishes: 1}
	for _, tc := range []struct {
		name   string
		change func(*bench.Config)
		want   string
	}{
		{"no streams", func(c *bench.Config) { c.Streams = 0 }, "Streams must be positive"},
		{"negative publishes", func(c *bench.Config) { c.Publishes = -1 }, "Publishes must not be negative"},
		{"negative gap", func(c *bench.Config) { c.Gap = -time.Second }, "Gap must not be negative"},
		{"scheme", func(c *bench.Config) { c.StreamURL = "ws://127.0.0.1/sse" }, "want an http:// or https:// URL"},
		{"no publish URL", func(c *bench.Config) { c.PublishURL = "" }, "PublishURL"},
		{"source addresses need loopback", func(c *bench.Config) { c.StreamURL = "http://localhost:1/sse"; c.SourceAddrs = true }, "SourceAddrs needs an IPv4 loopback"},
		{"too much to record", func(c *bench.Config) { c.Streams = 100_000; c.Publishes = 100_000 }, "use fewer streams or publishes"},
		{"open files", func(c *bench.Config) { c.Streams = 1 << 30; c.Publishes = 0 }, "raise the limit (ulimit -n)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			_, err := bench.Run(t.Context(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestRunCanceled(t *testing.T) {
	f := startFloor(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The floor sends type "nothing": the run waits for deliveries that
	// never come, until ctx ends.
	_, err := bench.Run(ctx, bench.Config{
		StreamURL: f.StreamURL(), PublishURL: f.PublishURL(), Streams: 5, Publishes: 1,
		PublishBody: formBody("nothing", ""), Timeout: time.Minute,
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run returned after %v", d)
	}
}

func TestCompare(t *testing.T) {
	f := startFloor(t)
	hub := startHub(t, sse.WithAnonymousPublish())
	var progress bytes.Buffer
	a := bench.Config{Name: "floor", StreamURL: f.StreamURL(), PublishURL: f.PublishURL(), Streams: 20, Publishes: 5, SettleTime: -1, ServerPID: os.Getpid(), Progress: &progress}
	b := a
	b.Name, b.StreamURL, b.PublishURL = "valksor-sse", "http://"+hub+"/sse?topic=bench", "http://"+hub+"/sse/publish"
	cr, err := bench.Compare(t.Context(), a, b, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(cr.ARounds) != 3 || len(cr.BRounds) != 3 || cr.Rounds != 3 {
		t.Fatalf("rounds %d: %d and %d reports", cr.Rounds, len(cr.ARounds), len(cr.BRounds))
	}
	for _, r := range append(cr.ARounds, cr.BRounds...) {
		checkClean(t, r, 20, 5)
	}
	if cr.A.Name != "floor" || cr.B.Name != "valksor-sse" || cr.A.Lost != 0 || cr.B.Lost != 0 || cr.A.Received != 300 {
		t.Errorf("summaries: %+v\n%+v", cr.A, cr.B)
	}
	if cr.P99Ratio <= 0 || cr.DeliveriesPerSecRatio <= 0 {
		t.Errorf("ratios p99 %v, deliveries/s %v", cr.P99Ratio, cr.DeliveriesPerSecRatio)
	}
	var lat []time.Duration
	for _, r := range cr.BRounds {
		lat = append(lat, r.LatencyP99)
	}
	if cr.B.LatencyP99 < min(lat[0], lat[1], lat[2]) || cr.B.LatencyP99 > max(lat[0], lat[1], lat[2]) {
		t.Errorf("median p99 %v is not one of %v", cr.B.LatencyP99, lat)
	}
	var tb strings.Builder
	if err := cr.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"median of 3 rounds", "floor", "valksor-sse", "valksor-sse/floor", "latency p99", "deliveries/s", "RSS per stream (KB)", "lost (all rounds)"} {
		if !strings.Contains(tb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tb.String())
		}
	}
	if strings.Contains(tb.String(), "WARNING") {
		t.Errorf("table warns:\n%s", tb.String())
	}
	checkJSON(t, cr)
	if got := strings.Count(progress.String(), "round "); got != 6 {
		t.Errorf("progress names %d rounds, want 6:\n%s", got, progress.String())
	}
	t.Logf("\n%s", tb.String())
}

func TestRunFloorUntilCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addrC := make(chan string, 1)
	errC := make(chan error, 1)
	go func() { errC <- bench.RunFloor(ctx, "127.0.0.1:0", func(addr string) { addrC <- addr }) }()
	var addr string
	select {
	case addr = <-addrC:
	case err := <-errC:
		t.Fatal(err)
	}
	rep, err := bench.Run(t.Context(), bench.Config{StreamURL: "http://" + addr + "/", PublishURL: "http://" + addr + "/", Streams: 10, Publishes: 3, SettleTime: -1})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 10, 3)
	cancel()
	if err := <-errC; err != nil {
		t.Errorf("RunFloor: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the floor still listens after its context ended")
	}
	if err := bench.RunFloor(t.Context(), "127.0.0.1:-1", nil); err == nil {
		t.Error("RunFloor on a bad address: no error")
	}
}

// TestFloorEvents checks what the floor server writes for publish bodies.
func TestFloorEvents(t *testing.T) {
	f := startFloor(t)
	c, err := net.Dial("tcp", f.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /anything HTTP/1.1\r\nHost: x\r\n\r\n")
	want := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
	for deadline := time.Now().Add(5 * time.Second); f.Streams() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream was not registered")
		}
	}
	for _, tc := range []struct {
		ctype, body string
		status      int
		frame       string
	}{
		{"application/json", `{"type":"t","topic":"x","data":"a\nb"}`, 200, "event: t\ndata: a\ndata: b\n\n"},
		{"application/json; charset=utf-8", `{"data":{"k": [1, 2]}}`, 200, "event: bench\ndata: {\"k\":[1,2]}\n\n"},
		{"application/x-www-form-urlencoded", "type=f&data=1&data=2", 200, "event: f\ndata: 1\ndata: 2\n\n"},
		{"", `{"type":"sniffed"}`, 200, "event: sniffed\ndata: {}\n\n"},
		{"application/json", `{"data":`, 400, ""},
		{"application/json", `{"type":"a\nb"}`, 400, ""},
		{"text/plain", "x", 400, ""},
	} {
		resp, err := http.Post(f.PublishURL(), tc.ctype, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		got.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %q: status %d, want %d (%s)", tc.ctype, tc.body, resp.StatusCode, tc.status, got.String())
		}
		if tc.status == 200 {
			want += tc.frame
			if !strings.HasPrefix(got.String(), `{"id":"`) {
				t.Errorf("answer %q", got.String())
			}
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %q: %v", buf, err)
	}
	if string(buf) != want {
		t.Errorf("stream:\n%q\nwant\n%q", buf, want)
	}
	resp, err := http.Head(f.StreamURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("HEAD: status %d", resp.StatusCode)
	}
	// A stream whose client went away is forgotten at the next publish
	// that fails to write to it.
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); f.Streams() != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the closed stream is still counted")
		}
		resp, err := http.Post(f.PublishURL(), "application/json", strings.NewReader(`{"data":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

// TestFloorProcess runs the floor as a child process, as the bench command
// does, so that its memory is measured apart from the client's.
func TestFloorProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BENCH_TEST_FLOOR=1")
	cmd.Stderr = os.Stderr
	addr, err := bench.StartFloorProcess(cmd, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	rep, err := bench.Run(t.Context(), bench.Config{
		StreamURL: "http://" + addr + "/sse", PublishURL: "http://" + addr + "/publish",
		Streams: 200, Publishes: 5, ServerPID: cmd.Process.Pid,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 200, 5)
	if rep.RSSBeforeKB <= 0 || rep.RSSAfterKB <= 0 {
		t.Errorf("RSS before %d, after %d: want both measured", rep.RSSBeforeKB, rep.RSSAfterKB)
	}
	t.Logf("floor process: RSS %d KB -> %d KB, %.2f KB per stream", rep.RSSBeforeKB, rep.RSSAfterKB, rep.RSSPerStreamKB)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("floor process after an interrupt: %v", err)
	}

	// A process that never announces is reported.
	quiet := exec.Command(os.Args[0], "-test.run=^$")
	if _, err := bench.StartFloorProcess(quiet, 10*time.Second); err == nil || !strings.Contains(err.Error(), "ended before it listened") {
		t.Errorf("err = %v", err)
	}
	taken := exec.Command(os.Args[0], "-test.run=^$")
	taken.Stdout = io.Discard
	if _, err := bench.StartFloorProcess(taken, time.Second); err == nil {
		t.Error("StartFloorProcess accepted a command with its own Stdout")
	}
}

func TestHostName(t *testing.T) {
	f := startFloor(t)
	_, port, _ := net.SplitHostPort(f.Addr().String())
	rep, err := bench.Run(t.Context(), bench.Config{StreamURL: "http://localhost:" + port + "/", PublishURL: f.PublishURL(), Streams: 3, Publishes: 2, SettleTime: -1})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 3, 2)
	if _, err := bench.Run(t.Context(), bench.Config{StreamURL: "http://no-such-host.invalid/", Streams: 1}); err == nil || !strings.Contains(err.Error(), "resolve the stream host") {
		t.Errorf("err = %v", err)
	}
}

func TestTLS(t *testing.T) {
	hub, err := sse.New(sse.WithAnonymousPublish(), sse.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(hub.Handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	defer hub.Shutdown(context.Background())
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	rep, err := bench.Run(t.Context(), bench.Config{
		StreamURL: srv.URL + "/sse", PublishURL: srv.URL + "/sse/publish",
		Streams: 20, Publishes: 3, SettleTime: -1, TLSConfig: &tls.Config{RootCAs: pool},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, rep, 20, 3)
	// Without the test CA the certificate is refused.
	_, err = bench.Run(t.Context(), bench.Config{StreamURL: srv.URL + "/sse", Streams: 1})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err = %v", err)
	}
}

// TestFloorReset: the floor holds the streams of a finished run until a
// write to them fails; ResetURL drops them before the next run, so rounds
// do not pile up open files.
func TestFloorReset(t *testing.T) {
	f := startFloor(t)
	cfg := bench.Config{StreamURL: f.StreamURL(), PublishURL: f.PublishURL(), Streams: 30, Publishes: 2}
	if _, err := bench.Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if n := f.Streams(); n != 30 {
		t.Fatalf("after a run the floor holds %d streams, want the 30 it cannot know are gone", n)
	}
	cfg.ResetURL = f.ResetURL()
	rep, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 0 || rep.Received != 60 {
		t.Fatalf("the run after a reset lost %d of %d deliveries", rep.Lost, rep.Expected)
	}
	if n := f.Streams(); n != 30 {
		t.Fatalf("after a reset and a run of 30 the floor holds %d streams", n)
	}
}

// TestSlowStreams: streams that never read are counted, and reported as
// dropped once the server closed them (the hub drops a stream whose queue
// overflows).
func TestSlowStreams(t *testing.T) {
	hub, err := sse.New(sse.WithAnonymousPublish(), sse.WithPingInterval(0), sse.WithMaxConnections(0), sse.WithWriteTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.Handler())
	t.Cleanup(func() {
		_ = hub.Shutdown(context.Background())
		srv.Close()
	})
	rep, err := bench.Run(t.Context(), bench.Config{
		StreamURL: srv.URL + "/sse?topic=bench", PublishURL: srv.URL + "/sse/publish",
		// 2,500 events of 3 KB: more than the socket buffers of a stream
		// that never reads can hold.
		Streams: 5, Publishes: 2500, Slow: 2, Padding: 3000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 0 || rep.Slow != 2 || rep.SlowDropped != 2 {
		t.Fatalf("lost %d, slow %d, dropped %d: want 0, 2, 2", rep.Lost, rep.Slow, rep.SlowDropped)
	}
}
