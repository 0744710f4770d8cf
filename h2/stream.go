package h2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// stream is one HTTP/2 stream. The connection's mu guards every field but
// c and id. A detached stream keeps nothing else of its request: this is
// what an idle event stream costs.
type stream struct {
	c  *conn
	id uint32

	sendWindow int64
	recvWindow int64 // what the client may still send on the stream
	recvCredit int64 // read from the body, not yet given back

	pending  []byte // response body bytes waiting for the socket
	trailers []hpack.HeaderField

	body    *requestBody    // while the request's body is being received
	rw      *responseWriter // while the handler runs
	cancel  context.CancelFunc
	onClose func() // a detached stream's: the client or the connection ended it

	closeTimer *time.Timer // a closed detached stream's, while its queue drains

	recvDone    bool // the client ended its side (END_STREAM)
	sendDone    bool // the server ended its side (END_STREAM sent)
	endQueued   bool // END_STREAM (or trailers) goes out after pending
	headSent    bool // the response's HEADERS are queued
	reset       bool // RST_STREAM sent or received
	peerReset   bool // received: frames after it are the client's error
	closed      bool // closed in the client's view (counted out of clientOpen)
	inReady     bool // in conn.ready
	detached    bool
	rstAfterEnd bool // the client still sends: reset with NO_ERROR after the end
}

var (
	errStreamClosed = errors.New("h2: the stream is closed")
	errClientReset  = errors.New("h2: the client reset the stream")
	errConnClosed   = errors.New("h2: the connection is closed")
	errBufferFull   = fmt.Errorf("h2: the client does not take the stream's data: its buffer is full (%w)", os.ErrDeadlineExceeded)
	errDetached     = errors.New("h2: the response was detached from its handler")
)

// processHeaders opens a stream with a request, or takes a request's
// trailers.
func (c *conn) processHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(errCodeProtocol)
	}
	c.mu.Lock()
	if f.HasPriority() && f.Priority.StreamDep == id {
		c.lastStream = max(c.lastStream, id)
		c.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: errCodeProtocol}
	}
	if st := c.streams[id]; st != nil {
		c.mu.Unlock()
		return c.processTrailers(st, f)
	}
	if id <= c.lastStream {
		closed, byServer := c.recentlyClosedLocked(id)
		c.mu.Unlock()
		switch {
		case byServer:
			return nil // trailers sent before the client learnt of the reset
		case closed:
			return http2.ConnectionError(errCodeStreamClosed) // frames after its end
		}
		// A stream skipped, or one closed long ago: opening streams out
		// of order.
		return http2.ConnectionError(errCodeProtocol)
	}
	c.lastStream = id
	if c.goingAway && id > c.goAwayLast {
		c.mu.Unlock()
		return nil // after a GOAWAY: ignored, as the protocol says
	}
	if c.dead {
		c.mu.Unlock()
		return nil
	}
	if uint32(c.clientOpen) >= c.maxStreams {
		c.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: errCodeRefusedStream}
	}
	c.mu.Unlock()

	if f.Truncated {
		// The header list is over MaxHeaderListSize: 431, no handler.
		c.mu.Lock()
		if len(c.ctrl) > maxQueuedControl {
			c.mu.Unlock()
			return http2.ConnectionError(errCodeEnhanceYourCal)
		}
		block := c.encodeHeadLocked(http.StatusRequestHeaderFieldsTooLarge, nil, 0)
		c.ctrl = appendHeaders(c.ctrl, id, block, true, c.maxSendFrame)
		if !f.StreamEnded() {
			c.ctrl = appendRSTStream(c.ctrl, id, errCodeNo)
		}
		c.mu.Unlock()
		c.kick()
		return nil
	}
	st := &stream{c: c, id: id, recvWindow: streamRecvWindow, recvDone: f.StreamEnded()}
	req, err := c.newRequest(st, f)
	if err != nil {
		return err
	}
	rw := &responseWriter{st: st, c: c, req: req, header: make(http.Header), declared: -1}
	if d := c.hs.WriteTimeout; d > 0 {
		rw.deadline = time.Now().Add(d) // as net/http bounds writing a response
	}

	if d := c.hs.ReadTimeout; d > 0 && st.body != nil {
		// As net/http bounds reading a request, body included.
		st.body.timer = time.AfterFunc(d, func() { c.readTimedOut(st) })
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st.sendWindow = c.initialWindow
	st.rw = rw
	c.streams[id] = st
	c.clientOpen++
	if c.idle != nil {
		c.idle.Stop()
	}
	if uint32(c.handlers) >= c.maxStreams {
		// Handlers of streams the client reset still run: wait for one.
		if len(c.queued) >= maxQueuedFactor*int(c.maxStreams) {
			return http2.ConnectionError(errCodeEnhanceYourCal)
		}
		c.queued = append(c.queued, queuedRequest{st, req, rw})
		return nil
	}
	c.startLocked(st, req, rw)
	return nil
}

// processTrailers takes the trailers of a request whose body is arriving.
func (c *conn) processTrailers(st *stream, f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.recvDone || st.reset {
		return http2.StreamError{StreamID: st.id, Code: errCodeStreamClosed}
	}
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
		return http2.StreamError{StreamID: st.id, Code: errCodeProtocol}
	}
	if b := st.body; b != nil {
		if b.declared >= 0 && b.declared != b.got {
			return http2.StreamError{StreamID: st.id, Code: errCodeProtocol}
		}
		for _, hf := range f.RegularFields() {
			key := http.CanonicalHeaderKey(hf.Name)
			if _, ok := b.trailer[key]; ok {
				b.trailer[key] = append(b.trailer[key], hf.Value)
			}
		}
	}
	c.endReceiveLocked(st)
	return nil
}

// newRequest builds the request a HEADERS frame opens, or the stream error
// that refuses it as malformed.
func (c *conn) newRequest(st *stream, f *http2.MetaHeadersFrame) (*http.Request, error) {
	malformed := http2.StreamError{StreamID: st.id, Code: errCodeProtocol}
	method, path := f.PseudoValue("method"), f.PseudoValue("path")
	scheme, authority := f.PseudoValue("scheme"), f.PseudoValue("authority")
	if f.PseudoValue("protocol") != "" {
		return nil, malformed // extended CONNECT is not offered
	}
	connect := method == http.MethodConnect
	if connect {
		if path != "" || scheme != "" || authority == "" {
			return nil, malformed
		}
	} else if method == "" || path == "" || scheme == "" {
		return nil, malformed
	}
	regular := f.RegularFields()
	header := make(http.Header, len(regular))
	for _, hf := range regular {
		switch hf.Name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return nil, malformed
		case "te":
			if hf.Value != "trailers" {
				return nil, malformed
			}
		}
		key := http.CanonicalHeaderKey(hf.Name)
		header[key] = append(header[key], hf.Value)
	}
	if cookies := header["Cookie"]; len(cookies) > 1 {
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	if authority == "" {
		authority = header.Get("Host")
	}
	declared := int64(-1)
	if vals := header["Content-Length"]; len(vals) > 0 {
		n, err := strconv.ParseUint(vals[0], 10, 63)
		if err != nil || len(vals) > 1 && !allEqual(vals) {
			return nil, malformed
		}
		declared = int64(n)
	}
	var u *url.URL
	switch {
	case connect:
		u, path = &url.URL{Host: authority}, authority
	case method == http.MethodOptions && path == "*":
		u = &url.URL{Path: "*"}
	default:
		var err error
		if u, err = url.ParseRequestURI(path); err != nil {
			return nil, malformed
		}
	}
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     header,
		Host:       authority,
		RemoteAddr: c.remote,
		RequestURI: path,
		TLS:        c.tlsState,
		Body:       http.NoBody,
	}
	if st.recvDone {
		if declared > 0 {
			return nil, malformed // a length, and no body
		}
		req.ContentLength = 0
	} else {
		b := &requestBody{st: st, declared: declared}
		b.continueNeeded = strings.EqualFold(header.Get("Expect"), "100-continue")
		if names := header["Trailer"]; len(names) > 0 {
			b.trailer = make(http.Header)
			for _, v := range names {
				for name := range strings.SplitSeq(v, ",") {
					if name = http.CanonicalHeaderKey(strings.TrimSpace(name)); name != "" && allowedTrailer(name) {
						b.trailer[name] = nil
					}
				}
			}
			req.Trailer = b.trailer
		}
		st.body = b
		req.Body = b
		req.ContentLength = declared
	}
	ctx, cancel := context.WithCancel(c.baseCtx)
	st.cancel = cancel
	return req.WithContext(ctx), nil
}

func allEqual(vals []string) bool {
	for _, v := range vals[1:] {
		if v != vals[0] {
			return false
		}
	}
	return true
}

// allowedTrailer reports whether a request may declare name as a trailer.
func allowedTrailer(name string) bool {
	switch name {
	case "Transfer-Encoding", "Trailer", "Content-Length", "Host", "Authorization",
		"Content-Type", "Content-Encoding", "Content-Range", "Cache-Control", "Expect",
		"Max-Forwards", "Pragma", "Range", "Te":
		return false
	}
	return true
}

// processData takes a frame of a request body.
func (c *conn) processData(f *http2.DataFrame) error {
	id, n := f.StreamID, int64(f.Length)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.recvWindow {
		return http2.ConnectionError(errCodeFlowControl)
	}
	c.recvWindow -= n
	st := c.streams[id]
	if st == nil || st.recvDone || st.reset || st.body == nil {
		// The bytes are not kept: the connection's window gets them back.
		c.creditLocked(nil, n)
		if id > c.lastStream {
			return http2.ConnectionError(errCodeProtocol) // an idle stream
		}
		if st != nil && st.reset && !st.peerReset {
			return nil // reset by the server: frames in flight are ignored
		}
		if _, byServer := c.recentlyClosedLocked(id); st == nil && byServer {
			return nil
		}
		if !c.answers.Allow() {
			return http2.ConnectionError(errCodeEnhanceYourCal)
		}
		return http2.StreamError{StreamID: id, Code: errCodeStreamClosed}
	}
	if n > st.recvWindow {
		c.creditLocked(nil, n)
		return http2.StreamError{StreamID: id, Code: errCodeFlowControl}
	}
	st.recvWindow -= n
	b := st.body
	data := f.Data()
	if pad := n - int64(len(data)); pad > 0 {
		c.creditLocked(st, pad) // padding is counted, never read
	}
	b.got += int64(len(data))
	if b.declared >= 0 && b.got > b.declared {
		return http2.StreamError{StreamID: id, Code: errCodeProtocol}
	}
	if len(data) > 0 {
		if b.closed {
			c.creditLocked(st, int64(len(data)))
		} else {
			b.buf = append(b.buf, data...)
		}
	}
	if f.StreamEnded() {
		if b.declared >= 0 && b.declared != b.got {
			return http2.StreamError{StreamID: id, Code: errCodeProtocol}
		}
		c.endReceiveLocked(st)
	}
	c.cond.Broadcast()
	return nil
}

// readTimedOut resets st if its request body has not arrived within the
// http.Server's ReadTimeout.
func (c *conn) readTimedOut(st *stream) {
	c.mu.Lock()
	var fn func()
	if !st.recvDone && !st.reset {
		if b := st.body; b != nil && b.err == nil {
			b.err = os.ErrDeadlineExceeded
		}
		fn = c.resetLocked(st, errCodeCancel, true)
	}
	c.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// endReceiveLocked records the end of the client's side of st.
func (c *conn) endReceiveLocked(st *stream) {
	st.recvDone = true
	if b := st.body; b != nil {
		b.stopTimer()
		if b.err == nil {
			b.err = io.EOF
		}
	}
	c.cond.Broadcast()
	c.maybeCloseLocked(st)
}

// creditLocked gives n bytes read (or dropped) back to the client's
// windows, for the connection and, when st is given and still receiving,
// for st: a WINDOW_UPDATE once half a window has been used.
func (c *conn) creditLocked(st *stream, n int64) {
	if n <= 0 || c.dead {
		return
	}
	c.recvCredit += n
	if c.recvCredit >= connRecvWindow/2 {
		c.ctrl = appendWindowUpdate(c.ctrl, 0, uint32(c.recvCredit))
		c.recvWindow += c.recvCredit
		c.recvCredit = 0
		c.kick()
	}
	if st == nil || st.recvDone || st.reset {
		return
	}
	st.recvCredit += n
	if st.recvCredit >= streamRecvWindow/2 {
		c.ctrl = appendWindowUpdate(c.ctrl, st.id, uint32(st.recvCredit))
		st.recvWindow += st.recvCredit
		st.recvCredit = 0
		c.kick()
	}
}

// startLocked runs the handler of a request on a goroutine of its own.
func (c *conn) startLocked(st *stream, req *http.Request, rw *responseWriter) {
	c.handlers++
	go c.runHandler(st, req, rw)
}

func (c *conn) runHandler(st *stream, req *http.Request, rw *responseWriter) {
	ok := false
	defer func() {
		if !ok {
			p := recover()
			if p != http.ErrAbortHandler {
				c.log.Error("http2: panic serving "+c.remote, "panic", p, "stack", string(debug.Stack()))
			}
		}
		rw.finish(!ok)
	}()
	c.handler.ServeHTTP(rw, req)
	ok = true
}

// handlerDoneLocked counts a handler out and starts a queued one.
func (c *conn) handlerDoneLocked() {
	c.handlers--
	for len(c.queued) > 0 && uint32(c.handlers) < c.maxStreams {
		q := c.queued[0]
		c.queued[0] = queuedRequest{}
		c.queued = c.queued[1:]
		if q.st.reset {
			q.st.rw = nil
			q.st.cancel()
			c.maybeCloseLocked(q.st)
			continue
		}
		c.startLocked(q.st, q.req, q.rw)
	}
	if len(c.queued) == 0 {
		c.queued = nil
	}
	c.armIdleLocked()
}

// resetLocked resets st: with send, the server sends RST_STREAM with code;
// otherwise the client reset it. It returns the detached stream's close
// callback, to call once mu is released.
func (c *conn) resetLocked(st *stream, code http2.ErrCode, send bool) func() {
	if st.reset {
		return nil
	}
	if send && !st.sendDone {
		c.ctrl = appendRSTStream(c.ctrl, st.id, code)
		c.kick()
	}
	return c.abortLocked(st)
}

// abortLocked ends st at once, because it or its connection was reset:
// the handler's context is cancelled, its body and its writes fail. It
// returns the detached stream's close callback, if it has one.
func (c *conn) abortLocked(st *stream) func() {
	st.reset = true
	if st.closeTimer != nil {
		st.closeTimer.Stop()
	}
	if st.detached {
		c.buffered -= len(st.pending)
	}
	st.pending = nil
	st.trailers = nil
	if b := st.body; b != nil {
		b.stopTimer()
		if b.err == nil || b.err == io.EOF && len(b.buf) > 0 {
			b.err = errClientReset
		}
	}
	if st.cancel != nil {
		st.cancel() // the handler sees its context end; finish releases the rest
	}
	c.cond.Broadcast()
	fn := st.onClose
	st.onClose = nil
	c.maybeCloseLocked(st)
	return fn
}

// maybeCloseLocked counts st out of the client's open streams once it is
// closed (reset, or both sides ended), and forgets it once no handler
// runs for it either.
func (c *conn) maybeCloseLocked(st *stream) {
	if !st.closed && (st.reset || st.recvDone && st.sendDone) {
		st.closed = true
		c.clientOpen--
	}
	if st.closed && st.rw == nil {
		if c.streams[st.id] == st {
			delete(c.streams, st.id)
			c.rememberClosedLocked(st)
		}
		c.armIdleLocked()
		if c.closeAfter && c.drain {
			c.kick() // the writer closes the connection once it is drained
		}
	}
}
