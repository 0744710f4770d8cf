package sse

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// TestRawWriteNeverWaits: the writers' raw write returns at once when the
// client does not read. Where raw writes exist it sends what the socket
// takes and stops at a full buffer; elsewhere it sends nothing and leaves
// the batch to a goroutine that may wait.
func TestRawWriteNeverWaits(t *testing.T) {
	server, _ := loopback(t, func(ln net.Listener) net.Listener { return ln }) // the client never reads: the server's send buffer fills up
	raw, err := server.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}

	f := newFlusher()
	f.b = make([]byte, 64<<20) // far more than any socket buffer
	done := make(chan error, 1)
	go func() { done <- raw.Write(f.fn) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("raw write: %v", err)
		}
	case <-time.After(30 * time.Second):
		server.Close() // let the goroutine end
		t.Fatal("the raw write waited for a client that does not read")
	}
	switch {
	case f.err != nil:
		t.Fatalf("raw write error: %v", f.err)
	case rawWrites && (f.written == 0 || f.written >= len(f.b)):
		t.Fatalf("raw write sent %d of %d bytes; want part, up to the socket's buffer", f.written, len(f.b))
	case !rawWrites && f.written != 0:
		t.Fatalf("raw write sent %d bytes on a system without raw writes", f.written)
	}
}

// loopback connects a client to a listener on 127.0.0.1, wrapped by wrap,
// and returns the accepted connection and the client's. Both are closed
// when the test ends.
func loopback(t *testing.T, wrap func(net.Listener) net.Listener) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = wrap(ln).Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}
