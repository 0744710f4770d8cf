package sse

import (
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/valksor/go-sse/internal/wire"
)

// subscriber is one open stream. Frames for it wait in pending until a
// writer takes them: for a hijacked HTTP/1.1 connection one of the hub's
// writers (no goroutine while the stream is idle), otherwise the goroutine
// of the HTTP handler, woken through wake.
//
// Every open stream holds one, so it is kept small (240 bytes on 64-bit
// systems): what can be derived is not stored (the peer's address and
// what the disconnect hook is told come from the connection, unless a
// middleware changed the address; a handler's stream keeps info), the flags
// share a word, and the time it opened is an integer.
type subscriber struct {
	id      string
	topics  []string
	started int64       // when the stream opened, in Unix nanoseconds
	gen     uint32      // last fan-out generation queued; delivering goroutine only
	slot    int32       // place in the list of its first topic's streams (topicSubs); under the hub's lock
	opts    *streamOpts // set before the stream is registered, never changed; nil for none

	mu sync.Mutex
	// The flags: the first two are set before the stream is registered and
	// read without mu.
	bare     bool // StreamRequest.Bare: published events and comment heartbeats only
	asReload bool // StreamRequest.CSSAsReload (never with bare): css-update goes out as reload
	active   bool // conn mode: a writer owns the stream
	closing  bool // conn mode: write what is pending, then the retry hint if retry, then close
	retry    bool // conn mode, closing: end with the shutdown retry hint (shutdownTail)
	closed   bool
	// tokenExpiry, set before the stream is registered: its lifetime ends
	// when its credentials expire (errTokenExpired), not at the stream
	// timeout.
	tokenExpiry bool

	pending []*frame
	spare   []*frame // the other half of a double buffer, reused
	last    Cursor   // frames at or before this were sent in the replay

	// Exactly one of conn (hijacked) and side.wake (handler-owned) is set.
	conn     net.Conn
	raw      syscall.RawConn // conn's file descriptor, for writes that never block
	lifeIdx  int32           // 1 + index in the hub's lifetimes heap, 0 without a deadline; guarded by lifetimes.mu
	watchKey uint32          // conn mode: key in the close watcher, 0 if none
	side     *streamSide     // guarded by mu; nil until needed (see streamSide)
}

// streamOpts is what a stream was opened with that most streams do not
// have; a subscriber points to it only when one of them is set, so that a
// plain stream does not carry the empty fields.
type streamOpts struct {
	grant    *Grant                            // what an Authorizer allowed; nil without one
	match    func(topic string) bool           // pattern subscriptions; nil for exact topics only
	closedFn func(connID string, reason error) // StreamRequest.Closed and the observer's
}

// newStreamOpts returns the options of a stream, nil when it has none.
func newStreamOpts(grant *Grant, match func(string) bool, closedFn func(string, error)) *streamOpts {
	if grant == nil && match == nil && closedFn == nil {
		return nil
	}
	return &streamOpts{grant: grant, match: match, closedFn: closedFn}
}

// streamSide is the part of a subscriber that a hijacked stream needs
// rarely or only at its end: allocated before registration for a stream
// served from its handler (which has wake and info from the start), and
// for a hijacked one only when it ends (reason) or a middleware changed
// its peer's address (info). Once set, s.side is never replaced, so the
// handler's goroutine may read its wake channel without mu.
type streamSide struct {
	wake   chan struct{} // handler mode: frames are pending, or the stream was ended
	info   *ConnInfo     // handler mode: always; conn mode: only when a middleware changed the peer's address
	reason error         // why the stream ended or is closing
}

// sideLocked returns s.side, allocating it first if needed. s.mu is held.
func (s *subscriber) sideLocked() *streamSide {
	if s.side == nil {
		s.side = &streamSide{}
	}
	return s.side
}

// reasonLocked returns why s ended or is closing, nil if it was not said.
// s.mu is held, or s ended (then nothing changes it any more).
func (s *subscriber) reasonLocked() error {
	if s.side == nil {
		return nil
	}
	return s.side.reason
}

// wakeLocked returns the handler's wake channel, nil in conn mode. s.mu is
// held.
func (s *subscriber) wakeLocked() chan struct{} {
	if s.side == nil {
		return nil
	}
	return s.side.wake
}

// grant returns what an Authorizer allowed the stream to see, nil without
// one.
func (s *subscriber) grant() *Grant {
	if s.opts == nil {
		return nil
	}
	return s.opts.grant
}

// remoteAddr returns the peer's address as net/http reported it.
func (s *subscriber) remoteAddr() string {
	s.mu.Lock()
	conn := s.conn
	var info *ConnInfo
	if s.side != nil {
		info = s.side.info
	}
	s.mu.Unlock()
	switch {
	case info != nil:
		return info.RemoteAddr
	case conn != nil:
		if a := conn.RemoteAddr(); a != nil {
			return a.String()
		}
	}
	return ""
}

// since returns when s opened.
func (s *subscriber) since() time.Time { return time.Unix(0, s.started) }

// shutdownTail is what s is sent before it is closed at shutdown: the
// retry hint, or nothing for a bare stream.
func (s *subscriber) shutdownTail() []byte {
	if s.bare {
		return nil
	}
	return wire.AppendRetry(nil, ShutdownRetry)
}

// wants reports whether s listens to one of topics.
func (s *subscriber) wants(topics []string) bool {
	if matches(s.topics, topics) {
		return true
	}
	if s.opts != nil && s.opts.match != nil {
		for _, t := range topics {
			if s.opts.match(t) {
				return true
			}
		}
	}
	return false
}

// matches reports whether a message for topics reaches a stream listening to
// subscribed.
func matches(subscribed, topics []string) bool {
	for _, t := range topics {
		if slices.Contains(subscribed, t) {
			return true
		}
	}
	return false
}

// enqueue queues f for s without blocking. A full queue ends the stream as a
// slow consumer. It reports whether f was queued.
func (h *Hub) enqueue(s *subscriber, f *frame) bool {
	s.mu.Lock()
	if s.closed || s.closing {
		s.mu.Unlock()
		return false
	}
	if len(s.pending) >= h.opts.queueSize {
		s.mu.Unlock()
		h.end(s, errSlowConsumer)
		return false
	}
	s.pending = append(s.pending, f)
	schedule := s.conn != nil && !s.active
	if schedule {
		s.active = true
	}
	wake := s.wakeLocked()
	s.mu.Unlock()
	if schedule {
		h.schedule(s)
	} else if wake != nil {
		notify(wake)
	}
	return true
}

// notify wakes the handler waiting on wake, unless it is awake already.
func notify(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// take removes and returns the pending frames (handler mode).
func (s *subscriber) take() []*frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.pending
	s.pending, s.spare = s.spare[:0], nil
	return batch
}

// giveBack returns a drained batch for reuse.
func (s *subscriber) giveBack(batch []*frame) {
	clear(batch)
	s.mu.Lock()
	if s.spare == nil {
		s.spare = batch[:0]
	}
	s.mu.Unlock()
}

// shared returns the bytes to write for batch when it is a single frame s
// has not seen: the frame's own bytes, shared by every stream, with no
// copy. Otherwise it returns nil, and appendFrames builds them.
func (s *subscriber) shared(batch []*frame) []byte {
	if len(batch) == 1 && (batch[0].cursor.IsZero() || s.last.Compare(batch[0].cursor) < 0) {
		return batch[0].b
	}
	return nil
}

// appendFrames appends the frames of batch that s has not seen yet.
func (s *subscriber) appendFrames(buf []byte, batch []*frame) []byte {
	for _, f := range batch {
		if f.cursor.IsZero() || s.last.Compare(f.cursor) < 0 {
			buf = append(buf, f.b...)
		}
	}
	return buf
}

// end closes s at once for reason. It is safe to call more than once and
// from any goroutine; only the first call counts.
func (h *Hub) end(s *subscriber, reason error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	if s.reasonLocked() == nil && reason != nil {
		s.sideLocked().reason = reason
	}
	conn, wake := s.conn, s.wakeLocked()
	s.mu.Unlock()
	if errors.Is(reason, errSlowConsumer) {
		h.slow.Add(1)
	}
	if wake != nil {
		notify(wake) // the handler finds s closed
	}
	if conn != nil {
		// end may run under the hub's lock (from a fan-out); releasing the
		// stream takes that lock, so it happens on its own goroutine.
		go h.dispose(s, conn)
	}
}

// dispose lets go of a stream the hub's writers owned, once it has ended:
// its lifetime and close watch, its connection, and its registration.
func (h *Hub) dispose(s *subscriber, conn net.Conn) {
	h.lifetimes.remove(s)
	h.closes.remove(s)
	_ = conn.Close()
	h.finish(s)
}

// expire ends s when its lifetime is over (see lifetimes): a hijacked
// stream after writing what is pending, a handler's at once.
func (h *Hub) expire(s *subscriber) {
	reason := errStreamTimeout
	if s.tokenExpiry {
		reason = errTokenExpired
	}
	s.mu.Lock()
	hijacked := s.conn != nil
	s.mu.Unlock()
	if hijacked {
		h.closeAfterFlush(s, reason, false)
	} else {
		h.end(s, reason)
	}
}

// closeAfterFlush ends a hijacked stream after writing what is pending and
// then, if retry, the shutdown retry hint (see shutdownTail), for the
// stream timeout and shutdown.
func (h *Hub) closeAfterFlush(s *subscriber, reason error, retry bool) {
	s.mu.Lock()
	if s.closed || s.closing {
		s.mu.Unlock()
		return
	}
	s.closing, s.retry = true, retry
	if reason != nil {
		s.sideLocked().reason = reason
	}
	schedule := !s.active
	s.active = true
	s.mu.Unlock()
	if schedule {
		h.schedule(s)
	}
}

// schedule hands a hijacked stream with pending frames to a writer.
func (h *Hub) schedule(s *subscriber) {
	select {
	case h.work <- s:
	default:
		// Every writer is busy and the queue is full: write on a goroutine
		// of its own rather than block the publisher.
		go func() {
			w := borrowFlusher()
			h.flush(s, w)
			returnFlusher(w)
		}()
	}
}

// writer takes scheduled streams and writes their pending frames until the
// hub stops it.
func (h *Hub) writer() {
	defer h.workers.Done()
	w := newFlusher()
	for {
		select {
		case s := <-h.work:
			h.flush(s, w)
		case <-h.stopWriters:
			return
		}
	}
}

// flusher holds a writer's scratch space: a buffer for batching frames and
// a reusable callback for the raw socket write, so writing allocates
// nothing.
type flusher struct {
	buf []byte
	// The write in progress, for fn.
	b       []byte
	written int
	err     error
	fn      func(fd uintptr) bool
	nonce   [12]byte // a TLS record's, for a stream the hub took over
}

// flushers lends scratch space to writes made outside the hub's writers:
// a stream's hand-off, a write continued on a goroutine of its own, a
// lean TLS connection's raw write.
var flushers = sync.Pool{New: func() any { return newFlusher() }}

// borrowFlusher takes a flusher from flushers; give it back with
// returnFlusher.
func borrowFlusher() *flusher { return flushers.Get().(*flusher) }

// returnFlusher gives f back to flushers, dropping a batch buffer that grew
// past maxBatch.
func returnFlusher(f *flusher) {
	if cap(f.buf) > maxBatch {
		f.buf = nil
	}
	f.b = nil
	flushers.Put(f)
}

func newFlusher() *flusher {
	f := &flusher{}
	f.fn = f.write
	return f
}

// flush writes s's pending frames until none are left. A write that cannot
// complete at once continues on a goroutine of its own, so a slow client
// never holds up a writer.
func (h *Hub) flush(s *subscriber, w *flusher) {
	for {
		s.mu.Lock()
		if s.closed {
			s.active = false
			s.mu.Unlock()
			return
		}
		batch := s.pending
		if len(batch) == 0 {
			if s.closing {
				retry, reason := s.retry, s.reasonLocked()
				s.mu.Unlock()
				var tail []byte
				if retry {
					tail = s.shutdownTail()
				}
				_ = h.writeBlocking(s, tail)
				h.end(s, reason)
				return
			}
			s.active = false
			s.mu.Unlock()
			return
		}
		s.pending, s.spare = s.spare[:0], nil
		s.mu.Unlock()

		out := s.shared(batch)
		if out == nil {
			w.buf = s.appendFrames(w.buf[:0], batch)
			out = w.buf
		}
		n, err := h.writeNow(s, w, out)
		if err == nil && (n < len(out) || backlogged(s)) {
			// The socket buffer is full (or this system has no raw
			// writes, see write; or a TLS connection kept records back,
			// see streamConn): finish on a goroutine that may wait.
			rest := append([]byte(nil), out[n:]...)
			s.giveBack(batch)
			go func() {
				if err := h.writeBlocking(s, rest); err != nil {
					h.end(s, writeFailure(err))
					return
				}
				w := borrowFlusher()
				h.flush(s, w)
				returnFlusher(w)
			}()
			return
		}
		s.giveBack(batch)
		if err != nil {
			h.end(s, writeFailure(err))
			return
		}
	}
}

// writeNow writes as much of b as the socket takes without waiting. A TLS
// stream accepted through Listener takes all of b, and what its socket did
// not take waits in its backlog (see backlogged); one accepted otherwise
// takes nothing here, its writes may wait.
func (h *Hub) writeNow(s *subscriber, w *flusher, b []byte) (int, error) {
	if tlsStream(s.conn) != nil {
		return s.conn.Write(b)
	}
	if _, ok := s.conn.(*tls.Conn); ok {
		return 0, nil
	}
	if s.raw == nil {
		return len(b), h.writeBlocking(s, b)
	}
	w.b, w.written, w.err = b, 0, nil
	err := s.raw.Write(w.fn)
	n := w.written
	w.b = nil
	if err == nil {
		err = w.err
	}
	return n, err
}

// writeBlocking writes b, and a TLS stream's backlog, waiting up to the
// write timeout.
func (h *Hub) writeBlocking(s *subscriber, b []byte) error {
	sc := tlsStream(s.conn)
	if len(b) == 0 && (sc == nil || !sc.backlogged()) {
		return nil
	}
	if h.opts.writeTimeout > 0 {
		_ = s.conn.SetWriteDeadline(time.Now().Add(h.opts.writeTimeout))
		defer s.conn.SetWriteDeadline(time.Time{})
	}
	if len(b) > 0 {
		if _, err := s.conn.Write(b); err != nil {
			return err
		}
	}
	if sc != nil {
		return sc.drain()
	}
	return nil
}

// backlogged reports whether s is a TLS stream whose socket has not taken
// all that was written to it.
func backlogged(s *subscriber) bool {
	sc := tlsStream(s.conn)
	return sc != nil && sc.backlogged()
}
