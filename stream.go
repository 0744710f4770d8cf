package sse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/valksor/go-sse/internal/wire"
)

// maxBatch is the size above which a handler's write buffer is not kept.
const maxBatch = 64 << 10

// ServeHTTP serves the event stream (GET or HEAD).
//
// Query parameters: topic (repeatable; none means DefaultTopic),
// lastEventID (the Last-Event-ID header wins when both are present) and
// supports (repeatable or comma-separated event types the client handles
// beyond reload and ping). A client that does not list css-update in
// supports gets each css-update as a reload with the same id and data (see
// StreamRequest.CSSAsReload), so that a client that knows only reload, such
// as the original Valksor client, reloads the page for a stylesheet. The
// stream starts with a connected event carrying the connection id and the
// retry hint, then any missed events, then live events and heartbeats.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "the event stream answers GET and HEAD; publish with POST "+h.opts.basePath+"/publish", http.StatusMethodNotAllowed)
		return
	}
	sr, err := h.parseStreamRequest(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if a := h.opts.authorizer; a != nil {
		g, err := a.AuthorizeSubscribe(r, sr.Topics)
		if err != nil {
			writeError(w, err)
			return
		}
		sr.Grant = &g
	}
	h.ServeStream(w, r, sr)
}

// StreamRequest describes a stream for ServeStream.
type StreamRequest struct {
	// Topics are the topics the stream listens to, exactly. ServeStream
	// takes them as given: the handler that parsed them applies the hub's
	// rules, such as MaxTopics (which counts the topics and the patterns
	// behind Match together).
	Topics []string
	// Match, when set, also admits messages with a topic it accepts (topic
	// patterns, URI templates, "*"). It is called on the delivering
	// goroutine and must be quick and safe for concurrent use.
	Match func(topic string) bool
	// LastEventID resumes after that event ("earliest": everything
	// retained); "" starts from now.
	LastEventID string
	// Grant is what the stream may see of private events and when its
	// credentials expire; nil means no private events.
	Grant *Grant
	// Opened, when set, is called once the stream is registered, before
	// its response head is written, with that head (which it may change),
	// the connection id, and whether the replay holds everything after
	// LastEventID.
	Opened func(h http.Header, connID string, complete bool)
	// Closed, when set, is called once when the stream has ended, with the
	// reason (nil when the client went away). It may run on another
	// goroutine than the request's: a stream is handed off from its
	// handler.
	Closed func(connID string, reason error)
	// Bare, when true, makes the stream carry the published events and
	// nothing else of the hub's: no connected event (so no retry hint and
	// no id before the first event), no history-gap event (the
	// X-Valksor-History-Gap header and Opened's complete flag still tell),
	// no id line of the hub's own at the end of a replay, an SSE comment
	// line instead of the ping event, and no retry hint at shutdown. The
	// only ids are those of the published events. It is for protocols whose
	// clients take every event for an update, such as Mercure; they tell a
	// resuming client its position in a header of their own.
	Bare bool
	// CSSAsReload, when true, sends every css-update event to the stream as
	// a reload event with the same id and data, live and in the replay: for
	// clients that reload on reload and ignore css-update. ServeHTTP sets it
	// unless the client lists css-update in its supports parameter. It has
	// no effect on a Bare stream, which carries every event as published.
	CSSAsReload bool
}

// StreamObserver is told about the stream a request opens, for middleware
// such as access logs, metrics and tracing: an HTTP/1.1 stream is taken
// over from net/http after its opening events (see WithHijack), so the
// handler returns long before the stream ends; Closed says when it really
// does. Attach one with ObserveStream.
type StreamObserver struct {
	// Opened, when set, is called once the stream is registered, on the
	// request's goroutine, with the connection id of the connected event.
	Opened func(connID string)
	// Closed, when set, is called once when the stream has ended, with the
	// reason (nil when the client went away). It may run on another
	// goroutine than the request's, after the handler returned. It is not
	// called for a request refused before its stream opened (the status
	// says why).
	Closed func(connID string, reason error)
}

type observerKey struct{}

// ObserveStream returns a shallow copy of r that reports the stream it
// opens, if it opens one, to o. Call it in a middleware before passing the
// request on:
//
//	start := time.Now()
//	r = sse.ObserveStream(r, sse.StreamObserver{
//		Closed: func(id string, reason error) { log.Printf("stream %s ended after %s", id, time.Since(start)) },
//	})
//	next.ServeHTTP(w, r)
func ObserveStream(r *http.Request, o StreamObserver) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), observerKey{}, &o))
}

// closedHooks returns one function calling closed and then obs.Closed.
func closedHooks(closed func(string, error), obs *StreamObserver) func(string, error) {
	if obs == nil || obs.Closed == nil {
		return closed
	}
	if closed == nil {
		return obs.Closed
	}
	return func(id string, reason error) {
		closed(id, reason)
		obs.Closed(id, reason)
	}
}

// ServeStream serves an event stream described by sr: the building block of
// ServeHTTP, for handlers that parse their own parameters and do their own
// authorization (such as a Mercure endpoint). It answers HEAD with the
// stream's headers only.
func (h *Hub) ServeStream(w http.ResponseWriter, r *http.Request, sr StreamRequest) {
	// The stream is opened by a function of its own, which returns before
	// the stream waits for events: what the opening needed (the replay,
	// the log record) is gone by then. For a stream served from its
	// handler it runs off this goroutine's stack, as the stream's writes
	// do, so that the handler's goroutine, which waits as long as the
	// stream is open, keeps the small stack that net/http's calls down to
	// here need.
	var (
		s   *subscriber
		err error
	)
	if h.hijacks(w, r) {
		s, err = h.open(w, r, sr) // its goroutine ends once it is handed off
	} else {
		// The results come back in a struct of their own, which is garbage
		// once copied: variables the closure wrote would stay on the heap
		// for as long as the stream.
		res := new(struct {
			s   *subscriber
			err error
		})
		offStack(func() { res.s, res.err = h.open(w, r, sr) })
		s, err = res.s, res.err
	}
	if s == nil {
		return // refused, or handed off to the hub's writers
	}
	if err == nil {
		err = h.serve(w, r.Context().Done(), s)
	}
	h.closeHandlerStream(s, err)
}

// closeHandlerStream ends and releases a stream served from its handler,
// and tells the hooks.
func (h *Hub) closeHandlerStream(s *subscriber, reason error) {
	defer func() {
		h.remove(s)
		h.release()
	}()
	h.end(s, reason)
	h.lifetimes.remove(s)
	s.mu.Lock()
	info := s.side.info
	s.mu.Unlock()
	h.logClosed(s, reason)
	if s.opts != nil && s.opts.closedFn != nil {
		s.opts.closedFn(s.id, reason)
	}
	if h.opts.onDisconnect != nil {
		h.opts.onDisconnect(*info, reason)
	}
}

// hijacks reports whether the stream r opens is handed off from its
// handler after its opening events: HTTP/1.1, over plain TCP or TLS, and
// HTTP/2 from a server whose response writer is a Detacher.
func (h *Hub) hijacks(w http.ResponseWriter, r *http.Request) bool {
	return h.opts.hijack && (r.ProtoMajor == 1 || detacher(w) != nil)
}

// Detacher is implemented by an http.ResponseWriter whose response can
// outlive its handler, as the HTTP/2 server of package h2 offers. The hub
// detaches the HTTP/2 streams it serves through one (with WithHijack, the
// default), as it hijacks HTTP/1.1 connections: the handler returns, and
// the stream costs no goroutine and no buffer while it is idle.
//
// Detach sends the response head (the header as set, status 200) and
// returns the stream as a net.Conn whose Write never waits: it queues the
// bytes and fails once the stream has ended, or when the client does not
// take what is queued (with an error for which errors.Is(err,
// os.ErrDeadlineExceeded) reports true; the hub then drops the stream as a
// slow consumer). Close ends the response after what is queued. onClose is
// called once, on any goroutine, when the client or the connection ends
// the stream before Close, and never after it.
type Detacher interface {
	Detach(onClose func()) (net.Conn, error)
}

// detacher returns the Detacher under w and the wrappers that unwrap to it
// (see http.ResponseController), or nil.
func detacher(w http.ResponseWriter) Detacher {
	for {
		if d, ok := w.(Detacher); ok {
			return d
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

// open registers the stream sr describes and writes its head and opening
// events. It returns nil when it answered the request itself (a refusal,
// HEAD) or handed the stream off to the hub's writers; otherwise the
// stream is the caller's to serve, and a non-nil error is why it ended
// already (writing the opening failed). The stream is registered and its
// slot taken only when the subscriber is returned.
func (h *Hub) open(w http.ResponseWriter, r *http.Request, sr StreamRequest) (*subscriber, error) {
	lifetime, endReason, ok := h.admit(w, r, sr.Grant)
	if !ok {
		return nil, nil
	}
	obs, _ := r.Context().Value(observerKey{}).(*StreamObserver)
	s := &subscriber{
		id:       newConnID(),
		topics:   sr.Topics, // add replaces them with the hub's copies
		opts:     newStreamOpts(sr.Grant, sr.Match, closedHooks(sr.Closed, obs)),
		bare:     sr.Bare,
		asReload: sr.CSSAsReload && !sr.Bare,
		started:  time.Now().UnixNano(),

		tokenExpiry: endReason == errTokenExpired,
	}
	// HTTP/1.1 streams, plain or over TLS, and HTTP/2 ones of a Detacher
	// are handed off from their handler after the opening events (see
	// hijacks); other HTTP/2 ones keep the handler's goroutine.
	hijack := h.hijacks(w, r)
	if !hijack {
		s.side = &streamSide{wake: make(chan struct{}, 1)}
	}
	pos, err := h.add(s)
	if err != nil {
		h.release()
		writeError(w, err)
		return nil, nil
	}
	registered := false // true once the caller or the writers own s
	defer func() {
		if !registered {
			h.remove(s)
			h.release()
		}
	}()
	lastID := sr.LastEventID
	hist, gap, ok := h.history(w, r, lastID)
	if !ok {
		return nil, nil
	}
	h.announce(w, r, s, sr, obs, gap)
	opening, last := h.opening(s, lastID, hist, gap, pos)
	info := ConnInfo{ID: s.id, Topics: s.topics, RemoteAddr: r.RemoteAddr, Request: r}
	if h.opts.onConnect != nil {
		h.opts.onConnect(info)
	}
	h.log.Debug("stream opened", "conn", s.id, "remote", r.RemoteAddr, "topics", sr.Topics, "last_event_id", lastID, "replay", len(hist.Messages), "gap", gap, "hijacked", hijack)
	if hijack {
		if d := detacher(w); d != nil && r.ProtoMajor != 1 {
			registered = h.detach(d, s, opening, last, r.RemoteAddr, lifetime)
		} else {
			registered = h.handOff(w, s, opening, last, r.RemoteAddr, lifetime)
		}
		if registered {
			return nil, nil
		}
		// The writer cannot be hijacked (a wrapping middleware): serve the
		// stream from this goroutine after all.
		s.mu.Lock()
		wake := make(chan struct{}, 1)
		s.sideLocked().wake = wake
		s.mu.Unlock()
		wake <- struct{}{}
	}
	registered = true
	s.mu.Lock()
	s.last = last
	s.sideLocked().info = &info
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	if err := h.writeHandler(w, opening); err != nil {
		return s, err
	}
	if lifetime > 0 {
		h.lifetimes.add(s, lifetime)
	}
	return s, nil
}

// admit decides whether a stream may open, answering the request itself
// when not (ok false): the hub must be open, a HEAD request gets the
// stream's headers alone, the credentials must not have expired, and a
// connection slot must be free (it is taken). It returns the stream's
// maximum lifetime, the stream timeout or what is left of its credentials,
// and the reason it ends then.
func (h *Hub) admit(w http.ResponseWriter, r *http.Request, grant *Grant) (lifetime time.Duration, endReason error, ok bool) {
	if h.closed() {
		writeError(w, ErrHubClosed)
		return 0, nil, false
	}
	if r.Method == http.MethodHead {
		h.streamHeaders(w, r)
		w.WriteHeader(http.StatusOK)
		return 0, nil, false
	}
	lifetime, endReason = h.opts.streamTimeout, errStreamTimeout
	if grant != nil && !grant.Expires.IsZero() {
		left := time.Until(grant.Expires)
		if left <= 0 {
			writeError(w, &AuthError{Err: ErrUnauthorized, Code: "invalid_token", Description: "the token has expired; get a fresh one"})
			return 0, nil, false
		}
		if lifetime == 0 || left < lifetime {
			lifetime, endReason = left, errTokenExpired
		}
	}
	if !h.acquire() {
		writeError(w, fmt.Errorf("%w: the server holds its limit of %s; retry later or raise max_connections", ErrTooManyConnections, countStreams(h.opts.maxConnections)))
		return 0, nil, false
	}
	return lifetime, endReason, true
}

// history reads what a stream resuming after lastID missed, and whether
// some of it is gone (a gap). ok false means it answered the request
// itself: the history could not be read, or the client went away.
func (h *Hub) history(w http.ResponseWriter, r *http.Request, lastID string) (hist History, gap, ok bool) {
	if lastID == "" {
		return hist, false, true
	}
	hist, err := h.transport.History(r.Context(), lastID)
	if err != nil && r.Context().Err() != nil {
		return hist, false, false // the client went away
	}
	if err != nil {
		writeError(w, fmt.Errorf("sse: read history after %q: %w", lastID, err))
		return hist, false, false
	}
	return hist, !hist.Complete, true
}

// announce sets the stream's response headers (with the history gap
// signal) and tells the request's hooks it opened.
func (h *Hub) announce(w http.ResponseWriter, r *http.Request, s *subscriber, sr StreamRequest, obs *StreamObserver, gap bool) {
	h.streamHeaders(w, r)
	if gap {
		w.Header().Set("X-Valksor-History-Gap", "true")
	}
	if sr.Opened != nil {
		sr.Opened(w.Header(), s.id, !gap)
	}
	if obs != nil && obs.Opened != nil {
		obs.Opened(s.id)
	}
}

// Reasons a stream ends, reported to the disconnect hook.
var (
	errSlowConsumer  = errors.New("sse: stream dropped: the client did not keep up")
	errStreamTimeout = errors.New("sse: stream reached its maximum lifetime")
	errShutdown      = errors.New("sse: hub shutting down")
	errTokenExpired  = errors.New("sse: the stream's token expired")
)

func reasonText(err error) string {
	if err == nil {
		return "client went away"
	}
	return err.Error()
}

func (h *Hub) logClosed(s *subscriber, reason error) {
	if !h.log.Enabled(context.Background(), slog.LevelDebug) {
		return // the peer's address is not stored: it would be made for nothing
	}
	h.log.Debug("stream closed", "conn", s.id, "remote", s.remoteAddr(), "reason", reasonText(reason), "age", time.Since(s.since()).Round(time.Millisecond))
}

// opening encodes the first events of a stream: connected (with the retry
// hint), the history gap signal, and the replay; a bare stream's has the
// replay only. It returns them with the cursor of the last replayed
// message; live frames up to it are skipped.
//
// Every stream but a bare one learns an id at once, so that a client
// reconnects with a Last-Event-ID even if no event reached it: connected
// carries the id the client resumed from, or for a fresh stream pos, where
// its live delivery starts. A resumed stream ends its opening with a bare id
// line for where the replay and live delivery meet, so that a client whose
// replay was empty or filtered does not resume from the same old id again.
//
// A bare stream carries the ids of the published events only, as Mercure's
// updates do: it has no connected event to carry a position, and an id line
// of its own would end in a blank line, which clients built on fetch deliver
// as an empty update. Its protocol tells the position in a response header
// instead (Mercure's Last-Event-ID).
func (h *Hub) opening(s *subscriber, lastID string, hist History, gap bool, pos *Cursor) ([]byte, Cursor) {
	connectedID := lastID
	if connectedID == "" && pos != nil {
		connectedID = pos.String()
	}
	buf := make([]byte, 0, 256)
	if !s.bare {
		buf, _ = wire.AppendEvent(buf, wire.Event{ID: connectedID, Type: TypeConnected, Data: `{"id":"` + s.id + `"}`, Retry: h.opts.retry})
	}
	if gap && !s.bare {
		d, _ := encodeData(map[string]string{"last_event_id": lastID})
		buf, _ = wire.AppendEvent(buf, wire.Event{Type: TypeHistoryGap, Data: d})
	}
	last, lastSent := hist.After, connectedID
	for _, m := range hist.Messages {
		if last.Compare(m.Cursor) < 0 {
			last = m.Cursor
		}
		if !s.wants(m.Topics) || !s.grant().sees(m) {
			continue
		}
		typ := m.Type
		if s.asReload && typ == TypeCSSUpdate {
			typ = TypeReload
		}
		var err error
		buf, err = wire.AppendEvent(buf, wire.Event{ID: m.ID, Type: typ, Data: m.Data, Retry: m.Retry})
		if err != nil {
			h.log.Error("skipping history message that cannot be encoded", "id", m.ID, "err", err)
			continue
		}
		lastSent = m.ID
	}
	if lastID != "" && !s.bare {
		end := last
		if pos != nil && end.Compare(*pos) < 0 {
			end = *pos
		}
		if id := end.String(); !end.IsZero() && id != lastSent {
			buf, _ = wire.AppendID(buf, id)
		}
	}
	return buf, last
}

// handOff hijacks the connection, writes the response head and the opening
// events, and leaves the stream to the hub's writers. It reports false,
// having written nothing, when the connection cannot be hijacked.
//
// A plain connection is written raw by the writers. A TLS connection is
// written through its *tls.Conn; accepted through Listener, its socket then
// takes the records without waiting (see streamConn), otherwise each batch
// is written from a goroutine of its own. With a config from TLSConfig, a
// TLS 1.3 connection is then written by a sealer instead, and its
// *tls.Conn dropped. Either way the close watcher watches the TCP socket
// under it, when it can be reached.
func (h *Hub) handOff(w http.ResponseWriter, s *subscriber, opening []byte, last Cursor, remote string, lifetime time.Duration) bool {
	head := w.Header().Clone()
	conn, _, hijackErr := http.NewResponseController(w).Hijack()
	if hijackErr != nil {
		return false
	}
	var raw, watch syscall.RawConn
	if tc, ok := conn.(*tls.Conn); ok {
		if sc, ok := tc.NetConn().(syscall.Conn); ok {
			watch, _ = sc.SyscallConn()
		}
	} else if sc, ok := conn.(syscall.Conn); ok {
		raw, _ = sc.SyscallConn()
		watch = raw
	}
	head.Del("Connection")
	buf := make([]byte, 0, 256+len(opening))
	buf = append(buf, "HTTP/1.1 200 OK\r\n"...)
	hb := headerBuffer{buf}
	_ = head.Write(&hb)
	buf = append(hb.b, "Connection: close\r\n\r\n"...)
	headLen := len(buf)
	buf = append(buf, opening...)
	if h.opts.writeTimeout > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(h.opts.writeTimeout))
	}
	var err error
	if sc := tlsStream(conn); sc != nil && sc.hasKeys() {
		// The head goes out through crypto/tls, and then, for TLS 1.3 (see
		// TLSConfig), the hub's own records take over.
		var sl *sealer
		sl, err = sc.takeOver(conn.(*tls.Conn), buf[:headLen])
		buf = buf[headLen:]
		if sl != nil {
			conn = sl
			h.takenOver.Add(1)
		}
	}
	if h.adopt(s, conn, raw, last, remote) {
		go h.dispose(s, conn)
		return true
	}
	if err == nil {
		_, err = conn.Write(buf)
	}
	if err != nil {
		h.end(s, err)
		return true
	}
	// A deadline left in place would fail every later write once it passed.
	_ = conn.SetWriteDeadline(time.Time{})
	if sc := tlsStream(conn); sc != nil {
		sc.goLean()
	}
	if !h.closes.add(s, watch) {
		// No watcher for this connection: a goroutine reads until the
		// client hangs up.
		go func() {
			var b [512]byte
			for {
				if _, err := conn.Read(b[:]); err != nil {
					h.end(s, nil)
					return
				}
			}
		}()
	}
	h.startWriting(s, lifetime)
	return true
}

// adopt makes conn the connection of s, which the hub's writers write
// from now on (the caller writes until startWriting), and reports whether
// s ended before it had a connection to close: the caller then lets it go
// (dispose) instead.
func (h *Hub) adopt(s *subscriber, conn net.Conn, raw syscall.RawConn, last Cursor, remote string) (endedEarly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn, s.raw, s.last = conn, raw, last
	s.active = true // the caller writes until the hand-off is complete
	if a := conn.RemoteAddr(); a == nil || a.String() != remote {
		// A middleware changed the peer's address: keep what it said.
		s.sideLocked().info = &ConnInfo{ID: s.id, Topics: s.topics, RemoteAddr: remote}
	}
	return s.closed
}

// startWriting completes a hand-off: the stream's lifetime starts, frames
// queued meanwhile go out, and from here on the writers own it.
func (h *Hub) startWriting(s *subscriber, lifetime time.Duration) {
	if lifetime > 0 {
		h.lifetimes.add(s, lifetime)
	}
	f := borrowFlusher()
	h.flush(s, f)
	returnFlusher(f)
	if h.closed() { // Shutdown began while this stream was being set up.
		h.closeAfterFlush(s, errShutdown, true)
	}
}

// detach hands an HTTP/2 stream over from its handler (see Detacher):
// the response head goes out, then the opening events, and the hub's
// writers own the stream. It reports false, having sent nothing, when the
// stream cannot be detached (the client reset it meanwhile).
func (h *Hub) detach(d Detacher, s *subscriber, opening []byte, last Cursor, remote string, lifetime time.Duration) bool {
	conn, err := d.Detach(func() { h.end(s, nil) })
	if err != nil {
		return false
	}
	if h.adopt(s, conn, nil, last, remote) {
		go h.dispose(s, conn)
		return true
	}
	if _, err := conn.Write(opening); err != nil {
		h.end(s, writeFailure(err))
		return true
	}
	h.startWriting(s, lifetime)
	return true
}

// writeFailure is the reason a stream ends when a write to it failed: a
// write that could not be done in time means the client did not keep up.
func writeFailure(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errSlowConsumer
	}
	return err
}

// headerBuffer lets http.Header.Write append to a byte slice.
type headerBuffer struct{ b []byte }

func (hb *headerBuffer) Write(p []byte) (int, error) {
	hb.b = append(hb.b, p...)
	return len(p), nil
}

// WriteString makes headerBuffer an io.StringWriter, avoiding conversions.
func (hb *headerBuffer) WriteString(s string) (int, error) {
	hb.b = append(hb.b, s...)
	return len(s), nil
}

// finish releases a hijacked stream after it ended.
func (h *Hub) finish(s *subscriber) {
	h.remove(s)
	h.release()
	s.mu.Lock()
	reason := s.reasonLocked()
	s.mu.Unlock()
	h.logClosed(s, reason)
	if h.opts.onDisconnect != nil {
		h.opts.onDisconnect(ConnInfo{ID: s.id, Topics: s.topics, RemoteAddr: s.remoteAddr()}, reason)
	}
	if s.opts != nil && s.opts.closedFn != nil {
		s.opts.closedFn(s.id, reason)
	}
}

// serve writes live frames for the handler's goroutine until the client
// goes (done, the request context's), the stream ends (its lifetime, a
// slow client, see end), or the hub shuts down. It waits with nothing but
// a few pointers on its stack and no buffer of its own: writing borrows
// one (see writePending), on another goroutine's stack (see offStack).
func (h *Hub) serve(w http.ResponseWriter, done <-chan struct{}, s *subscriber) error {
	for {
		select {
		case <-done:
			return nil
		case <-h.done:
			if tail := s.shutdownTail(); tail != nil {
				_ = h.writeHandler(w, tail)
			}
			return errShutdown
		case <-s.side.wake: // set before the stream was served, never changed
			var (
				ended  bool
				reason error
			)
			offStack(func() { ended, reason = h.writePending(w, s) })
			if ended {
				return reason
			}
		}
	}
}

// offStack runs fn on a goroutine of its own and waits for it to return.
// A stream served from its handler opens and writes through it: the deep
// calls of the opening and of net/http's writes (HTTP/2 and TLS) grow the
// stack of that short-lived goroutine, not the stack of the handler's,
// which lives as long as the stream does (the garbage collector shrinks a
// waiting goroutine's stack only to four times what its frames use, which
// net/http's own frames already exceed). A panic in fn is raised again on
// the caller's goroutine, where net/http recovers it as a handler's.
func offStack(fn func()) {
	var p any
	done := make(chan struct{})
	go func() {
		defer func() {
			p = recover()
			close(done)
		}()
		fn()
	}()
	<-done
	if p != nil {
		panic(p)
	}
}

// batchBuffers are the buffers of handler streams that write several
// frames at once, lent for one write.
var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writePending writes the frames queued for a handler stream. It reports
// whether the stream ended, and why: it was ended (see end), or the write
// failed.
func (h *Hub) writePending(w http.ResponseWriter, s *subscriber) (bool, error) {
	s.mu.Lock()
	closed, reason := s.closed, s.reasonLocked()
	s.mu.Unlock()
	if closed {
		return true, reason
	}
	batch := s.take()
	var pooled *[]byte
	out := s.shared(batch)
	if out == nil {
		pooled = batchBuffers.Get().(*[]byte)
		out = s.appendFrames((*pooled)[:0], batch)
	}
	s.giveBack(batch)
	var err error
	if len(out) > 0 {
		err = h.writeHandler(w, out)
	}
	if pooled != nil && cap(out) <= maxBatch {
		*pooled = out[:0]
		batchBuffers.Put(pooled)
	}
	return err != nil, err
}

// writeHandler writes b to a stream served from its handler and flushes
// it, within the write timeout. The deadline is lifted afterwards, so
// that an idle stream keeps no timer of net/http's either (HTTP/2 keeps
// one per stream while a deadline is set).
func (h *Hub) writeHandler(w http.ResponseWriter, b []byte) error {
	rc := http.NewResponseController(w)
	if h.opts.writeTimeout > 0 {
		_ = rc.SetWriteDeadline(time.Now().Add(h.opts.writeTimeout))
		defer rc.SetWriteDeadline(time.Time{})
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return rc.Flush()
}

// streamHeaders sets the headers of an event stream.
func (h *Hub) streamHeaders(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	for k, v := range h.opts.headers {
		hd[k] = v
	}
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		hd.Set("Connection", "keep-alive")
	}
}

// parseStreamRequest reads the topics, the resume id and the supported
// event types of a stream request. A query that does not parse is refused
// rather than read in part: the parameters lost would silently change the
// stream.
func (h *Hub) parseStreamRequest(r *http.Request) (StreamRequest, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return StreamRequest{}, fmt.Errorf("%w: the query string cannot be parsed (%v); send topic=...&lastEventID=... with URL-encoded values", errBadRequest, err)
	}
	topics, err := h.resolveTopics(q["topic"])
	if err != nil {
		return StreamRequest{}, err
	}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = q.Get("lastEventID")
	}
	if lastID == "" {
		lastID = q.Get("last_event_id")
	}
	if lastID != "" {
		if len(lastID) > maxIDLen || wire.ValidField(lastID) != nil || !utf8.ValidString(lastID) {
			return StreamRequest{}, fmt.Errorf("%w: %.40q is not an event id this server could have sent (over %d bytes, a line break, NUL or invalid UTF-8); reconnect without it to start from now", ErrInvalidLastEventID, lastID, maxIDLen)
		}
	}
	return StreamRequest{Topics: topics, LastEventID: lastID, CSSAsReload: !supports(q["supports"], TypeCSSUpdate)}, nil
}

// supports reports whether the values of the supports query parameter
// (each a comma-separated list) name the event type typ.
func supports(values []string, typ string) bool {
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(item) == typ {
				return true
			}
		}
	}
	return false
}

// countStreams says "1 stream", "2 streams".
func countStreams(n int) string {
	if n == 1 {
		return "1 stream"
	}
	return strconv.Itoa(n) + " streams"
}
