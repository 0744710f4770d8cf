package sse

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/selfsigned"
)

// tlsLoopback returns both ends of a TLS 1.3 connection on 127.0.0.1 whose
// server side was accepted through Listener with a config from TLSConfig,
// after the handshake.
func tlsLoopback(t testing.TB) (server *tls.Conn, client *tls.Conn) {
	return tlsLoopbackRecording(t, true)
}

// tlsLoopbackRecording is tlsLoopback whose client keeps what it reads
// (see recordingConn) only when record is true.
func tlsLoopbackRecording(t testing.TB, record bool) (server *tls.Conn, client *tls.Conn) {
	t.Helper()
	cert, err := selfsigned.Certificate(time.Now(), time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tln := tls.NewListener(Listener(ln), TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}))
	accepted := make(chan error, 1)
	go func() {
		c, err := tln.Accept()
		if err == nil {
			server = c.(*tls.Conn)
			err = server.Handshake()
		}
		accepted <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client = tls.Client(&recordingConn{Conn: raw, off: !record}, &tls.Config{InsecureSkipVerify: true})
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

// readString reads exactly len(want) bytes from c and fails unless they
// are want.
func readString(t *testing.T, c *tls.Conn, want string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("read %q, %v; want %q", got, err, want)
	}
}

// TestTakeOverLocksOutCryptoTLS: once the hub took a connection over, a
// write through its *tls.Conn fails and sends nothing (a record of
// crypto/tls's would repeat a sequence number the hub used, and the client
// would refuse it); the hub's records that follow still arrive.
func TestTakeOverLocksOutCryptoTLS(t *testing.T) {
	server, client := tlsLoopback(t)
	sc := server.NetConn().(*streamConn)
	s, err := sc.takeOver(server, []byte("head;"))
	if err != nil || s == nil {
		t.Fatalf("takeOver: %v, %v", s, err)
	}
	readString(t, client, "head;")
	if _, err := s.Write([]byte("first;")); err != nil {
		t.Fatal(err)
	}
	readString(t, client, "first;")
	if _, err := server.Write([]byte("from crypto/tls;")); !errors.Is(err, errTLSTakenOver) {
		t.Fatalf("a write through the *tls.Conn: %v, want %v", err, errTLSTakenOver)
	}
	sc.goLean()
	if _, err := s.Write([]byte("second;")); err != nil {
		t.Fatal(err)
	}
	if sc.backlogged() { // where the socket is not written raw
		if err := sc.drain(); err != nil {
			t.Fatal(err)
		}
	}
	readString(t, client, "second;")
	// Close sends close_notify: the client reads a clean end, and the last
	// record it got is an encrypted alert (two bytes, its type, the tag).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after Close: %d, %v; want io.EOF", n, err)
	}
	got := client.NetConn().(*recordingConn).read
	if last := lastRecord(got); len(last) != recordHeaderLen+2+1+16 || last[0] != recordApplicationData {
		t.Fatalf("the last record is % x, want an encrypted alert", last)
	}
}

// TestSealerStopsAtTheRecordLimit: a stream whose records would pass the
// limit of one key gets an error instead of another record.
func TestSealerStopsAtTheRecordLimit(t *testing.T) {
	server, _ := tlsLoopback(t)
	sc := server.NetConn().(*streamConn)
	s, err := sc.takeOver(server, []byte("head;"))
	if err != nil || s == nil {
		t.Fatalf("takeOver: %v, %v", s, err)
	}
	s.seq = maxRecords - 1
	if _, err := s.Write(make([]byte, maxPlaintext+1)); !errors.Is(err, errRecordLimit) {
		t.Fatalf("two records at the limit: %v, want %v", err, errRecordLimit)
	}
}

// TestTakeOverWithoutSecret: a connection whose handshake left no secret
// (a config not made by TLSConfig) keeps its *tls.Conn; the head is
// written through it.
func TestTakeOverWithoutSecret(t *testing.T) {
	server, client := tlsLoopback(t)
	sc := server.NetConn().(*streamConn)
	sc.mu.Lock()
	sc.keys = nil
	sc.mu.Unlock()
	s, err := sc.takeOver(server, []byte("head;"))
	if err != nil || s != nil {
		t.Fatalf("takeOver: %v, %v; want nil, nil", s, err)
	}
	readString(t, client, "head;")
	if _, err := server.Write([]byte("tls;")); err != nil {
		t.Fatal(err)
	}
	readString(t, client, "tls;")
}

// recordingConn keeps what was read from it, unless off.
type recordingConn struct {
	net.Conn
	off  bool
	read []byte
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.off {
		c.read = append(c.read, p[:n]...)
	}
	return n, err
}

// BenchmarkSealerWrite is the cost of one event frame written to a TLS
// stream the hub took over (sealing it as a record, with the AES-GCM state
// built for the write, and the non-blocking write), against the same
// through its *tls.Conn.
func BenchmarkSealerWrite(b *testing.B) {
	frame := []byte("id: 1796422311074-0\nevent: update\ndata: {\"id\":42,\"status\":\"shipped\",\"total\":\"19.90\"}\n\n")
	for _, c := range []struct {
		name     string
		takeOver bool
	}{{"sealer", true}, {"tls.Conn", false}} {
		b.Run(c.name, func(b *testing.B) {
			server, client := tlsLoopbackRecording(b, false)
			go func() { _, _ = io.Copy(io.Discard, client) }()
			sc := server.NetConn().(*streamConn)
			var w io.Writer = server
			if c.takeOver {
				s, err := sc.takeOver(server, []byte("head;"))
				if err != nil || s == nil {
					b.Fatalf("takeOver: %v, %v", s, err)
				}
				w = s
			} else if _, err := server.Write([]byte("head;")); err != nil {
				b.Fatal(err)
			}
			sc.goLean()
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.Write(frame); err != nil {
					b.Fatal(err)
				}
				if sc.backlogged() {
					if err := sc.drain(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
