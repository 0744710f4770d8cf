// Package h2 serves HTTP/2 over TLS for a net/http server, with responses
// that can outlive their handler.
//
// It exists for event streams: net/http's own HTTP/2 server keeps a
// handler goroutine, a 4 KB write buffer and the request for every open
// response, which for an idle event stream is most of what it costs. A
// handler served here can instead detach its response (see
// ResponseWriter.Detach): it returns, and the stream stays open as a small
// value the application writes to without waiting, until either side ends
// it. Every other request is served as net/http would serve it: a handler
// goroutine per request, flow control both ways, trailers, Flush, and
// http.ResponseController's write deadlines.
//
// Plug it into an http.Server with Configure; connections that negotiate
// "h2" over TLS (ALPN) are then served here, HTTP/1.1 ones by net/http as
// before. Cleartext HTTP/2 (h2c) and server push are not served.
//
// Limits that protect the server from a hostile client are on by default:
// concurrent streams (MaxConcurrentStreams, counting handlers still running
// for streams the client reset, so rapid resets cannot pile up handlers),
// header list size (also across CONTINUATION frames), flow-control windows
// for request bodies, a bound on what the server queues for a client that
// does not read (SETTINGS and PING floods), write timeouts and an idle
// timeout.
package h2

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Defaults for the zero values of Server's fields.
const (
	// DefaultMaxConcurrentStreams is the default for
	// Server.MaxConcurrentStreams.
	DefaultMaxConcurrentStreams = 250
	// DefaultMaxHeaderListSize is the default for Server.MaxHeaderListSize:
	// net/http's DefaultMaxHeaderBytes.
	DefaultMaxHeaderListSize = http.DefaultMaxHeaderBytes
	// DefaultWriteTimeout is the default for Server.WriteTimeout.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxStreamBuffer is the default for Server.MaxStreamBuffer.
	DefaultMaxStreamBuffer = 1 << 20
)

// Server serves HTTP/2 connections. Its zero value is ready to use: set the
// fields before Configure or the first connection, and do not change them
// afterwards. A Server may serve connections for several http.Servers.
type Server struct {
	// MaxConcurrentStreams is how many streams a client may keep open on
	// one connection (SETTINGS_MAX_CONCURRENT_STREAMS). Detached responses
	// count until they end, and so do handlers still running for streams
	// the client reset. 0 means DefaultMaxConcurrentStreams.
	MaxConcurrentStreams uint32

	// MaxHeaderListSize bounds the header list of a request, as HTTP/2
	// counts it (names, values and 32 bytes per field). A larger request
	// gets 431 without reaching the handler. 0 means the http.Server's
	// MaxHeaderBytes, or DefaultMaxHeaderListSize.
	MaxHeaderListSize uint32

	// IdleTimeout closes a connection with no open stream after this long
	// (a GOAWAY, then the connection closes). 0 means the http.Server's
	// IdleTimeout, then its ReadTimeout; negative means never.
	IdleTimeout time.Duration

	// WriteTimeout bounds one write to the socket: a client that takes
	// nothing for this long loses the connection. It also bounds how long
	// a handler's Write waits for the client to open its flow-control
	// window: then the stream is reset and Write fails. (The
	// http.Server's WriteTimeout, when set, bounds each response as a
	// whole, as with net/http.) 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration

	// MaxStreamBuffer bounds what a detached response queues beyond what
	// the client's flow-control window lets out; a write that would exceed
	// it fails (the application treats the client as too slow). 0 means
	// DefaultMaxStreamBuffer.
	MaxStreamBuffer int

	// Logger receives handler panics (error) and protocol errors of
	// clients (debug). nil means slog.Default().
	Logger *slog.Logger

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown bool                  // Shutdown was called: every server's
	closing  map[*http.Server]bool // srv.Shutdown was called
}

// Configure makes srv serve HTTP/2 over TLS with s: it sets
// srv.TLSNextProto["h2"] and has srv.Shutdown end s's connections
// gracefully (a GOAWAY; each connection closes once its streams have
// ended). srv's TLS configuration must offer "h2" in NextProtos.
func (s *Server) Configure(srv *http.Server) {
	if srv.TLSNextProto == nil {
		srv.TLSNextProto = make(map[string]func(*http.Server, *tls.Conn, http.Handler))
	}
	srv.TLSNextProto["h2"] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		s.ServeConn(hs, c, h)
	}
	srv.RegisterOnShutdown(func() { s.shutdownFor(srv) })
}

// ServeConn serves one connection, which has completed its TLS handshake
// and negotiated h2, until the client or the server ends it; then it
// closes c. hs supplies the defaults (timeouts, header size, BaseContext
// through h, as net/http passes it) and may be nil.
func (s *Server) ServeConn(hs *http.Server, c *tls.Conn, h http.Handler) {
	if hs == nil {
		hs = &http.Server{}
	}
	ctx := context.Background()
	if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
		ctx = bc.BaseContext()
	}
	sc := newConn(s, hs, c, h, ctx)
	if !s.track(sc) {
		_ = c.Close()
		return
	}
	defer s.untrack(sc)
	sc.serve()
}

// Shutdown tells every connection the server is going away (GOAWAY): no new
// stream is accepted, and each connection closes once its open streams have
// ended; connections that arrive later are closed. It does not wait.
// Configure has http.Server.Shutdown do the same for the connections of
// that http.Server.
func (s *Server) Shutdown() {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	s.shutdownFor(nil)
}

// shutdownFor ends gracefully the connections served for hs, or all of
// them when hs is nil, and refuses new ones.
func (s *Server) shutdownFor(hs *http.Server) {
	s.mu.Lock()
	if hs != nil {
		if s.closing == nil {
			s.closing = make(map[*http.Server]bool)
		}
		s.closing[hs] = true
	}
	var conns []*conn
	for c := range s.conns {
		if hs == nil || c.hs == hs {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.goAway(errCodeNo, false)
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown || s.closing[c.hs] {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) maxStreams() uint32 {
	if s.MaxConcurrentStreams > 0 {
		return s.MaxConcurrentStreams
	}
	return DefaultMaxConcurrentStreams
}

func (s *Server) maxHeaderList(hs *http.Server) uint32 {
	switch {
	case s.MaxHeaderListSize > 0:
		return s.MaxHeaderListSize
	case hs.MaxHeaderBytes > 0:
		return uint32(hs.MaxHeaderBytes)
	}
	return DefaultMaxHeaderListSize
}

func (s *Server) idleTimeout(hs *http.Server) time.Duration {
	switch {
	case s.IdleTimeout != 0:
		return s.IdleTimeout
	case hs.IdleTimeout != 0:
		return hs.IdleTimeout
	}
	return hs.ReadTimeout
}

func (s *Server) writeTimeout() time.Duration {
	if s.WriteTimeout > 0 {
		return s.WriteTimeout
	}
	return DefaultWriteTimeout
}

func (s *Server) maxStreamBuffer() int {
	if s.MaxStreamBuffer > 0 {
		return s.MaxStreamBuffer
	}
	return DefaultMaxStreamBuffer
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
