package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/valksor/go-sse/internal/selfsigned"
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
	now := time.Now()
	cert, err := selfsigned.Certificate(now, now.Add(24*time.Hour), nil)
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
