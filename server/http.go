package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/h2"
	"github.com/valksor/go-sse/ratelimit"
)

// The HTTP server and the listener are built, and connections served, here
// and only here, so that what applies to every connection (timeouts, TLS,
// limits on the listener) has one place.

// newHTTPServer returns the http.Server that serves handler: TLS and
// HTTP/2 when the server has a certificate, the idle and read timeouts
// (which net/http lifts for a stream once its handler runs: the hub takes
// over or keeps the connection), and its errors in the server's log.
func (s *Server) newHTTPServer(handler http.Handler) *http.Server {
	read, idle := s.opts.ReadTimeout, s.opts.IdleTimeout
	if read <= 0 {
		read = DefaultReadTimeout
	}
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: read,
		ReadTimeout:       read,
		IdleTimeout:       idle,
		ErrorLog:          log.New(errorLog{s.log}, "", 0),
	}
	if s.cert == nil {
		return srv
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	srv.Protocols = &protos
	srv.TLSConfig = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: s.cert.get,
	}
	// HTTP/2 is served by package h2 rather than net/http's own server, so
	// that the hub detaches HTTP/2 streams from their handlers as it takes
	// HTTP/1.1 ones over (see sse.Detacher). A write to its socket may
	// wait as long as one to an HTTP/1.1 stream (h2's default when the
	// hub sets no bound).
	hs := &h2.Server{Logger: s.log, WriteTimeout: s.hub.WriteTimeout()}
	hs.Configure(srv)
	return srv
}

// listener returns the listener the HTTP server accepts on, built from
// the one Open listened on or was given. Whatever wraps every connection
// (a per-client budget, say) wraps ln here.
func (s *Server) listener(ln net.Listener) net.Listener {
	return ratelimit.Listener(ln, ratelimit.ListenerConfig{
		PerClient:      s.opts.Limits.ConnectionsPerClient,
		TrustedProxies: s.opts.Limits.TrustedProxies,
		Logger:         s.log,
	})
}

// errorLog writes net/http's error log to the server's logger: a recovered
// handler panic as an error, a client that failed its TLS handshake or
// HTTP/2 preface (scanners, clients going away) at debug level, anything
// else as a warning, so that an operator sees it at the default level.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	switch {
	case strings.HasPrefix(msg, "http: panic serving"):
		level = slog.LevelError
	case strings.HasPrefix(msg, "http: TLS handshake error"),
		strings.HasPrefix(msg, "http2: server: error reading preface"):
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, "http server: "+msg)
	return len(p), nil
}

// serve runs the HTTP server on ln until it stops.
func (s *Server) serve(ln net.Listener) {
	var err error
	if s.cert != nil {
		// sse.Listener lets the hub write the HTTP/1.1 streams it takes
		// over without waiting, and sse.TLSConfig lets it write their TLS
		// 1.3 records itself, without crypto/tls's buffers; TLSConfig
		// offers h2, so HTTP/2 is still negotiated.
		err = s.srv.Serve(tls.NewListener(sse.Listener(ln), sse.TLSConfig(s.srv.TLSConfig)))
	} else {
		err = s.srv.Serve(ln)
	}
	s.mu.Lock()
	if !errors.Is(err, http.ErrServerClosed) {
		s.serveErr = err
	}
	s.mu.Unlock()
	close(s.done)
}
