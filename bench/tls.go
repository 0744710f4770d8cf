package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// ErrUntrustedCertificate is wrapped by the error of Run when the server's
// TLS certificate does not verify with Config.TLSConfig: trust the
// certificate that signed it (TLSConfig.RootCAs; valksor-sse bench --ca
// FILE) or, when benchmarking a server of one's own, skip the verification
// (TLSConfig.InsecureSkipVerify; valksor-sse bench --insecure).
var ErrUntrustedCertificate = errors.New("bench: the server's TLS certificate is not trusted")

// ErrNoHTTP2 is wrapped by the error of Run when Config.H2 is set and the
// server does not negotiate HTTP/2 in its TLS handshake.
var ErrNoHTTP2 = errors.New("bench: the server does not speak HTTP/2")

// protocol names how the streams of c to u speak, for Report.Protocol.
func (c Config) protocol(u *url.URL) string {
	switch {
	case c.H2:
		return fmt.Sprintf("HTTP/2, %d streams per connection", c.H2StreamsPerConn)
	case u.Scheme == "https":
		return "HTTP/1.1 over TLS"
	}
	return "HTTP/1.1"
}

// tlsClientConfig returns the configuration of the stream connections: a
// copy of c.TLSConfig (or the default) for host, offering only proto by
// ALPN.
func tlsClientConfig(c Config, host, proto string) *tls.Config {
	cfg := &tls.Config{}
	if c.TLSConfig != nil {
		cfg = c.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{proto}
	return cfg
}

// dialTLS connects to addr and completes a TLS handshake with cfg within
// timeout. A certificate that does not verify gives an error wrapping
// ErrUntrustedCertificate; when wantProto is set and the server does not
// select it by ALPN, the error wraps ErrNoHTTP2.
func dialTLS(ctx context.Context, addr string, cfg *tls.Config, timeout time.Duration, wantProto string) (*tls.Conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		raw.Close()
		if wantProto != "" && strings.Contains(err.Error(), "no application protocol") {
			// A Go server that offers protocols, none of them wantProto.
			return nil, fmt.Errorf("%w: %s refused protocol %q in the TLS handshake (ALPN): %v; serve HTTP/2 there or bench without --h2", ErrNoHTTP2, addr, wantProto, err)
		}
		return nil, tlsError(addr, err)
	}
	if got := tc.ConnectionState().NegotiatedProtocol; wantProto != "" && got != wantProto {
		tc.Close()
		if got == "" {
			got = "none"
		}
		return nil, fmt.Errorf("%w: %s chose protocol %q in the TLS handshake (ALPN), not %q; serve HTTP/2 there or bench without --h2", ErrNoHTTP2, addr, got, wantProto)
	}
	return tc, nil
}

// tlsError explains a failed handshake: a certificate that does not verify
// wraps ErrUntrustedCertificate and says what to do.
func tlsError(addr string, err error) error {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	if errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return fmt.Errorf("%w: %s: %v; give the certificate that signed it with --ca FILE, or skip verification with --insecure when benchmarking a server of your own", ErrUntrustedCertificate, addr, err)
	}
	return fmt.Errorf("TLS handshake with %s: %w", addr, err)
}

// probeTLS makes one TLS handshake with the stream server before the
// streams connect, so that a certificate that is not trusted, or a server
// without HTTP/2 when it is asked for, fails the run with one clear error
// rather than one per stream. With HTTP/2 the probe is the first
// connection of the pool, kept for the first streams.
func probeTLS(ctx context.Context, t *target) error {
	var err error
	if t.h2 != nil {
		var first bool
		if _, first, err = t.h2.conn(ctx, 0); first {
			t.h2.markReady(0, false)
		}
	} else {
		var tc *tls.Conn
		if tc, err = dialTLS(ctx, t.addr, t.tls, t.timeout, ""); err == nil {
			tc.Close()
		}
	}
	if err == nil || errors.Is(err, ErrUntrustedCertificate) || errors.Is(err, ErrNoHTTP2) {
		return err
	}
	return fmt.Errorf("bench: %w", err)
}
