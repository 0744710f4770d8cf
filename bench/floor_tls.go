package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// ServeFloorTLS starts the floor server on ln with TLS, in the background,
// and returns it: the yardstick of what TLS itself costs per stream. It
// serves HTTP/1.1 only (ALPN "http/1.1") with a self-signed certificate for
// 127.0.0.1, ::1 and localhost made in memory (ECDSA P-256, as
// valksor-sse's --tls-self-signed), so its clients skip verification
// (InsecureSkipVerify). Each stream is hijacked after the handshake and its
// frames are written through the TLS connection, still with no goroutine
// of its own: what a stream costs above the plaintext floor is the TLS
// connection's record buffers and cipher state. Close stops it.
func ServeFloorTLS(ln net.Listener) (*Floor, error) {
	cert, err := floorCertificate(time.Now())
	if err != nil {
		return nil, fmt.Errorf("floor: certificate: %w", err)
	}
	f := ServeFloor(tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}))
	f.tls = true
	return f, nil
}

// RunFloorTLS is RunFloor with TLS: it runs a floor server of
// ServeFloorTLS on addr until ctx ends.
func RunFloorTLS(ctx context.Context, addr string, ready func(addr string)) error {
	return runFloor(ctx, addr, true, ready)
}

// floorCertificate makes the TLS floor's self-signed certificate.
func floorCertificate(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "valksor-sse bench floor"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
