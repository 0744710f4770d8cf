package h2

import (
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2/hpack"
)

// requestBody is a request's body as it arrives. The connection's mu
// guards it.
type requestBody struct {
	st             *stream
	buf            []byte
	err            error // io.EOF once the client ended the stream
	closed         bool  // the handler closed it, or returned
	declared, got  int64 // Content-Length (-1 without) and bytes received
	trailer        http.Header
	continueNeeded bool        // Expect: 100-continue, not answered yet
	timer          *time.Timer // resets the stream when the body takes too long
}

// stopTimer stops b's timer, if it has one.
func (b *requestBody) stopTimer() {
	if b.timer != nil {
		b.timer.Stop()
	}
}

// Read implements io.Reader, waiting for the client's data.
func (b *requestBody) Read(p []byte) (int, error) {
	c := b.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.continueNeeded {
		b.continueNeeded = false
		if !b.st.headSent && !b.st.reset && !c.dead {
			block := c.encodeHeadLocked(http.StatusContinue, nil, 0)
			c.ctrl = appendHeaders(c.ctrl, b.st.id, block, false, c.maxSendFrame)
			c.kick()
		}
	}
	for len(b.buf) == 0 && b.err == nil && !b.closed {
		if c.dead {
			return 0, errConnClosed
		}
		c.cond.Wait()
	}
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if len(b.buf) == 0 {
		return 0, b.err
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	if len(b.buf) == 0 {
		b.buf = nil
	}
	c.creditLocked(b.st, int64(n))
	return n, nil
}

// Close implements io.Closer: what is buffered is dropped, and what still
// arrives is dropped as it does.
func (b *requestBody) Close() error {
	c := b.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	b.closeLocked()
	return nil
}

func (b *requestBody) closeLocked() {
	if b.closed {
		return
	}
	b.closed = true
	b.st.c.creditLocked(b.st, int64(len(b.buf)))
	b.buf = nil
	b.st.c.cond.Broadcast()
}

// responseWriter is a handler's http.ResponseWriter. Besides
// http.ResponseWriter it implements http.Flusher, FlushError,
// SetWriteDeadline and EnableFullDuplex (for http.ResponseController) and
// Detach. Its methods are for the handler's goroutine; the connection's mu
// guards what the writer goroutine shares.
type responseWriter struct {
	st       *stream
	c        *conn
	req      *http.Request
	header   http.Header
	head     http.Header // the header as it was at WriteHeader
	status   int
	declared int64 // the Content-Length the handler set, -1 without
	written  int64
	trailers []string  // declared with the Trailer header
	deadline time.Time // the handler's write deadline, or the http.Server's WriteTimeout
	done     bool      // the handler returned
	detached bool
}

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter. Informational statuses
// (1xx but 101) are sent at once; a final one with the first write, Flush
// or the handler's return.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic("h2: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if w.status != 0 || w.done {
		return
	}
	if code < 200 {
		if code == http.StatusSwitchingProtocols {
			return
		}
		c := w.c
		c.mu.Lock()
		if !w.st.reset && !c.dead {
			block := c.encodeHeadLocked(code, w.header, -1)
			c.ctrl = appendHeaders(c.ctrl, w.st.id, block, false, c.maxSendFrame)
			c.kick()
		}
		c.mu.Unlock()
		return
	}
	w.status = code
	w.head = w.header.Clone()
	if cl := w.head.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.declared = n
		} else {
			w.head.Del("Content-Length")
		}
	}
	for _, v := range w.head["Trailer"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				w.trailers = append(w.trailers, http.CanonicalHeaderKey(name))
			}
		}
	}
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// Write implements http.ResponseWriter. It waits while the client's flow
// control and the socket hold more than a short queue of the response.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errStreamClosed
	}
	if w.detached {
		return 0, errDetached
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	if w.req.Method == http.MethodHead {
		w.written += int64(len(p))
		return len(p), nil
	}
	c, st := w.c, w.st
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(p) {
		if err := w.waitLocked(); err != nil {
			return n, err
		}
		chunk := p[n:]
		if len(chunk) > maxHandlerPending {
			chunk = chunk[:maxHandlerPending]
		}
		st.pending = append(st.pending, chunk...)
		n += len(chunk)
		w.written += int64(len(chunk))
		if len(st.pending) >= sendHeadAt {
			w.sendHeadLocked(false) // if it has not gone out
			c.readyLocked(st)
		}
	}
	return n, nil
}

// waitLocked waits until the stream's queue has room, and reports why it
// cannot be written to. It waits at most the server's WriteTimeout for the
// client to take some of the queue (its flow-control window may stay
// shut), and not past the handler's write deadline; then the stream is
// reset and the write fails with os.ErrDeadlineExceeded.
func (w *responseWriter) waitLocked() error {
	c, st := w.c, w.st
	limit := time.Now().Add(c.writeTimeout)
	if !w.deadline.IsZero() && w.deadline.Before(limit) {
		limit = w.deadline
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		switch {
		case c.dead:
			return errConnClosed
		case st.reset:
			return errClientReset
		case len(st.pending) < maxHandlerPending:
			return nil
		case !time.Now().Before(limit):
			// The response cannot be completed: the client is told. (A
			// handler's stream has no close callback to call.)
			c.resetLocked(st, errCodeCancel, true)
			return os.ErrDeadlineExceeded
		}
		if !st.headSent {
			w.sendHeadLocked(false)
		}
		c.readyLocked(st)
		if timer == nil {
			timer = time.AfterFunc(time.Until(limit), func() {
				c.mu.Lock()
				c.cond.Broadcast()
				c.mu.Unlock()
			})
		}
		c.cond.Wait()
	}
}

// sendHeadLocked queues the response's HEADERS (END_STREAM with end).
func (w *responseWriter) sendHeadLocked(end bool) {
	c, st := w.c, w.st
	if st.headSent || st.reset || c.dead {
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	h := w.head
	if _, ok := h["Content-Type"]; !ok && bodyAllowed(w.status) && len(st.pending) > 0 && h.Get("Content-Encoding") == "" {
		h.Set("Content-Type", http.DetectContentType(st.pending[:min(len(st.pending), 512)]))
	}
	// With end (the handler returned), the head was not sent before (no
	// Flush), so the whole body is known.
	length := int64(-1)
	if end && w.declared < 0 && bodyAllowed(w.status) && len(w.trailers) == 0 &&
		(w.written > 0 || w.req.Method != http.MethodHead) {
		length = w.written
	}
	endNow := end && len(st.pending) == 0 && len(w.trailers) == 0
	block := c.encodeHeadLocked(w.status, h, length)
	c.ctrl = appendHeaders(c.ctrl, st.id, block, endNow, c.maxSendFrame)
	st.headSent = true
	if endNow {
		st.sendDone = true
		c.afterEndLocked(st)
	}
	c.kick()
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError sends the response head and what was written so far, without
// waiting for the client to take it.
func (w *responseWriter) FlushError() error {
	if w.done || w.detached {
		return errStreamClosed
	}
	c, st := w.c, w.st
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return errConnClosed
	}
	if st.reset {
		return errClientReset
	}
	w.sendHeadLocked(false)
	c.readyLocked(st)
	return nil
}

// SetWriteDeadline sets when a Write waiting for the client gives up (the
// stream is then reset); the zero time means no deadline but the server's
// WriteTimeout. It is for http.ResponseController.
func (w *responseWriter) SetWriteDeadline(t time.Time) error {
	w.deadline = t
	c := w.c
	c.mu.Lock()
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

// EnableFullDuplex lets the handler read the body while writing the
// response, which HTTP/2 always allows.
func (w *responseWriter) EnableFullDuplex() error { return nil }

// Detach hands the response over to the caller, for a response that stays
// open after its handler returns (an event stream). It sends the response
// head if it has not gone out (status 200 unless WriteHeader set one),
// with what was written so far, and returns the stream as a net.Conn:
//
//   - Write never waits: it queues its bytes for the connection's writer
//     and fails when the stream has ended, or when bytes are still queued
//     and with p the stream would hold more than Server.MaxStreamBuffer
//     (or the connection's detached streams four times that) that the
//     client's flow control does not let out yet; a write to an empty
//     queue is always taken, whatever its size;
//   - Close ends the response after what is queued (END_STREAM), or
//     resets the stream if the client does not take that within
//     Server.WriteTimeout; a Write that fails because the buffer is full
//     resets the stream at once;
//   - Read returns an error at once; the deadlines are ignored.
//
// The handler must return soon after and not use w again. onClose, if not
// nil, is called once, on some goroutine, when the client resets the
// stream or the connection ends before Close; not after Close.
func (w *responseWriter) Detach(onClose func()) (net.Conn, error) {
	if w.done || w.detached {
		return nil, errStreamClosed
	}
	c, st := w.c, w.st
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, errConnClosed
	}
	if st.reset {
		return nil, errClientReset
	}
	w.sendHeadLocked(false)
	w.detached = true
	st.detached = true
	c.buffered += len(st.pending)
	st.onClose = onClose
	c.readyLocked(st)
	return (*detachedStream)(st), nil
}

// finish completes the response when the handler returns: the head if it
// has not gone out, what is queued, then the end of the stream, with the
// trailers. A handler that panicked gets its stream reset.
func (w *responseWriter) finish(panicked bool) {
	c, st := w.c, w.st
	if w.status == 0 && !panicked && !w.detached {
		w.WriteHeader(http.StatusOK) // before done, which WriteHeader refuses
	}
	c.mu.Lock()
	w.done = true
	var closed func()
	switch {
	case panicked:
		closed = c.resetLocked(st, errCodeInternal, true)
	case w.detached || st.reset || c.dead:
	default:
		if !st.headSent {
			w.sendHeadLocked(true)
		}
		if !st.sendDone {
			st.trailers = w.trailerFields()
			st.endQueued = true
			c.readyLocked(st)
		}
	}
	if b := st.body; b != nil {
		b.closeLocked()
		if !st.recvDone && !st.reset && !w.detached {
			st.rstAfterEnd = true // the response is complete; the rest of the body is not wanted
		}
		st.body = nil
	}
	st.cancel()
	st.cancel = nil
	st.rw = nil
	c.handlerDoneLocked()
	if st.sendDone {
		c.afterEndLocked(st) // the reset after the end, if due, then the close
	} else {
		c.maybeCloseLocked(st)
	}
	c.mu.Unlock()
	c.kick()
	if closed != nil {
		closed()
	}
}

// trailerFields returns the response's trailers: the declared ones and
// those named with http.TrailerPrefix.
func (w *responseWriter) trailerFields() []hpack.HeaderField {
	var fields []hpack.HeaderField
	add := func(name string, vals []string) {
		name = strings.ToLower(name)
		if !httpguts.ValidHeaderFieldName(name) {
			return
		}
		for _, v := range vals {
			if httpguts.ValidHeaderFieldValue(v) {
				fields = append(fields, hpack.HeaderField{Name: name, Value: v})
			}
		}
	}
	for _, k := range w.trailers {
		add(k, w.header[k])
	}
	for k, vals := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			add(name, vals)
		}
	}
	return fields
}

// detachedStream is a detached response, as Detach returns it.
type detachedStream stream

// Write queues p for the client without waiting (see Detach).
func (d *detachedStream) Write(p []byte) (int, error) {
	st := (*stream)(d)
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.dead:
		return 0, errConnClosed
	case st.reset:
		return 0, errClientReset
	case st.endQueued || st.sendDone:
		return 0, errStreamClosed
	case len(st.pending) > 0 && (len(st.pending)+len(p) > c.maxBuffer || c.buffered+len(p) > connBufferFactor*c.maxBuffer):
		// The client does not keep up: the stream ends here, its queue
		// with it. The caller learns it from the error, not from onClose.
		st.onClose = nil
		c.resetLocked(st, errCodeCancel, true)
		return 0, errBufferFull
	}
	st.pending = append(st.pending, p...)
	c.buffered += len(p)
	c.readyLocked(st)
	c.kick()
	return len(p), nil
}

// Close ends the response after what is queued (see Detach).
func (d *detachedStream) Close() error {
	st := (*stream)(d)
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || st.reset || st.endQueued || st.sendDone {
		return nil
	}
	st.onClose = nil
	st.endQueued = true
	if len(st.pending) > 0 {
		// What is queued goes out first, unless the client does not take
		// it within the write timeout: then the stream is reset.
		st.closeTimer = time.AfterFunc(c.writeTimeout, func() {
			c.mu.Lock()
			if !st.sendDone {
				c.resetLocked(st, errCodeCancel, true)
			}
			c.mu.Unlock()
		})
	}
	c.readyLocked(st)
	c.kick()
	return nil
}

var errNoRead = errors.New("h2: a detached response is not read")

// Read fails: a detached response is written only.
func (d *detachedStream) Read([]byte) (int, error) { return 0, errNoRead }

// LocalAddr returns the connection's local address.
func (d *detachedStream) LocalAddr() net.Addr { return d.c.nc.LocalAddr() }

// RemoteAddr returns the client's address.
func (d *detachedStream) RemoteAddr() net.Addr { return d.c.nc.RemoteAddr() }

// SetDeadline does nothing: writes never wait.
func (d *detachedStream) SetDeadline(time.Time) error { return nil }

// SetReadDeadline does nothing.
func (d *detachedStream) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline does nothing: writes never wait.
func (d *detachedStream) SetWriteDeadline(time.Time) error { return nil }
