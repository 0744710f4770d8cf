package client

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
)

// NewLocalTransport returns the transport of a client of a server on this
// machine (the valksor-sse command's publish, status and tail): LocalTLS
// over HTTPS, and a request sent with the wrong scheme (plain HTTP to a TLS
// server, or the reverse) is sent again with the right one, which is then
// remembered for the host. A request whose body cannot be sent twice gets
// the first answer.
func NewLocalTransport(ownCerts ...string) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = LocalTLS(ownCerts...)
	return &schemeFallback{next: t}
}

// LocalTLS returns the TLS configuration of a client of a server on this
// machine: it accepts the server's own certificate (the first certificate
// of one of the PEM files ownCerts; files that cannot be read are skipped),
// whatever name it was dialled by. Any other certificate must be valid for
// the host by the system's roots, as usual.
func LocalTLS(ownCerts ...string) *tls.Config {
	var own [][]byte
	for _, f := range ownCerts {
		if f != "" {
			own = append(own, leafDER(f)...)
		}
	}
	return &tls.Config{
		// The standard verification is done by VerifyConnection, after
		// the server's own certificate had its chance.
		InsecureSkipVerify: true,
		VerifyConnection:   func(cs tls.ConnectionState) error { return verifyServer(cs, own) },
	}
}

// leafDER returns the first certificate of each PEM file, DER-encoded; a
// file that cannot be read gives nothing (the server may not use it).
func leafDER(file string) [][]byte {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil
		}
		if block.Type == "CERTIFICATE" {
			return [][]byte{block.Bytes}
		}
	}
}

// verifyServer accepts a server whose certificate is one of own, and
// otherwise verifies the chain against the system's roots for the name
// that was dialled.
func verifyServer(cs tls.ConnectionState, own [][]byte) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	for _, der := range own {
		if bytes.Equal(der, leaf.Raw) {
			return nil
		}
	}
	opts := x509.VerifyOptions{DNSName: cs.ServerName, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := leaf.Verify(opts)
	return err
}

// schemeFallback sends a request again with the other scheme when the
// server speaks it: a TLS server answers plain HTTP with a 400 saying so,
// and a plain server answers a TLS handshake with an HTTP response. It
// remembers what a host speaks, so that later requests (tail's
// reconnections) use it at once.
type schemeFallback struct {
	next http.RoundTripper

	mu      sync.Mutex
	learned map[string]string // host → the scheme that answered after a fallback
}

// tlsPortReply is the start of what Go's TLS servers answer to plain HTTP.
const tlsPortReply = "Client sent an HTTP request to an HTTPS server"

func (f *schemeFallback) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	scheme := f.learned[r.URL.Host]
	f.mu.Unlock()
	if scheme != "" && scheme != r.URL.Scheme {
		if r2, ok := withScheme(r, scheme); ok {
			r = r2
		}
	}
	resp, err := f.next.RoundTrip(r)
	switch {
	case err != nil && r.URL.Scheme == "https" && answeredPlain(err):
		return f.again(r, "http", resp, err)
	case err == nil && r.URL.Scheme == "http" && resp.StatusCode == http.StatusBadRequest:
		head := make([]byte, len(tlsPortReply))
		n, _ := io.ReadFull(resp.Body, head)
		if string(head[:n]) == tlsPortReply {
			resp.Body.Close()
			return f.again(r, "https", nil, nil)
		}
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head[:n]), resp.Body), resp.Body}
	}
	return resp, err
}

// answeredPlain reports whether err is a TLS handshake that got an HTTP
// answer.
func answeredPlain(err error) bool {
	var re tls.RecordHeaderError
	return errors.As(err, &re) && string(re.RecordHeader[:]) == "HTTP/"
}

// again sends r with scheme; when its body cannot be sent twice, it
// returns the first answer (resp, err) instead.
func (f *schemeFallback) again(r *http.Request, scheme string, resp *http.Response, err error) (*http.Response, error) {
	r2, ok := withScheme(r, scheme)
	if !ok {
		if err == nil {
			err = errors.New("the server speaks " + scheme + "; use an " + scheme + ":// URL")
		}
		return resp, err
	}
	resp, err = f.next.RoundTrip(r2)
	if err == nil {
		f.mu.Lock()
		if f.learned == nil {
			f.learned = make(map[string]string)
		}
		f.learned[r.URL.Host] = scheme
		f.mu.Unlock()
	}
	return resp, err
}

// withScheme is a copy of r for scheme, with a fresh body; false when the
// body cannot be read again.
func withScheme(r *http.Request, scheme string) (*http.Request, bool) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme = scheme
	if r.Body != nil && r.Body != http.NoBody {
		if r.GetBody == nil {
			return nil, false
		}
		body, err := r.GetBody()
		if err != nil {
			return nil, false
		}
		r2.Body = body
	}
	return r2, true
}
