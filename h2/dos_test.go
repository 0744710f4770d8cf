package h2_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// heapWatch samples the process's heap while an attack runs. The server
// runs in the test's process, so its buffers show up here.
type heapWatch struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func watchHeap() *heapWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapWatch{base: ms.HeapAlloc, stop: make(chan struct{}), done: make(chan struct{})}
	h.peak.Store(ms.HeapAlloc)
	go func() {
		defer close(h.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > h.peak.Load() {
				h.peak.Store(ms.HeapAlloc)
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// growth stops the sampling and returns the peak heap over the base.
func (h *heapWatch) growth() uint64 {
	close(h.stop)
	<-h.done
	if p := h.peak.Load(); p > h.base {
		return p - h.base
	}
	return 0
}

// heapBound is how much the heap may grow while a connection attacks the
// server: a few buffers' worth, far less than the attack's volume.
const heapBound = 16 << 20

// gauge counts handlers running at once and remembers the most.
type gauge struct {
	cur, max atomic.Int64
	idle     chan struct{} // receives when cur drops to 0
}

func newGauge() *gauge { return &gauge{idle: make(chan struct{}, 1)} }

func (g *gauge) enter() {
	n := g.cur.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (g *gauge) leave() {
	if g.cur.Add(-1) == 0 {
		select {
		case g.idle <- struct{}{}:
		default:
		}
	}
}

// awaitIdle waits until no handler runs.
func (g *gauge) awaitIdle(t *testing.T) {
	t.Helper()
	deadline := time.After(2 * ioTimeout)
	for g.cur.Load() != 0 {
		select {
		case <-g.idle:
		case <-deadline:
			t.Fatalf("%d handlers still running", g.cur.Load())
		}
	}
}

// served checks that a new connection still gets answers.
func served(t *testing.T, addr string, c *http.Client) {
	t.Helper()
	resp, err := c.Get("https://" + addr + "/ok")
	if err != nil {
		t.Fatalf("another connection is not served: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(body) != "ok" {
		t.Fatalf("another connection: body %q, %v", body, err)
	}
}

// frameReader reads a connection's frames on its own goroutine until the
// connection ends, noting GOAWAY and PING ACKs.
type frameReader struct {
	goAway  atomic.Pointer[http2.GoAwayFrame]
	pingAck chan [8]byte
	frames  atomic.Int64
	err     error
	done    chan struct{}
}

func readFrames(c *rawConn, deadline time.Duration) *frameReader {
	fr := &frameReader{pingAck: make(chan [8]byte, 16), done: make(chan struct{})}
	_ = c.conn.SetReadDeadline(time.Now().Add(deadline))
	go func() {
		defer close(fr.done)
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				fr.err = err
				return
			}
			fr.frames.Add(1)
			switch f := f.(type) {
			case *http2.GoAwayFrame:
				g := *f
				fr.goAway.Store(&g)
			case *http2.PingFrame:
				if f.IsAck() {
					select {
					case fr.pingAck <- f.Data:
					default:
					}
				}
			}
		}
	}()
	return fr
}

// TestRapidReset: a client that opens and resets 20,000 streams as fast as
// it can never has more handlers running than MaxConcurrentStreams; the
// server keeps up or ends the connection with GOAWAY, and serves other
// connections afterwards (CVE-2023-44487).
func TestRapidReset(t *testing.T) {
	const maxStreams, pairs = 100, 20000
	g := newGauge()
	// Handlers notice their request ended only after the flood: like real
	// ones, they take a while, and a server must not start more of them
	// meanwhile than it lets run.
	hold := make(chan struct{})
	var holdOnce sync.Once
	release := func() { holdOnce.Do(func() { close(hold) }) }
	t.Cleanup(release)
	addr, clientTLS := startServer(t, blockHandler(g, hold), serverOpts{MaxConcurrentStreams: maxStreams})
	c := connect(t, addr, clientTLS)
	rd := readFrames(c, 60*time.Second)

	blk := c.block(c.reqHeaders("GET", "/block")...)
	sent := 0
	werr := c.tryWrite(func() error {
		for i := range pairs {
			id := uint32(2*i + 1)
			if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk, EndStream: true, EndHeaders: true}); err != nil {
				return err
			}
			if err := c.fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
				return err
			}
			sent++
			if sent%64 == 0 {
				if err := c.bw.Flush(); err != nil {
					return err
				}
				_ = c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
			}
		}
		return nil
	})
	if werr == nil {
		// Everything sent: the PING's ACK says the server got through it.
		werr = c.tryWrite(func() error { return c.fr.WritePing(false, [8]byte{'r', 'e', 's', 'e', 't'}) })
	}
	if werr == nil {
		select {
		case <-rd.pingAck:
		case <-rd.done:
		}
	} else {
		<-rd.done
	}
	release()
	t.Logf("sent %d of %d HEADERS+RST_STREAM pairs (write: %v); read %d frames; most handlers at once %d",
		sent, pairs, werr, rd.frames.Load(), g.max.Load())

	if m := g.max.Load(); m > maxStreams {
		t.Errorf("%d handlers ran at once, MaxConcurrentStreams is %d", m, maxStreams)
	}
	select {
	case <-rd.done:
		// The connection ended: the server must have said why.
		ga := rd.goAway.Load()
		switch {
		case ga == nil:
			t.Errorf("connection closed without GOAWAY after %d pairs (%v)", sent, rd.err)
		case ga.ErrCode != http2.ErrCodeEnhanceYourCalm && ga.ErrCode != http2.ErrCodeNo:
			t.Errorf("GOAWAY %v, want ENHANCE_YOUR_CALM or NO_ERROR", ga.ErrCode)
		}
	default:
		if werr != nil {
			t.Errorf("writing failed (%v) but the connection is open", werr)
		}
		if ga := rd.goAway.Load(); ga != nil && ga.ErrCode != http2.ErrCodeEnhanceYourCalm && ga.ErrCode != http2.ErrCodeNo {
			t.Errorf("GOAWAY %v, want ENHANCE_YOUR_CALM or NO_ERROR", ga.ErrCode)
		}
	}
	_ = c.conn.Close()
	g.awaitIdle(t)
	served(t, addr, h2Client(t, clientTLS))
}

// blockHandler: "/block" runs until its request ends and hold is
// closed, counted by g; anything else is answered "ok".
func blockHandler(g *gauge, hold <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			g.enter()
			defer g.leave()
			<-r.Context().Done()
			<-hold
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
}

// floodFields is header block bytes made of whole never-indexed literal
// fields, so that any number of copies in a row is a valid block.
func floodFields(size int) []byte {
	var field bytes.Buffer
	enc := hpack.NewEncoder(&field)
	_ = enc.WriteField(hpack.HeaderField{Name: "x-flood", Value: strings.Repeat("f", 100), Sensitive: true})
	var b bytes.Buffer
	for b.Len()+field.Len() <= size {
		b.Write(field.Bytes())
	}
	return b.Bytes()
}

// TestContinuationFlood: HEADERS without END_HEADERS followed by endless
// CONTINUATION frames ends the connection long before the server has
// held it all (CVE-2023-45288).
func TestContinuationFlood(t *testing.T) {
	const total = 10 << 20
	var calls atomic.Int32
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
	}), serverOpts{})
	c := connect(t, addr, clientTLS)
	rd := readFrames(c, 30*time.Second)
	chunk := floodFields(int(c.setting(http2.SettingMaxFrameSize)))
	first := c.block(c.reqHeaders("GET", "/")...)

	heap := watchHeap()
	sent := 0
	werr := c.tryWrite(func() error {
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true}); err != nil {
			return err
		}
		for sent < total {
			if err := c.fr.WriteContinuation(1, false, chunk); err != nil {
				return err
			}
			sent += len(chunk)
			_ = c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
		}
		return nil
	})
	<-rd.done
	grew := heap.growth()
	t.Logf("sent %d of %d bytes of CONTINUATION (write: %v); connection ended: %v, GOAWAY %v; heap grew %d KiB",
		sent, total, werr, rd.err, rd.goAway.Load() != nil, grew>>10)
	if isTimeout(rd.err) {
		t.Fatal("the connection was still open after the flood")
	}
	if ga := rd.goAway.Load(); ga != nil && ga.ErrCode == http2.ErrCodeNo {
		t.Errorf("GOAWAY NO_ERROR after a flood, want an error code")
	}
	if grew > heapBound {
		t.Errorf("heap grew %d MiB during a %d MiB CONTINUATION flood", grew>>20, total>>20)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("handler ran %d times", n)
	}
}

// TestHeaderListTooLarge: a header list over MaxHeaderListSize never
// reaches the handler; it is answered 431 or ends in a stream or
// connection error, and the connection's compression state survives.
func TestHeaderListTooLarge(t *testing.T) {
	const limit = 16 << 10
	var calls atomic.Int32
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			calls.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	}), serverOpts{MaxHeaderListSize: limit})
	c := connect(t, addr, clientTLS)
	if v := c.setting(http2.SettingMaxHeaderListSize); v != limit {
		t.Errorf("SETTINGS_MAX_HEADER_LIST_SIZE %d, want %d", v, limit)
	}
	var extra []string
	for i := range 40 {
		extra = append(extra, fmt.Sprintf("x-big-%d", i), strings.Repeat("v", 1000))
	}
	blk := c.block(c.reqHeaders("GET", "/big", extra...)...)
	frame := min(16384, int(c.setting(http2.SettingMaxFrameSize)))
	c.write(func() error {
		first := blk[:frame]
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true}); err != nil {
			return err
		}
		for rest := blk[frame:]; len(rest) > 0; {
			n := min(frame, len(rest))
			if err := c.fr.WriteContinuation(1, n == len(rest), rest[:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
	o := c.awaitStream(1)
	switch {
	case o.headers != nil && o.headers.PseudoValue("status") == "431":
	case o.rst != nil, o.goAway != nil && o.goAway.ErrCode != http2.ErrCodeNo:
	default:
		t.Fatalf("got %v, want 431 or a stream or connection error", o)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times for a header list over the limit", n)
	}
	if o.goAway == nil {
		// The same encoder's next block depends on the table the big one
		// built; a server that skipped decoding it cannot read this.
		c.writeHeaders(3, true, c.reqHeaders("GET", "/small", "x-big-0", strings.Repeat("v", 1000))...)
		if o := c.awaitStream(3); o.headers == nil || o.headers.PseudoValue("status") != "200" {
			t.Fatalf("next request on the connection: %v", o)
		}
	}
}

// TestControlFrameFlood: a client that sends PINGs or SETTINGS (each
// calling for an ACK) and never reads is disconnected; the server does
// not queue ACKs without bound.
func TestControlFrameFlood(t *testing.T) {
	const frames = 300000
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), serverOpts{})
	t.Run("floods", func(t *testing.T) {
		for _, kind := range []string{"PING", "SETTINGS"} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				c := dialRawWith(t, addr, clientTLS, func(tc *net.TCPConn) { _ = tc.SetReadBuffer(4096) })
				c.handshake()
				heap := watchHeap()
				sent := 0
				var data [8]byte
				werr := c.tryWrite(func() error {
					for sent < frames {
						var err error
						if kind == "PING" {
							data[0], data[1], data[2] = byte(sent>>16), byte(sent>>8), byte(sent)
							err = c.fr.WritePing(false, data)
						} else {
							err = c.fr.WriteSettings()
						}
						if err != nil {
							return err
						}
						sent++
						if sent%1024 == 0 {
							_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
						}
					}
					return nil
				})
				// Now read what the server sent, until it ends the connection.
				acks := 0
				var rerr error
				// A server that queued every ACK would still be sending them
				// when this runs out; one that gave up has closed by then
				// (net/http's takes up to 5 s more, trying to send its TLS
				// close_notify into the full socket).
				_ = c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
				for {
					f, err := c.fr.ReadFrame()
					if err != nil {
						rerr = err
						break
					}
					switch f := f.(type) {
					case *http2.PingFrame:
						if f.IsAck() {
							acks++
						}
					case *http2.SettingsFrame:
						if f.IsAck() {
							acks++
						}
					}
				}
				grew := heap.growth()
				t.Logf("sent %d of %d %s frames (write: %v); read %d ACKs, then %v; heap grew %d KiB",
					sent, frames, kind, werr, acks, rerr, grew>>10)
				if isTimeout(rerr) {
					if kind == "SETTINGS" && acks < sent {
						deviation(t, fmt.Sprintf("acknowledges %d SETTINGS frames with %d ACKs (one per batch, RFC 9113 6.5.3 wants one each) and keeps the connection open", sent, acks))
					}
					t.Fatalf("connection still open after %d unread ACKs were due", sent)
				}
				if acks >= frames {
					t.Fatalf("the server queued all %d ACKs for a client that did not read", acks)
				}
				if grew > heapBound {
					t.Errorf("heap grew %d MiB during the flood", grew>>20)
				}
			})
		}
	})
	served(t, addr, h2Client(t, clientTLS))
}

// TestTooManyStreams: streams beyond MaxConcurrentStreams are refused
// (REFUSED_STREAM or PROTOCOL_ERROR, RFC 9113 5.1.2) and the ones within
// the limit are served.
func TestTooManyStreams(t *testing.T) {
	const limit, extra = 10, 5
	g := newGauge()
	release := make(chan struct{})
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.enter()
		defer g.leave()
		select {
		case <-release:
			_, _ = io.WriteString(w, r.URL.Path)
		case <-r.Context().Done():
		}
	}), serverOpts{MaxConcurrentStreams: limit})
	c := connect(t, addr, clientTLS)
	if v := c.setting(http2.SettingMaxConcurrentStreams); v != limit {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want %d", v, limit)
	}
	for i := range limit + extra {
		c.get(uint32(2*i+1), fmt.Sprintf("/%d", 2*i+1))
	}
	refused := map[uint32]http2.ErrCode{}
	bodies := map[uint32][]byte{}
	ended := map[uint32]bool{}
	released := false
	for len(ended) < limit+extra {
		f, err := c.readFrame()
		if err != nil {
			t.Fatalf("after %d streams ended: %v", len(ended), err)
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			refused[f.StreamID] = f.ErrCode
			ended[f.StreamID] = true
		case *http2.DataFrame:
			bodies[f.StreamID] = append(bodies[f.StreamID], f.Data()...)
			if f.StreamEnded() {
				ended[f.StreamID] = true
			}
		case *http2.MetaHeadersFrame:
			if f.StreamEnded() {
				ended[f.StreamID] = true
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v", f.ErrCode)
		}
		if !released && len(refused) == extra {
			released = true
			close(release)
		}
	}
	if !released {
		close(release)
	}
	for i := range limit + extra {
		id := uint32(2*i + 1)
		code, wasRefused := refused[id]
		if i < limit {
			if wasRefused {
				t.Errorf("stream %d (within the limit) reset: %v", id, code)
			} else if want := fmt.Sprintf("/%d", id); string(bodies[id]) != want {
				t.Errorf("stream %d body %q, want %q", id, bodies[id], want)
			}
			continue
		}
		if !wasRefused || (code != http2.ErrCodeRefusedStream && code != http2.ErrCodeProtocol) {
			t.Errorf("stream %d (over the limit): refused %v with %v, want REFUSED_STREAM or PROTOCOL_ERROR", id, wasRefused, code)
		}
	}
	if m := g.max.Load(); m > limit {
		t.Errorf("%d handlers ran at once", m)
	}
}

// TestZeroWindowClient: a client that grants no flow control window
// (SETTINGS_INITIAL_WINDOW_SIZE 0, no WINDOW_UPDATE) blocks only the
// stream the handler writes to: its other streams and other connections
// are served, and the handler's Write fails once the stream is reset.
func TestZeroWindowClient(t *testing.T) {
	writeErr := make(chan error, 1)
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, "ok")
			return
		case "/other":
			w.WriteHeader(http.StatusNoContent)
			return
		}
		buf := make([]byte, 16<<10)
		for range 64 {
			if _, err := w.Write(buf); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}), serverOpts{})
	c := connect(t, addr, clientTLS, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.get(1, "/big")
	c.get(3, "/other")
	var dataOn1 int
	for done := false; !done; {
		f, err := c.readFrame()
		if err != nil {
			t.Fatalf("awaiting stream 3: %v", err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if f.StreamID == 1 {
				dataOn1 += len(f.Data())
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == 3 {
				if s := f.PseudoValue("status"); s != "204" {
					t.Fatalf("stream 3 status %s", s)
				}
				done = true
			}
		case *http2.RSTStreamFrame:
			t.Fatalf("stream %d reset: %v", f.StreamID, f.ErrCode)
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v", f.ErrCode)
		}
	}
	if dataOn1 > 0 {
		t.Errorf("the server sent %d bytes of DATA into a window of 0", dataOn1)
	}
	served(t, addr, h2Client(t, clientTLS))
	select {
	case err := <-writeErr:
		t.Fatalf("the handler finished writing 1 MiB into a window of 0 (%v)", err)
	default:
	}
	c.write(func() error { return c.fr.WriteRSTStream(1, http2.ErrCodeCancel) })
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("the handler's writes all succeeded")
		}
	case <-time.After(ioTimeout):
		t.Fatal("the handler's Write still blocks after the client reset its stream")
	}
}

// TestIdleTimeout: a connection with no streams is closed after
// IdleTimeout with GOAWAY NO_ERROR.
func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), serverOpts{IdleTimeout: idle})
	c := connect(t, addr, clientTLS)
	c.get(1, "/")
	c.readBody(1)
	start := time.Now()
	o := c.awaitGoAway()
	if o.goAway == nil || o.goAway.ErrCode != http2.ErrCodeNo {
		t.Fatalf("got %v, want GOAWAY NO_ERROR", o)
	}
	if o.goAway.LastStreamID != 1 {
		t.Errorf("GOAWAY last stream %d, want 1", o.goAway.LastStreamID)
	}
	if el := time.Since(start); el < idle-50*time.Millisecond {
		t.Errorf("GOAWAY after %v, IdleTimeout is %v", el, idle)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, err := io.Copy(io.Discard, c.conn); isTimeout(err) {
		t.Fatal("connection still open after the idle GOAWAY")
	}
}

// TestWriteTimeoutStalledStream: with WriteTimeout set, a handler whose
// client grants no window gets an error from Write instead of blocking
// for good, and the client is told: its stream is reset or the
// connection ends.
func TestWriteTimeoutStalledStream(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	writeErr := make(chan error, 1)
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 16<<10)
		for range 64 {
			if _, err := w.Write(buf); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}), serverOpts{WriteTimeout: writeTimeout})
	c := connect(t, addr, clientTLS, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	start := time.Now()
	c.get(1, "/big")
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("the handler wrote 1 MiB into a window of 0")
		}
		if el := time.Since(start); el < writeTimeout-50*time.Millisecond {
			t.Errorf("Write failed after %v, before WriteTimeout (%v): %v", el, writeTimeout, err)
		}
	case <-time.After(ioTimeout):
		t.Fatalf("the handler's Write still blocks %v after the request, WriteTimeout is %v", ioTimeout, writeTimeout)
	}
	for {
		f, err := c.readFrame()
		if err != nil {
			if isTimeout(err) {
				t.Fatal("the client was not told: no RST_STREAM, connection open")
			}
			return // connection ended
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				return
			}
		case *http2.GoAwayFrame:
			return
		}
	}
}
