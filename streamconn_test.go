package sse

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// TestStreamConnLeanWritesKeepOrder: in lean mode Write returns at once
// while the client does not read, keeping what the socket did not take;
// writes made while drain runs join the backlog behind it; after the
// drains the client has read every byte, in order.
func TestStreamConnLeanWritesKeepOrder(t *testing.T) {
	accepted, client := loopback(t, Listener)
	sc := accepted.(*streamConn)
	sc.goLean()

	// Distinct bytes per chunk, so that a reordering shows.
	chunk := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 64<<10) }
	var want bytes.Buffer
	i := 0
	for ; !sc.backlogged(); i++ {
		if i == 1000 {
			t.Fatal("64 MB written and the socket never filled")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if n, err := sc.Write(chunk(i)); n != 64<<10 || err != nil {
				t.Errorf("write %d: %d, %v", i, n, err)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a lean write waited for a client that does not read")
		}
		want.Write(chunk(i))
	}

	drained := make(chan error, 1)
	go func() { drained <- sc.drain() }()
	for j := i; j < i+4; j++ {
		if _, err := sc.Write(chunk(j)); err != nil {
			t.Fatal(err)
		}
		want.Write(chunk(j))
	}
	got := make([]byte, want.Len())
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(client, got)
		read <- err
	}()
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	// Writes made after that drain ended wait for the next, as the hub's
	// flush starts one whenever a write left a backlog.
	if err := sc.drain(); err != nil {
		t.Fatal(err)
	}
	if sc.backlogged() {
		t.Error("backlog left after drain")
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the client read the bytes out of order")
	}
}
