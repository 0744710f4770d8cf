package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"golang.org/x/time/rate"
)

// Sizes and bounds of a connection.
const (
	// connRecvWindow and streamRecvWindow are what a client may send
	// before the server's handlers read it: they bound the request body
	// bytes buffered per connection and per stream.
	connRecvWindow   = 1 << 20
	streamRecvWindow = 256 << 10
	// maxReadFrame is the largest frame accepted (the protocol's initial
	// SETTINGS_MAX_FRAME_SIZE, which the server does not raise).
	maxReadFrame = 16 << 10
	// maxQueuedControl bounds the control frames and response heads queued
	// for the socket: a client that sends SETTINGS or PING frames, or opens
	// streams, without reading the answers loses the connection instead of
	// growing the queue.
	maxQueuedControl = 1 << 20
	// maxHandlerPending is how much of a handler's response waits for the
	// socket before its Write waits.
	maxHandlerPending = 64 << 10
	// connBufferFactor times Server.MaxStreamBuffer is what the detached
	// streams of one connection may queue together: a client that opens
	// many streams and reads none does not get a buffer for each.
	connBufferFactor = 4
	// sendHeadAt is how much body a handler may write before its response
	// head goes out without a Flush (until then a short response gets a
	// Content-Length).
	sendHeadAt = 4 << 10
	// prefaceTimeout bounds the wait for the client's connection preface
	// when the http.Server sets no ReadHeaderTimeout.
	prefaceTimeout = 10 * time.Second
	// maxQueuedFactor times MaxConcurrentStreams requests may wait for a
	// handler while handlers of streams the client reset still run.
	maxQueuedFactor = 4
	// answerRate and answerBurst bound the frames a client sends that the
	// server must answer without a stream's work to show for it (PING and
	// SETTINGS, which are acknowledged, and frames on closed streams,
	// which are reset): a client that sends them faster, whether or not it
	// reads the answers, loses the connection. Browsers send a few a
	// minute.
	answerRate  = 100
	answerBurst = 1000
	// closedRemembered is how many recently closed streams a connection
	// remembers, to tell a frame on a closed stream (STREAM_CLOSED) from
	// one on a stream the client skipped (PROTOCOL_ERROR).
	closedRemembered = 32
)

// Error codes, as the protocol defines them.
const (
	errCodeNo             = http2.ErrCodeNo
	errCodeProtocol       = http2.ErrCodeProtocol
	errCodeInternal       = http2.ErrCodeInternal
	errCodeFlowControl    = http2.ErrCodeFlowControl
	errCodeStreamClosed   = http2.ErrCodeStreamClosed
	errCodeFrameSize      = http2.ErrCodeFrameSize
	errCodeRefusedStream  = http2.ErrCodeRefusedStream
	errCodeCancel         = http2.ErrCodeCancel
	errCodeEnhanceYourCal = http2.ErrCodeEnhanceYourCalm
)

// conn is one HTTP/2 connection. Its goroutine (net/http's, in ServeConn)
// reads frames; a writer goroutine of its own, started by kick while there
// is something to write, writes to the socket; every other goroutine
// (handlers, detached streams' writers) queues frames under mu and kicks
// the writer.
type conn struct {
	hs       *http.Server
	nc       *tls.Conn
	handler  http.Handler
	baseCtx  context.Context
	tlsState *tls.ConnectionState // shared by the connection's requests, as net/http's
	remote   string
	log      *slog.Logger
	fr       *http2.Framer // reading only; the read goroutine's

	maxStreams   uint32
	writeTimeout time.Duration
	idleTimeout  time.Duration
	maxBuffer    int

	mu   sync.Mutex
	cond sync.Cond // on mu: handler writes and body reads wait here

	streams    map[uint32]*stream
	lastStream uint32 // the highest stream id the client opened
	clientOpen int    // streams open in the client's view
	handlers   int    // handler goroutines running
	queued     []queuedRequest

	ctrl     []byte // frames for the socket ahead of any data
	ready    []*stream
	buffered int // the detached streams' pending bytes, together
	henc     *hpack.Encoder
	hbuf     bytes.Buffer

	sendWindow    int64 // the client's connection window
	initialWindow int64 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	maxSendFrame  int   // the client's SETTINGS_MAX_FRAME_SIZE
	recvWindow    int64 // what the client may still send on the connection
	recvCredit    int64 // read from bodies, not yet given back

	closedIDs  [closedRemembered]uint32 // the last streams closed, a ring
	closedNext int
	answers    *rate.Limiter

	goingAway  bool   // a GOAWAY is queued: no new streams
	goAwayLast uint32 // the last stream id it admits
	closeAfter bool   // close once the queue is written (and, if drain, the streams ended)
	drain      bool
	dead       bool // closed or closing: nothing more is written
	idle       *time.Timer

	// A writer goroutine runs only while there is something to write:
	// writing says one runs, again that it should look once more before
	// it ends, flushed closes when a writer has ended the writing side.
	writing atomic.Bool
	again   atomic.Bool
	writers sync.WaitGroup
	flushed chan struct{}
	startMu sync.Mutex // orders writer starts before finish's wait (taken after mu, never before)
	stopped bool       // under startMu: no writer starts any more
}

type queuedRequest struct {
	st  *stream
	req *http.Request
	rw  *responseWriter
}

func newConn(s *Server, hs *http.Server, nc *tls.Conn, h http.Handler, ctx context.Context) *conn {
	c := &conn{
		hs:            hs,
		nc:            nc,
		handler:       h,
		baseCtx:       ctx,
		remote:        nc.RemoteAddr().String(),
		log:           s.logger(),
		maxStreams:    s.maxStreams(),
		writeTimeout:  s.writeTimeout(),
		idleTimeout:   s.idleTimeout(hs),
		maxBuffer:     s.maxStreamBuffer(),
		streams:       make(map[uint32]*stream),
		sendWindow:    65535,
		initialWindow: 65535,
		maxSendFrame:  16384,
		recvWindow:    connRecvWindow,
		answers:       rate.NewLimiter(answerRate, answerBurst),
		flushed:       make(chan struct{}),
	}
	state := nc.ConnectionState()
	c.tlsState = &state
	c.cond.L = &c.mu
	c.henc = hpack.NewEncoder(&c.hbuf)
	c.fr = http2.NewFramer(nil, nc)
	c.fr.SetMaxReadFrameSize(maxReadFrame)
	c.fr.SetReuseFrames()
	c.fr.MaxHeaderListSize = s.maxHeaderList(hs)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	return c
}

// serve reads and handles frames until the connection ends.
func (c *conn) serve() {
	defer c.finish()
	if err := c.readPreface(); err != nil {
		c.log.Debug("http2: bad connection preface", "remote", c.remote, "err", err)
		return
	}
	c.mu.Lock()
	c.ctrl = appendSettings(c.ctrl,
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.maxStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamRecvWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.fr.MaxHeaderListSize},
	)
	c.ctrl = appendWindowUpdate(c.ctrl, 0, connRecvWindow-65535)
	c.armIdleLocked()
	c.mu.Unlock()
	c.kick()

	first := true
	for {
		fh, err := c.fr.ReadFrameHeader()
		var f http2.Frame
		if err == nil {
			if first && fh.Type != http2.FrameSettings {
				err = http2.ConnectionError(errCodeProtocol)
			} else {
				f, err = c.fr.ReadFrameForHeader(fh)
			}
		}
		first = false
		if err != nil {
			if !c.handleReadError(fh, err) {
				return
			}
			continue
		}
		if err := c.process(f); err != nil && !c.handleError(err) {
			return
		}
	}
}

// readPreface reads the client's connection preface within the time the
// http.Server gives a request's header.
func (c *conn) readPreface() error {
	d := c.hs.ReadHeaderTimeout
	if d <= 0 {
		d = c.hs.ReadTimeout
	}
	if d <= 0 {
		d = prefaceTimeout
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.nc, buf); err != nil {
		return err
	}
	if string(buf) != http2.ClientPreface {
		return errors.New("not the HTTP/2 connection preface")
	}
	return c.nc.SetReadDeadline(time.Time{})
}

// handleReadError answers an error of reading a frame. It reports whether
// the connection goes on.
func (c *conn) handleReadError(fh http2.FrameHeader, err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) && fh.Type == http2.FrameHeaders && se.Cause == nil {
		// The header block was not decoded (a bad padding, say): the
		// connection's HPACK state is lost with it.
		c.connError(errCodeProtocol, err)
		return false
	}
	return c.handleError(err)
}

// handleError answers an error of reading or handling a frame. It reports
// whether the connection goes on.
func (c *conn) handleError(err error) bool {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		c.streamError(se.StreamID, se.Code)
		return true
	case errors.As(err, &ce):
		c.connError(http2.ErrCode(ce), err)
		return false
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.connError(errCodeFrameSize, err)
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return false
	}
	c.connError(errCodeProtocol, err) // a frame that does not parse
	return false
}

// connError ends the connection with a GOAWAY carrying code.
func (c *conn) connError(code http2.ErrCode, err error) {
	if code != errCodeNo {
		c.log.Debug("http2: connection error", "remote", c.remote, "code", code, "err", err, "detail", c.fr.ErrorDetail())
	}
	c.goAway(code, true)
}

// goAway queues a GOAWAY with code. With now, the connection closes as
// soon as it is written; otherwise (a graceful shutdown) once its streams
// have ended.
func (c *conn) goAway(code http2.ErrCode, now bool) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	if !c.goingAway || code != errCodeNo {
		c.goingAway = true
		c.goAwayLast = c.lastStream
		c.ctrl = appendGoAway(c.ctrl, c.lastStream, code)
	}
	if now {
		c.drain = false
	} else if !c.closeAfter {
		c.drain = true
	}
	c.closeAfter = true
	c.mu.Unlock()
	c.kick()
}

// finish ends the connection once reading has stopped: a GOAWAY queued
// for a connection error goes out first (within the write timeout), then
// every stream ends and the writer stops.
func (c *conn) finish() {
	c.mu.Lock()
	flush := c.closeAfter && !c.drain && !c.dead
	c.mu.Unlock()
	if flush {
		c.kick()
		select {
		case <-c.flushed:
		case <-time.After(c.writeTimeout):
		}
		// Let the client read the GOAWAY before the connection closes
		// under it: read what it still sends, briefly.
		_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(c.nc, 1<<20))
	}
	c.kill()
	c.startMu.Lock()
	c.stopped = true
	c.startMu.Unlock()
	c.writers.Wait()
}

// kill closes the connection at once and ends every stream on it.
func (c *conn) kill() {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	if c.idle != nil {
		c.idle.Stop()
	}
	var closed []func()
	for _, st := range c.streams {
		if fn := c.abortLocked(st); fn != nil {
			closed = append(closed, fn)
		}
	}
	c.queued = nil
	c.ready = nil
	c.cond.Broadcast()
	c.mu.Unlock()
	c.kick()
	_ = c.nc.NetConn().Close()
	for _, fn := range closed {
		fn()
	}
}

// kick makes sure a writer looks at what is queued: it starts one, or
// has the one running look once more before it ends. It may be called
// with or without mu held.
func (c *conn) kick() {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	switch {
	case c.stopped:
	case c.writing.CompareAndSwap(false, true):
		c.writers.Add(1)
		go c.writeLoop()
	default:
		c.again.Store(true)
	}
}

// process handles one frame.
func (c *conn) process(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.processHeaders(f)
	case *http2.DataFrame:
		return c.processData(f)
	case *http2.SettingsFrame:
		return c.processSettings(f)
	case *http2.WindowUpdateFrame:
		return c.processWindowUpdate(f)
	case *http2.PingFrame:
		if f.StreamID != 0 {
			return http2.ConnectionError(errCodeProtocol)
		}
		if !f.IsAck() {
			if !c.answers.Allow() {
				return http2.ConnectionError(errCodeEnhanceYourCal)
			}
			return c.queueControl(appendPing(nil, true, f.Data))
		}
	case *http2.RSTStreamFrame:
		return c.processReset(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: errCodeProtocol}
		}
	case *http2.GoAwayFrame:
		if f.StreamID != 0 {
			return http2.ConnectionError(errCodeProtocol)
		}
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(errCodeProtocol) // clients do not push
	case *http2.HeadersFrame:
		// Only without ReadMetaHeaders; never here.
		return http2.ConnectionError(errCodeInternal)
	}
	return nil // unknown frame types are ignored
}

// queueControl queues a control frame, unless the queue is at its bound:
// then the client, which is not reading, loses the connection.
func (c *conn) queueControl(frame []byte) error {
	c.mu.Lock()
	if len(c.ctrl)+len(frame) > maxQueuedControl {
		c.mu.Unlock()
		return http2.ConnectionError(errCodeEnhanceYourCal)
	}
	c.ctrl = append(c.ctrl, frame...)
	c.mu.Unlock()
	c.kick()
	return nil
}

func (c *conn) processSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if !c.answers.Allow() {
		return http2.ConnectionError(errCodeEnhanceYourCal)
	}
	c.mu.Lock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.initialWindow
			c.initialWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > maxWindow {
					return http2.ConnectionError(errCodeFlowControl)
				}
				if delta > 0 && st.sendWindow > 0 {
					c.readyLocked(st)
				}
			}
		case http2.SettingMaxFrameSize:
			c.maxSendFrame = int(s.Val)
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	c.cond.Broadcast()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.queueControl(appendSettingsAck(nil))
}

// maxWindow is the largest flow-control window the protocol allows.
const maxWindow = 1<<31 - 1

func (c *conn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.sendWindow += inc
		if c.sendWindow > maxWindow {
			return http2.ConnectionError(errCodeFlowControl)
		}
		c.cond.Broadcast()
		c.kick()
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.lastStream {
			return http2.ConnectionError(errCodeProtocol) // an idle stream
		}
		return nil // a closed stream: allowed for a while
	}
	st.sendWindow += inc
	if st.sendWindow > maxWindow {
		return http2.StreamError{StreamID: f.StreamID, Code: errCodeFlowControl}
	}
	c.readyLocked(st)
	c.cond.Broadcast()
	c.kick()
	return nil
}

func (c *conn) processReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	st := c.streams[f.StreamID]
	if st == nil {
		last := c.lastStream
		c.mu.Unlock()
		if f.StreamID > last {
			return http2.ConnectionError(errCodeProtocol) // an idle stream
		}
		return nil
	}
	st.peerReset = true
	fn := c.resetLocked(st, 0, false)
	c.mu.Unlock()
	if fn != nil {
		fn()
	}
	return nil
}

// streamError resets stream id with code, if it is not closed already.
func (c *conn) streamError(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	if id > c.lastStream && id%2 == 1 {
		c.lastStream = id // a stream refused as it opened
	}
	st := c.streams[id]
	var fn func()
	if st != nil && !st.reset {
		fn = c.resetLocked(st, code, true)
	} else if len(c.ctrl) <= maxQueuedControl {
		c.ctrl = appendRSTStream(c.ctrl, id, code)
	}
	c.mu.Unlock()
	c.kick()
	if fn != nil {
		fn()
	}
}

// resetByServer marks an id in closedIDs whose stream the server reset.
const resetByServer = 1 << 31

// rememberClosedLocked notes that st closed.
func (c *conn) rememberClosedLocked(st *stream) {
	id := st.id
	if st.reset && !st.peerReset {
		id |= resetByServer
	}
	c.closedIDs[c.closedNext] = id
	c.closedNext = (c.closedNext + 1) % closedRemembered
}

// recentlyClosedLocked reports whether stream id is one of the last that
// closed, and whether the server reset it (frames the client sent before
// it learnt that are ignored).
func (c *conn) recentlyClosedLocked(id uint32) (closed, byServer bool) {
	for _, v := range c.closedIDs {
		if v&^resetByServer == id && v != 0 {
			return true, v&resetByServer != 0
		}
	}
	return false, false
}

// armIdleLocked starts the idle timer when no stream is open.
func (c *conn) armIdleLocked() {
	if c.idleTimeout <= 0 || c.dead || c.clientOpen > 0 || c.handlers > 0 {
		return
	}
	if c.idle == nil {
		c.idle = time.AfterFunc(c.idleTimeout, c.idleFired)
		return
	}
	c.idle.Reset(c.idleTimeout)
}

func (c *conn) idleFired() {
	c.mu.Lock()
	idle := c.clientOpen == 0 && c.handlers == 0
	c.mu.Unlock()
	if idle {
		c.goAway(errCodeNo, false)
	}
}
