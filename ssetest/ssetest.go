// Package ssetest is the conformance suite for sse.Transport
// implementations, in the way testing/slogtest is for slog handlers: every
// transport of the project passes it (the memory transport and package
// redis), and so should one of your own.
//
// A transport's own tests call [Run] with a factory for fresh, empty
// transports and the size of their history:
//
//	func TestMyTransport(t *testing.T) {
//		ssetest.Run(t, ssetest.Config{
//			New:         func(t *testing.T) sse.Transport { return mytransport.New(100) },
//			HistorySize: 100,
//		})
//	}
//
// The suite runs as subtests of t and checks what the hub relies on, as the
// Transport interface states it: ordering and cursors, ids (assigned, and
// publisher-chosen ones unique within the history), history and resume
// (after an id, "earliest", and the gaps: an id too old, unknown or in the
// future gets everything retained with Complete false), delivery to
// listeners and their removal, behaviour after Close, and a hub serving
// real streams over HTTP on top of the transport. A transport shared
// between processes also sets [Config.Peer], which returns a second
// transport on the same storage; the suite then checks delivery and resume
// across the two. [Config.TrimSlack] allows a transport that trims its
// history approximately (Redis's MAXLEN ~) to keep a few more messages.
package ssetest

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
)

// Config describes the transport under test.
type Config struct {
	// New returns a fresh, empty transport. The suite closes it.
	New func(t *testing.T) sse.Transport
	// Peer, when set, returns a second transport sharing first's storage,
	// as another process would (a networked transport). The suite closes it.
	Peer func(t *testing.T, first sse.Transport) sse.Transport
	// HistorySize is how many messages New's transports retain. It must be
	// at least 20.
	HistorySize int
	// TrimSlack is how many messages beyond HistorySize a transport may
	// keep before it trims (Redis's approximate trimming keeps up to one
	// internal node more, 100 entries by default). 0 means exactly
	// HistorySize.
	TrimSlack int
}

// wait is the longest the suite waits for an asynchronous delivery.
const wait = 10 * time.Second

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, c Config) {
	if c.HistorySize < 20 {
		t.Fatalf("ssetest: Config.HistorySize must be at least 20, got %d", c.HistorySize)
	}
	newT := func(t *testing.T) sse.Transport {
		tr := c.New(t)
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	t.Run("PublishAssignsOrderedIDs", func(t *testing.T) { testOrderedIDs(t, newT(t)) })
	t.Run("CustomIDKept", func(t *testing.T) { testCustomID(t, newT(t)) })
	t.Run("MessageRoundTrip", func(t *testing.T) { testRoundTrip(t, newT(t)) })
	t.Run("HistoryAfterID", func(t *testing.T) { testHistoryAfter(t, newT(t)) })
	t.Run("HistoryUpToDate", func(t *testing.T) { testUpToDate(t, newT(t)) })
	t.Run("HistoryTrimmedReportsGap", func(t *testing.T) { testTrimmed(t, newT(t), c.HistorySize, c.TrimSlack) })
	t.Run("HistoryUnknownIDReportsGap", func(t *testing.T) { testUnknown(t, newT(t)) })
	t.Run("HistoryFutureCursorReportsGap", func(t *testing.T) { testFuture(t, newT(t)) })
	t.Run("DuplicateIDRefused", func(t *testing.T) { testDuplicateID(t, newT(t), c.HistorySize, c.TrimSlack) })
	t.Run("Position", func(t *testing.T) { testPosition(t, newT(t)) })
	t.Run("HistoryEarliest", func(t *testing.T) { testEarliest(t, newT(t)) })
	t.Run("ListenersSeeOneOrder", func(t *testing.T) { testListenOrder(t, newT(t), c.HistorySize) })
	t.Run("StopListening", func(t *testing.T) { testStop(t, newT(t)) })
	t.Run("CanceledContext", func(t *testing.T) { testCanceled(t, newT(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, c.New(t)) })
	t.Run("HubResumeExactlyOnce", func(t *testing.T) { testHubResume(t, newT(t), c.HistorySize) })
	if c.Peer != nil {
		t.Run("PeerSeesSameOrder", func(t *testing.T) {
			a := newT(t)
			b := c.Peer(t, a)
			t.Cleanup(func() { _ = b.Close() })
			testPeers(t, a, b)
		})
	}
}

func publish(t *testing.T, tr sse.Transport, m *sse.Message) *sse.Message {
	t.Helper()
	if m.Topics == nil {
		m.Topics = []string{sse.DefaultTopic}
	}
	if err := tr.Publish(context.Background(), m); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return m
}

func publishN(t *testing.T, tr sse.Transport, n int) []*sse.Message {
	t.Helper()
	out := make([]*sse.Message, n)
	for i := range out {
		out[i] = publish(t, tr, &sse.Message{Type: "n", Data: fmt.Sprint(i)})
	}
	return out
}

func history(t *testing.T, tr sse.Transport, id string) sse.History {
	t.Helper()
	h, err := tr.History(context.Background(), id)
	if err != nil {
		t.Fatalf("History(%q): %v", id, err)
	}
	return h
}

func datas(ms []*sse.Message) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.Data
	}
	return strings.Join(s, ",")
}

func testOrderedIDs(t *testing.T, tr sse.Transport) {
	ms := publishN(t, tr, 20)
	for i, m := range ms {
		if m.Cursor.IsZero() {
			t.Fatalf("message %d has no cursor", i)
		}
		if m.ID != m.Cursor.String() {
			t.Errorf("message %d: ID %q, want the cursor %q", i, m.ID, m.Cursor)
		}
		if i > 0 && ms[i-1].Cursor.Compare(m.Cursor) >= 0 {
			t.Errorf("cursor %d (%s) is not after cursor %d (%s)", i, m.Cursor, i-1, ms[i-1].Cursor)
		}
	}
}

func testCustomID(t *testing.T, tr sse.Transport) {
	m := publish(t, tr, &sse.Message{ID: "order-42", Data: "a"})
	if m.ID != "order-42" || m.Cursor.IsZero() {
		t.Fatalf("custom id: got ID %q cursor %v", m.ID, m.Cursor)
	}
	publish(t, tr, &sse.Message{Data: "b"})
	publish(t, tr, &sse.Message{ID: "order-43", Data: "c"})
	h := history(t, tr, "order-42")
	if !h.Complete || datas(h.Messages) != "b,c" {
		t.Fatalf("History(order-42) = %q complete=%v, want b,c complete", datas(h.Messages), h.Complete)
	}
	if h.Messages[1].ID != "order-43" {
		t.Errorf("custom id lost in history: %q", h.Messages[1].ID)
	}
}

func testRoundTrip(t *testing.T, tr sse.Transport) {
	got := make(chan *sse.Message, 1)
	stop, err := tr.Listen(func(m *sse.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	first := publish(t, tr, &sse.Message{Data: "first"})
	<-got
	want := sse.Message{Type: "custom-event", Data: "line 1\nline 2\n{\"a\":\"ü\"}", Retry: 1500 * time.Millisecond, Topics: []string{"orders", "users/7"}, Private: true}
	m := want
	publish(t, tr, &m)
	check := func(where string, g *sse.Message) {
		t.Helper()
		if g.Type != want.Type || g.Data != want.Data || g.Retry != want.Retry || g.Private != want.Private || strings.Join(g.Topics, " ") != strings.Join(want.Topics, " ") || g.ID != m.ID || g.Cursor != m.Cursor {
			t.Errorf("%s: got %+v, want %+v", where, *g, m)
		}
	}
	select {
	case g := <-got:
		check("listener", g)
	case <-time.After(wait):
		t.Fatal("listener got nothing")
	}
	h := history(t, tr, first.ID)
	if len(h.Messages) != 1 {
		t.Fatalf("history has %d messages, want 1", len(h.Messages))
	}
	check("history", h.Messages[0])
}

func testHistoryAfter(t *testing.T, tr sse.Transport) {
	ms := publishN(t, tr, 10)
	h := history(t, tr, ms[2].ID)
	if !h.Complete || datas(h.Messages) != "3,4,5,6,7,8,9" {
		t.Fatalf("History after #2 = %q complete=%v", datas(h.Messages), h.Complete)
	}
	// Read your writes: a message is in the history once Publish returns.
	m := publish(t, tr, &sse.Message{Data: "10"})
	h = history(t, tr, ms[9].ID)
	if len(h.Messages) != 1 || h.Messages[0].ID != m.ID {
		t.Fatalf("message not in history right after Publish: %q", datas(h.Messages))
	}
}

func testUpToDate(t *testing.T, tr sse.Transport) {
	ms := publishN(t, tr, 3)
	h := history(t, tr, ms[2].ID)
	if !h.Complete || len(h.Messages) != 0 {
		t.Fatalf("History(newest) = %q complete=%v, want empty and complete", datas(h.Messages), h.Complete)
	}
}

func testTrimmed(t *testing.T, tr sse.Transport, size, slack int) {
	ms := publishN(t, tr, size+slack+10)
	h := history(t, tr, ms[0].ID)
	if h.Complete {
		t.Fatal("History of a trimmed id says complete")
	}
	if len(h.Messages) == 0 || len(h.Messages) > size+slack+9 {
		t.Fatalf("History of a trimmed id returned %d messages", len(h.Messages))
	}
	tail := ms[len(ms)-len(h.Messages):]
	if datas(h.Messages) != datas(tail) {
		t.Fatalf("History of a trimmed id is not the newest retained messages in order")
	}
	// An id from before the transport existed is a gap too.
	h = history(t, tr, "1-0")
	if h.Complete {
		t.Fatal("History(1-0) says complete after trimming")
	}
}

// testUnknown: an id the transport never issued (a publisher's id from
// before a restart, a typo) gets the whole retained history as a gap, so the
// client can deduplicate instead of missing events.
func testUnknown(t *testing.T, tr sse.Transport) {
	publish(t, tr, &sse.Message{ID: "kept-1", Data: "0"})
	publishN(t, tr, 3)
	for _, id := range []string{"no-such-id", "urn:uuid:5d1c3b8e-0000-4000-8000-000000000000", "order-42"} {
		h := history(t, tr, id)
		if h.Complete {
			t.Fatalf("History(%q) says complete", id)
		}
		if got := datas(h.Messages); got != "0,0,1,2" {
			t.Fatalf("History(%q) = %q, want everything retained (0,0,1,2)", id, got)
		}
	}
}

// testFuture: a cursor after the newest position (a client that talked to
// another store, or a clock that jumped) is a gap with everything retained,
// not silence.
func testFuture(t *testing.T, tr sse.Transport) {
	ms := publishN(t, tr, 3)
	future := sse.Cursor{Ms: ms[2].Cursor.Ms + 3_600_000}
	h := history(t, tr, future.String())
	if h.Complete || datas(h.Messages) != "0,1,2" {
		t.Fatalf("History(future %s) = %q complete=%v, want 0,1,2 as a gap", future, datas(h.Messages), h.Complete)
	}
}

// testDuplicateID: a publisher's id that a retained message already has is
// refused, and nothing is stored; once that message left the history the id
// may be used again.
func testDuplicateID(t *testing.T, tr sse.Transport, size, slack int) {
	first := publish(t, tr, &sse.Message{ID: "dup", Data: "e1"})
	publish(t, tr, &sse.Message{Data: "e2"})
	publish(t, tr, &sse.Message{Data: "e3"})
	err := tr.Publish(context.Background(), &sse.Message{ID: "dup", Data: "e4", Topics: []string{sse.DefaultTopic}})
	if !errors.Is(err, sse.ErrDuplicateID) {
		t.Fatalf("second publish of id dup = %v, want ErrDuplicateID", err)
	}
	h := history(t, tr, "dup")
	if !h.Complete || datas(h.Messages) != "e2,e3" {
		t.Fatalf("History(dup) = %q complete=%v, want e2,e3 complete", datas(h.Messages), h.Complete)
	}
	if h.After != first.Cursor {
		t.Fatalf("History(dup).After = %s, want the first event's cursor %s", h.After, first.Cursor)
	}
	// Push "dup" out of the history; then it is free again.
	publishN(t, tr, size+slack+1)
	again := publish(t, tr, &sse.Message{ID: "dup", Data: "e5"})
	publish(t, tr, &sse.Message{Data: "e6"})
	h = history(t, tr, "dup")
	if !h.Complete || datas(h.Messages) != "e6" || h.After != again.Cursor {
		t.Fatalf("History(dup) after reuse = %q complete=%v after=%s, want e6 after %s", datas(h.Messages), h.Complete, h.After, again.Cursor)
	}
}

// testPosition: a transport that reports its position reports one a client
// can resume from without a gap, before and after publishing.
func testPosition(t *testing.T, tr sse.Transport) {
	p, ok := tr.(sse.Positioner)
	if !ok {
		t.Skip("the transport does not implement sse.Positioner")
	}
	start := p.Position()
	ms := publishN(t, tr, 2)
	h := history(t, tr, start.String())
	if !h.Complete || datas(h.Messages) != "0,1" {
		t.Fatalf("History(start position %s) = %q complete=%v, want 0,1 complete", start, datas(h.Messages), h.Complete)
	}
	deadline := time.Now().Add(wait)
	for p.Position() != ms[1].Cursor {
		if time.Now().After(deadline) {
			t.Fatalf("Position() = %s, want the newest cursor %s", p.Position(), ms[1].Cursor)
		}
		time.Sleep(time.Millisecond)
	}
	h = history(t, tr, p.Position().String())
	if !h.Complete || len(h.Messages) != 0 {
		t.Fatalf("History(position) = %q complete=%v, want empty and complete", datas(h.Messages), h.Complete)
	}
}

func testEarliest(t *testing.T, tr sse.Transport) {
	publishN(t, tr, 5)
	h := history(t, tr, sse.EarliestID)
	if datas(h.Messages) != "0,1,2,3,4" {
		t.Fatalf("History(earliest) = %q", datas(h.Messages))
	}
}

func testListenOrder(t *testing.T, tr sse.Transport, size int) {
	a, b := Listen(t, tr), Listen(t, tr)
	const writers = 4
	per := size / 2 / writers
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				m := &sse.Message{Data: fmt.Sprintf("%d.%d", w, i), Topics: []string{sse.DefaultTopic}}
				if err := tr.Publish(context.Background(), m); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	n := writers * per
	ga, gb := a.WaitFor(t, n), b.WaitFor(t, n)
	if datas(ga) != datas(gb) {
		t.Fatal("two listeners saw different orders")
	}
	for i := 1; i < n; i++ {
		if ga[i-1].Cursor.Compare(ga[i].Cursor) >= 0 {
			t.Fatalf("delivery %d is not in cursor order", i)
		}
	}
	h := history(t, tr, ga[0].ID)
	if datas(h.Messages) != datas(ga[1:]) {
		t.Fatal("history order differs from delivery order")
	}
}

func testStop(t *testing.T, tr sse.Transport) {
	var mu sync.Mutex
	n := 0
	stop, err := tr.Listen(func(*sse.Message) { mu.Lock(); n++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	marker := Listen(t, tr)
	publish(t, tr, &sse.Message{Data: "1"})
	marker.WaitFor(t, 1)
	stop()
	publish(t, tr, &sse.Message{Data: "2"})
	marker.WaitFor(t, 2)
	mu.Lock()
	defer mu.Unlock()
	if n != 1 {
		t.Fatalf("stopped listener was called %d times, want 1", n)
	}
}

func testCanceled(t *testing.T, tr sse.Transport) {
	first := publish(t, tr, &sse.Message{Data: "kept"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Publish(ctx, &sse.Message{Data: "lost", Topics: []string{sse.DefaultTopic}}); err == nil {
		t.Fatal("Publish with a canceled context returned nil")
	}
	h := history(t, tr, first.ID)
	if len(h.Messages) != 0 {
		t.Fatalf("a publish that returned an error is in the history: %q", datas(h.Messages))
	}
}

func testClose(t *testing.T, tr sse.Transport) {
	publish(t, tr, &sse.Message{Data: "x"})
	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err := tr.Publish(context.Background(), &sse.Message{Data: "y", Topics: []string{sse.DefaultTopic}})
	if !errors.Is(err, sse.ErrTransportClosed) {
		t.Fatalf("Publish after Close = %v, want ErrTransportClosed", err)
	}
	if _, err := tr.History(context.Background(), sse.EarliestID); !errors.Is(err, sse.ErrTransportClosed) {
		t.Fatalf("History after Close = %v, want ErrTransportClosed", err)
	}
}

func testPeers(t *testing.T, a, b sse.Transport) {
	la, lb := Listen(t, a), Listen(t, b)
	for i := range 20 {
		tr := a
		if i%2 == 1 {
			tr = b
		}
		publish(t, tr, &sse.Message{Data: fmt.Sprint(i)})
	}
	ga, gb := la.WaitFor(t, 20), lb.WaitFor(t, 20)
	if datas(ga) != datas(gb) {
		t.Fatalf("peers saw different orders:\n%s\n%s", datas(ga), datas(gb))
	}
	h := history(t, b, ga[4].ID)
	if datas(h.Messages) != datas(ga[5:]) {
		t.Fatal("peer's history differs from the delivery order")
	}
}

// testHubResume drives a real hub over HTTP: a client that misses up to 50
// events (fewer than the history holds) gets exactly those, in order, when it
// reconnects with its last id.
func testHubResume(t *testing.T, tr sse.Transport, size int) {
	missed := min(50, size-1)
	hub, err := sse.New(sse.WithTransport(tr), sse.WithPingInterval(0), sse.WithAnonymousPublish())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.Handler())
	t.Cleanup(func() {
		_ = hub.Shutdown(context.Background())
		srv.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Read until the first published event arrives, then disconnect.
	sub := &client.Subscriber{URL: srv.URL + "/sse"}
	connected := make(chan struct{})
	readCtx, stopReading := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- sub.Run(readCtx, func(e client.Event) error {
			switch e.Type {
			case sse.TypeConnected:
				close(connected)
			case "before":
				stopReading()
			}
			return nil
		})
	}()
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("no connected event")
	}
	if err := hub.Broadcast(ctx, sse.Event{Type: "before", Data: "b"}); err != nil {
		t.Fatal(err)
	}
	<-done
	last := sub.LastEventID
	if last == "" {
		t.Fatal("no id seen before disconnecting")
	}
	for i := range missed {
		if err := hub.Broadcast(ctx, sse.Event{Type: "missed", Data: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err = sub.Run(ctx, func(e client.Event) error {
		switch e.Type {
		case "missed":
			got = append(got, e.Data)
			if len(got) == missed {
				// A marker published now arrives after any duplicate would.
				go func() { _ = hub.Broadcast(ctx, sse.Event{Type: "after"}) }()
			}
		case "after":
			return errDone
		case sse.TypeHistoryGap:
			return fmt.Errorf("unexpected history-gap after %s", last)
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("resume: %v (got %d events)", err, len(got))
	}
	if len(got) != missed {
		t.Fatalf("resume delivered %d events, want exactly %d: %v", len(got), missed, got)
	}
	for i, d := range got {
		if d != fmt.Sprint(i) {
			t.Fatalf("resume delivered %v, want 0..%d in order", got, missed-1)
		}
	}
}

var errDone = errors.New("done")
