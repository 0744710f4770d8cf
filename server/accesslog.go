package server

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/mercure"
	"github.com/valksor/go-sse/metrics"
	"github.com/valksor/go-sse/ratelimit"
)

// The outer middleware and the hub's connect and disconnect hooks share
// the state of each request: a stream outlives its handler (the hub hands
// HTTP/1.1 streams to its writers), so its rate-limit slot, its metrics
// and its access log line are settled when the hub says it ended.

// request is the state of one request as the middleware and the connect
// hook see it while its handler runs.
type request struct {
	r       *http.Request // as the middleware got it
	start   time.Time
	client  netip.Addr // the client (Limiter.ClientIP), if it is an IP address
	stream  bool
	publish bool
	opened  atomic.Bool // the hub opened a stream for it
}

type requestKey struct{}

// clientName is how the access log names the client of a request: its
// address, or the peer's RemoteAddr when that is not an IP address.
func clientName(a netip.Addr, r *http.Request) string {
	if a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

// streamLog holds what the server keeps of each open stream until it ends,
// for its rate-limit slot and its access log line. An idle server may hold
// many streams, so in the usual case a stream costs one map entry of 24
// bytes (36 for an IPv6 client) and nothing else: its kind, start and
// client by value, under the 12 bytes its connection id encodes, plus an
// entry in slots when it holds a rate-limit slot. A stream whose id,
// method, path, protocol or client is unusual is kept in full in rare
// instead.
type streamLog struct {
	epoch time.Time // the origin of openStream.since (monotonic)

	mu     sync.Mutex
	open4  map[connKey]openStream[[4]byte]
	open16 map[connKey]openStream[[16]byte]
	slots  map[connKey]ratelimit.Slot // of the streams in open4 and open16
	rare   map[string]rareStream      // by connection id
}

func (l *streamLog) init() {
	l.epoch = time.Now()
	l.open4 = make(map[connKey]openStream[[4]byte])
	l.open16 = make(map[connKey]openStream[[16]byte])
	l.slots = make(map[connKey]ratelimit.Slot)
	l.rare = make(map[string]rareStream)
}

// connKey is what a connection id of the hub's form (24 lowercase hex
// digits) encodes.
type connKey [12]byte

// parseConnKey returns the bytes id encodes, false when id is not of the
// hub's form. Upper-case digits are refused, so that no two ids share a
// key.
func parseConnKey(id string) (k connKey, ok bool) {
	if len(id) != hex.EncodedLen(len(k)) || strings.ToLower(id) != id {
		return k, false
	}
	if _, err := hex.Decode(k[:], []byte(id)); err != nil {
		return k, false
	}
	return k, true
}

// openStream is a stream in the usual case: a GET of the stream path
// (base, base/ or the Mercure path) over HTTP/1.1 or HTTP/2.0 from a
// client with an IP address without a zone. A is the client's address:
// [4]byte for IPv4, [16]byte for IPv6.
type openStream[A [4]byte | [16]byte] struct {
	// since is when the request arrived, in nanoseconds since
	// streamLog.epoch, with the stream's kind in its low kindBits bits
	// (the time is kept to 8 ns). It is kept as two halves, low first, so
	// that the record is aligned to 4 bytes and packs against its 12-byte
	// key in the map.
	since  [2]uint32
	client A
}

// packSince returns the since of a stream of kind that began at start.
func packSince(start time.Duration, kind uint8) [2]uint32 {
	v := uint64(start)&^kindMask | uint64(kind)
	return [2]uint32{uint32(v), uint32(v >> 32)}
}

// unpackSince returns what packSince packed.
func unpackSince(since [2]uint32) (start time.Duration, kind uint8) {
	v := uint64(since[0]) | uint64(since[1])<<32
	return time.Duration(v &^ kindMask), uint8(v & kindMask)
}

// A stream's kind packs its path and protocol: bit 0 is the protocol
// (HTTP/1.1, HTTP/2.0), the bits above it the path (base, base/,
// Mercure).
const (
	kindBits  = 3
	kindMask  = 1<<kindBits - 1
	kindHTTP2 = 1
	pathBase  = 0 << 1
	pathSlash = 1 << 1
	pathMerc  = 2 << 1
	pathMask  = 3 << 1
)

// rareStream is a stream that is not an openStream, kept in full.
type rareStream struct {
	start                       time.Time
	method, path, proto, client string
	slot                        ratelimit.Slot
}

// isStream reports whether r asks for an event stream (native or Mercure).
func (s *Server) isStream(r *http.Request) bool {
	base := s.opts.BasePath
	return r.Method == http.MethodGet && (r.URL.Path == base || r.URL.Path == base+"/" ||
		(s.opts.Mercure != nil && r.URL.Path == mercure.Path))
}

// isPublish reports whether r publishes (native or Mercure).
func (s *Server) isPublish(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == s.opts.BasePath+"/publish" ||
		(s.opts.Mercure != nil && r.URL.Path == mercure.Path))
}

// isProbe reports whether path is polled by load balancers and monitors;
// such requests are logged at debug level only.
func (s *Server) isProbe(path string) bool {
	base := s.opts.BasePath
	return path == "/metrics" || path == base+"/healthz" || path == base+"/readyz"
}

// newLimiter builds the rate limiter of Options.Limits.
func (s *Server) newLimiter() (*ratelimit.Limiter, error) {
	l := s.opts.Limits
	return ratelimit.New(ratelimit.Config{
		StreamsPerSecond:   l.StreamsPerSecond,
		StreamsPerClient:   l.StreamsPerClient,
		PublishesPerSecond: l.PublishesPerSecond,
		TrustedProxies:     l.TrustedProxies,
		IsStream:           s.isStream,
		IsPublish:          s.isPublish,
		Credential:         s.credential,
		OnLimit:            s.limited,
	})
}

// credential is what publishes are rate-limited by: the request's token
// (JWT or static), "" without one.
func (s *Server) credential(r *http.Request) string {
	if s.opts.JWT != nil {
		tok, _ := s.opts.JWT.Token(r)
		return tok
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

// limited counts a request refused by a rate limit.
func (s *Server) limited(r *http.Request, l ratelimit.Limit) {
	if s.metrics == nil {
		return
	}
	s.metrics.Limited(string(l))
	if l != ratelimit.PublishRate {
		s.metrics.StreamOpened(metrics.ResultLimited)
	}
}

// connected is the hub's connect hook: the stream keeps its rate-limit
// slot until it ends (a hijacked stream outlives its handler), and what
// its access log line needs is kept for when it ends. It runs in the
// request's handler, before the stream can end.
func (s *Server) connected(info sse.ConnInfo) {
	if s.metrics != nil {
		s.metrics.StreamOpened(metrics.ResultOK)
	}
	req, _ := info.Request.Context().Value(requestKey{}).(*request)
	if req == nil {
		return
	}
	req.opened.Store(true)
	slot := ratelimit.KeepSlot(info.Request.Context())
	if !s.opts.AccessLog && slot == (ratelimit.Slot{}) {
		return // nothing to settle when the stream ends
	}
	r := req.r
	kind, usual := s.streamKind(r)
	key, keyed := parseConnKey(info.ID)
	if usual && keyed && req.client.IsValid() && req.client.Zone() == "" {
		since := packSince(req.start.Sub(s.streams.epoch), kind)
		s.streams.mu.Lock()
		if req.client.Is4() {
			s.streams.open4[key] = openStream[[4]byte]{since, req.client.As4()}
		} else {
			s.streams.open16[key] = openStream[[16]byte]{since, req.client.As16()}
		}
		if slot != (ratelimit.Slot{}) {
			s.streams.slots[key] = slot
		}
		s.streams.mu.Unlock()
		return
	}
	// The method, path and protocol are cut from the request line, which
	// they would keep alive as long as the stream: keep copies instead,
	// shared ones for the usual values.
	rec := rareStream{
		start: req.start, method: s.ownString(r.Method), path: s.ownString(r.URL.Path), proto: s.ownString(r.Proto),
		client: clientName(req.client, r), slot: slot,
	}
	s.streams.mu.Lock()
	s.streams.rare[info.ID] = rec
	s.streams.mu.Unlock()
}

// streamKind returns the kind of a stream opened by r, false when r is not
// a GET of a stream path over HTTP/1.1 or HTTP/2.0.
func (s *Server) streamKind(r *http.Request) (kind uint8, ok bool) {
	if r.Method != http.MethodGet {
		return 0, false
	}
	switch r.Proto {
	case "HTTP/1.1":
	case "HTTP/2.0":
		kind = kindHTTP2
	default:
		return 0, false
	}
	switch r.URL.Path {
	case s.opts.BasePath:
		kind |= pathBase
	case s.opts.BasePath + "/":
		kind |= pathSlash
	case mercure.Path:
		kind |= pathMerc
	default:
		return 0, false
	}
	return kind, true
}

// disconnected is the hub's disconnect hook: it frees the stream's slot
// and writes its access log line.
func (s *Server) disconnected(info sse.ConnInfo, reason error) {
	var (
		rec          rareStream
		since        [2]uint32
		client       netip.Addr
		usual, found bool
	)
	key, keyed := parseConnKey(info.ID)
	s.streams.mu.Lock()
	if keyed {
		if o, ok := s.streams.open4[key]; ok {
			delete(s.streams.open4, key)
			since, client, usual = o.since, netip.AddrFrom4(o.client), true
		} else if o, ok := s.streams.open16[key]; ok {
			delete(s.streams.open16, key)
			since, client, usual = o.since, netip.AddrFrom16(o.client), true
		}
		if usual {
			rec.slot = s.streams.slots[key]
			delete(s.streams.slots, key)
		}
	}
	found = usual
	if !usual {
		if rec, found = s.streams.rare[info.ID]; found {
			delete(s.streams.rare, info.ID)
		}
	}
	s.streams.mu.Unlock()
	if !found {
		return
	}
	rec.slot.Release()
	if !s.opts.AccessLog {
		return
	}
	var d time.Duration
	if usual {
		start, kind := unpackSince(since)
		d = time.Since(s.streams.epoch) - start
		rec.method, rec.path, rec.proto = s.describe(kind)
		rec.client = client.String()
	} else {
		d = time.Since(rec.start)
	}
	why := "client went away"
	if reason != nil {
		why = reason.Error()
	}
	s.log.Info("stream", "method", rec.method, "path", rec.path, "proto", rec.proto, "client", rec.client,
		"status", http.StatusOK, "conn", info.ID, "topics", info.Topics, "duration", d.Round(time.Millisecond), "end", why)
}

// ownString returns v, or an equal string that shares no memory with the
// request v came from: a constant for the usual methods, protocols and
// stream paths, a copy otherwise.
func (s *Server) ownString(v string) string {
	switch v {
	case http.MethodGet:
		return http.MethodGet
	case "HTTP/1.1":
		return "HTTP/1.1"
	case "HTTP/2.0":
		return "HTTP/2.0"
	case s.opts.BasePath:
		return s.opts.BasePath
	case mercure.Path:
		return mercure.Path
	}
	return strings.Clone(v)
}

// describe returns the method, path and protocol of a stream of kind, as
// the access log names them.
func (s *Server) describe(kind uint8) (method, path, proto string) {
	proto = "HTTP/1.1"
	if kind&kindHTTP2 != 0 {
		proto = "HTTP/2.0"
	}
	switch kind & pathMask {
	case pathBase:
		path = s.opts.BasePath
	case pathSlash:
		path = s.opts.BasePath + "/"
	default:
		path = mercure.Path
	}
	return http.MethodGet, path, proto
}

// logRequests is the outer middleware: it records each request's state for
// the hub's hooks, counts refused streams and publish latency, and writes
// one access log line per request (for streams, when they end). Query
// strings are never logged: they may carry tokens.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &request{
			r: r, start: time.Now(), client: s.limiter.ClientIP(r),
			stream: s.isStream(r), publish: s.isPublish(r),
		}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, req))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if !req.opened.Load() { // a stream is settled when it ends
			s.settle(r, req, sw)
		}
	})
}

// settle counts and logs a request that did not open a stream.
func (s *Server) settle(r *http.Request, req *request, sw *statusWriter) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	d := time.Since(req.start)
	if s.metrics != nil {
		if req.stream && status != http.StatusTooManyRequests {
			s.metrics.StreamOpened(metrics.ResultRefused)
		}
		if req.publish {
			s.metrics.ObservePublish(status, d)
		}
	}
	if !s.opts.AccessLog {
		return
	}
	level := slog.LevelInfo
	if s.isProbe(r.URL.Path) {
		level = slog.LevelDebug
	}
	s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "proto", r.Proto, "client", clientName(req.client, req.r),
		"status", status, "bytes", sw.bytes, "duration", d.Round(time.Microsecond))
}

// statusWriter records the status and size of a response. It unwraps for
// http.ResponseController, so the hub can still flush, set deadlines and
// hijack through it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader records the first status.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes written.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush flushes the underlying writer, for code that asserts http.Flusher.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
