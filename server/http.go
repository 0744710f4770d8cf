package server

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// The HTTP server and the listener are built, and connections served, here
// and only here, so that what applies to every connection (timeouts, TLS,
// limits on the listener) has one place.

// readHeaderTimeout bounds the reading of a request's headers.
const readHeaderTimeout = 10 * time.Second

// newHTTPServer returns the http.Server that serves handler: TLS and
// HTTP/2 when the server has a certificate, errors logged at debug level
// (they are mostly clients going away).
func (s *Server) newHTTPServer(handler http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
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
	return srv
}

// listener returns the listener the HTTP server accepts on, built from
// the one Open listened on or was given. Whatever wraps every connection
// (a per-client budget, say) wraps ln here.
func (s *Server) listener(ln net.Listener) net.Listener {
	return ln
}

// serve runs the HTTP server on ln until it stops.
func (s *Server) serve(ln net.Listener) {
	var err error
	if s.cert != nil {
		err = s.srv.ServeTLS(ln, "", "")
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
