package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
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

// request is the state of one request as the middleware and the hub's
// hooks see it.
type request struct {
	start   time.Time
	method  string
	path    string
	proto   string
	client  string
	stream  bool
	publish bool

	mu      sync.Mutex
	connID  string // set when the hub opened a stream
	release func() // the stream's rate-limit slot
}

type requestKey struct{}

// streamLog holds the requests whose streams are open, by connection id.
type streamLog struct {
	mu      sync.Mutex
	streams map[string]*request
}

func (l *streamLog) init() { l.streams = make(map[string]*request) }

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
// slot until it ends (a hijacked stream outlives its handler).
func (s *Server) connected(info sse.ConnInfo) {
	if s.metrics != nil {
		s.metrics.StreamOpened(metrics.ResultOK)
	}
	req, _ := info.Request.Context().Value(requestKey{}).(*request)
	if req == nil {
		return
	}
	release := ratelimit.Keep(info.Request.Context())
	req.mu.Lock()
	req.connID, req.release = info.ID, release
	// The method, path and protocol are cut from the request line, which
	// they would keep alive as long as the stream: keep copies instead,
	// shared ones for the usual values.
	req.method, req.path, req.proto = s.ownString(req.method), s.ownString(req.path), s.ownString(req.proto)
	req.mu.Unlock()
	s.streams.mu.Lock()
	s.streams.streams[info.ID] = req
	s.streams.mu.Unlock()
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

// disconnected is the hub's disconnect hook: it frees the stream's slot
// and writes its access log line.
func (s *Server) disconnected(info sse.ConnInfo, reason error) {
	s.streams.mu.Lock()
	req := s.streams.streams[info.ID]
	delete(s.streams.streams, info.ID)
	s.streams.mu.Unlock()
	if req == nil {
		return
	}
	req.mu.Lock()
	release := req.release
	req.mu.Unlock()
	release()
	if !s.opts.AccessLog {
		return
	}
	why := "client went away"
	if reason != nil {
		why = reason.Error()
	}
	s.log.Info("stream", "method", req.method, "path", req.path, "proto", req.proto, "client", req.client,
		"status", http.StatusOK, "conn", info.ID, "topics", info.Topics, "duration", time.Since(req.start).Round(time.Millisecond), "end", why)
}

// logRequests is the outer middleware: it records each request's state for
// the hub's hooks, counts refused streams and publish latency, and writes
// one access log line per request (for streams, when they end). Query
// strings are never logged: they may carry tokens.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &request{
			start: time.Now(), method: r.Method, path: r.URL.Path, proto: r.Proto,
			stream: s.isStream(r), publish: s.isPublish(r),
		}
		if ip := s.limiter.ClientIP(r); ip.IsValid() {
			req.client = ip.String()
		} else {
			req.client = r.RemoteAddr
		}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, req))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		req.mu.Lock()
		opened := req.connID != ""
		req.mu.Unlock()
		if !opened { // a stream is settled when it ends
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
	s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "proto", r.Proto, "client", req.client,
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
