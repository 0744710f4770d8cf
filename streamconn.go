package sse

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// Listener returns ln with its connections prepared for TLS streams the hub
// takes over. Put it under tls.NewListener when serving TLS yourself:
//
//	ln, err := net.Listen("tcp", ":8443")
//	...
//	err = srv.Serve(tls.NewListener(sse.Listener(ln), sse.TLSConfig(srv.TLSConfig)))
//
// (srv.TLSConfig listing "h2" and "http/1.1" in NextProtos, so that HTTP/2
// is still negotiated; see TLSConfig for what it adds). While net/http
// serves a connection (the TLS handshake, requests, HTTP/2), it behaves
// exactly as the one ln accepted. Once the hub has taken over an HTTP/1.1
// stream on it, the hub's writers encrypt frames (through the *tls.Conn,
// or as records of their own with TLSConfig) and the socket takes what it
// can without waiting; the rest is left for a goroutine that may wait, as
// for plain HTTP. Without it, a TLS stream the hub takes over is written from a
// goroutine of its own for every batch of events.
//
// Plain HTTP needs no wrapping. The connections keep SyscallConn and
// CloseWrite of ln's (a *net.TCPConn's or one wrapping it); they do not
// offer ReadFrom, which TLS cannot use anyway. Close of the returned
// listener closes ln.
func Listener(ln net.Listener) net.Listener {
	return streamListener{ln}
}

type streamListener struct{ net.Listener }

// Accept implements net.Listener.
func (l streamListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &streamConn{Conn: c}, nil
}

// streamConn is a connection accepted by Listener. It passes everything to
// Conn until the hub switches it to lean mode, after which Write never
// waits: it writes what the socket takes now and keeps the rest in backlog,
// which drain writes later, on a goroutine that may wait.
//
// The backlog is bounded by what the hub writes between two drains: the hub
// writes no more frames to a stream whose connection has a backlog until
// drain emptied it, so it holds at most the records of one batch (and the
// close_notify alert of a closing connection).
type streamConn struct {
	net.Conn
	lean atomic.Bool
	// tls is tlsNormal, or tlsCapturing or tlsSealed while and after the
	// hub takes the connection over from crypto/tls (see TLSConfig).
	tls atomic.Uint32

	mu      sync.Mutex
	raw     syscall.RawConn // nil where the socket cannot be written raw
	backlog []byte          // encrypted bytes the socket has not taken yet
	keys    *streamKeys     // from the handshake to the hand-off; nil without TLSConfig
}

// streamKeys is what taking a TLS 1.3 stream over needs from its
// handshake and hand-off. streamConn.mu guards it.
type streamKeys struct {
	secret []byte // the server application traffic secret, from the key log
	last   []byte // while capturing: the last record crypto/tls wrote
}

// The states of streamConn.tls.
const (
	tlsNormal    = iota // crypto/tls writes
	tlsCapturing        // crypto/tls writes; the last record is kept
	tlsSealed           // the hub writes records; crypto/tls may not
)

// tlsStream returns the streamConn under conn, or nil when conn is not a
// TLS connection accepted through Listener.
func tlsStream(conn net.Conn) *streamConn {
	switch c := conn.(type) {
	case *tls.Conn:
		sc, _ := c.NetConn().(*streamConn)
		return sc
	case *sealer:
		return c.streamConn
	}
	return nil
}

// SyscallConn returns the underlying connection's, for the close watcher
// and for plain HTTP streams.
func (c *streamConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("sse: the listener's connections have no file descriptor")
}

// CloseWrite shuts down the writing side of the underlying connection, as
// net/http does for plain HTTP before closing.
func (c *streamConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("sse: the listener's connections cannot close their writing side")
}

// goLean switches c to non-blocking writes. Call it once no write is in
// progress: after the hub wrote the stream's opening.
func (c *streamConn) goLean() {
	c.mu.Lock()
	if rawWrites {
		c.raw, _ = c.SyscallConn()
	}
	c.mu.Unlock()
	c.lean.Store(true)
}

// Write implements net.Conn for crypto/tls. In lean mode it never waits.
// Once the hub took the connection over, it refuses to write.
func (c *streamConn) Write(p []byte) (int, error) {
	switch c.tls.Load() {
	case tlsCapturing:
		return c.writeCapturing(p)
	case tlsSealed:
		return 0, errTLSTakenOver
	}
	if !c.lean.Load() {
		return c.Conn.Write(p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeLeanLocked(p)
}

// writeCapturing writes p, records from crypto/tls, and keeps the last
// record for takeOver. Under c.mu, so that no record can follow the one
// kept once takeOver has sealed the connection.
func (c *streamConn) writeCapturing(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.tls.Load() { // takeOver may have finished meanwhile
	case tlsSealed:
		return 0, errTLSTakenOver
	case tlsNormal:
		return c.Conn.Write(p)
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		return n, err
	}
	// crypto/tls writes whole records.
	c.keys.last = append(c.keys.last[:0], lastRecord(p)...)
	return n, nil
}

// lastRecord returns the last whole TLS record in b, nil if there is none.
func lastRecord(b []byte) []byte {
	var last []byte
	for len(b) >= recordHeaderLen {
		size := recordHeaderLen + (int(b[3])<<8 | int(b[4]))
		if size > len(b) {
			break
		}
		last, b = b[:size], b[size:]
	}
	return last
}

// writeLeanLocked writes what the socket takes of p now and keeps the rest
// in the backlog. c.mu is held.
func (c *streamConn) writeLeanLocked(p []byte) (int, error) {
	n := 0
	if len(c.backlog) == 0 && c.raw != nil {
		f := borrowFlusher()
		f.b, f.written, f.err = p, 0, nil
		err := c.raw.Write(f.fn)
		n = f.written
		if err == nil {
			err = f.err
		}
		f.b = nil
		returnFlusher(f)
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		c.backlog = append(c.backlog, p[n:]...)
	}
	return len(p), nil
}

// backlogged reports whether bytes wait for drain.
func (c *streamConn) backlogged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.backlog) > 0
}

// drain writes the backlog, waiting for the socket as long as the write
// deadline allows. Writes arriving meanwhile join the backlog, in order.
func (c *streamConn) drain() error {
	for {
		c.mu.Lock()
		b := c.backlog
		c.mu.Unlock()
		if len(b) == 0 {
			return nil
		}
		n, err := c.Conn.Write(b)
		c.mu.Lock()
		// Appends made meanwhile kept b as the backlog's first bytes.
		c.backlog = c.backlog[n:]
		if len(c.backlog) == 0 {
			c.backlog = nil
		}
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
}
