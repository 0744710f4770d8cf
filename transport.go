package sse

import "context"

// Transport orders, stores and carries messages between hubs. The hub calls
// it for every publish and for every resume; one transport may serve several
// hubs (several processes, for a networked transport).
//
// Implementations must be safe for concurrent use. After Close, Publish and
// History return an error wrapping ErrTransportClosed, and listeners are no
// longer called. Package ssetest holds the conformance suite every
// implementation passes.
type Transport interface {
	// Publish assigns m.Cursor (a position after every message published
	// before, by any hub sharing the transport), sets m.ID to the cursor's
	// text when it is empty, stores m in the history and delivers it to
	// every listener. When Publish returns nil the message is acknowledged:
	// it is in the history and will reach every listener. When it returns an
	// error, nothing was published; except that a networked transport whose
	// connection fails after sending cannot know, and then returns an error
	// wrapping ErrTransportUnavailable while the message may still be
	// delivered, once.
	//
	// A publisher-chosen m.ID (non-empty when Publish is called) must be
	// unique within the history: when a retained message already has it,
	// Publish stores nothing and returns an error wrapping ErrDuplicateID.
	// An id may be used again once its message has left the history.
	Publish(ctx context.Context, m *Message) error

	// Listen registers fn to receive every message published after Listen
	// returns, by any hub sharing the transport, in cursor order. fn is
	// called from one goroutine at a time, must not block, and must not
	// modify the message. The returned stop function unregisters fn; after
	// it returns fn is not called again.
	Listen(fn func(*Message)) (stop func(), err error)

	// History returns the retained messages published after the message
	// whose ID is lastID (or, when lastID is a cursor, after that position),
	// oldest first. The special lastID "earliest" returns everything
	// retained. An id the transport cannot place (unknown, no longer
	// retained, or a cursor after the newest position) returns everything
	// retained with Complete false: the client may hold events that are
	// gone, so it is told about the gap and given what there is, never
	// silently nothing.
	History(ctx context.Context, lastID string) (History, error)

	// Close releases the transport. It is safe to call more than once.
	Close() error
}

// History is the answer of Transport.History.
type History struct {
	// Messages are the retained messages after the requested id, oldest first.
	Messages []*Message
	// Complete is false when the transport cannot vouch that Messages holds
	// everything after the requested id: the id is older than the retained
	// history, or unknown. The hub then tells the client about the gap.
	Complete bool
	// After is the position Messages follow: the cursor of the requested
	// id when the transport knows it is a position in its order, else zero.
	// A hub whose listener may lag behind History (a networked transport
	// delivers asynchronously) drops live messages at or before After,
	// which the client already has.
	After Cursor
}

// Positioner is implemented by transports that know where their order
// stands. Position returns the cursor of the newest message that a listener
// registered now will not receive (the start position when nothing was
// published yet). A stream opened now that resumes from that cursor later
// misses nothing, so the hub sends it to fresh streams as their first
// Last-Event-ID. It must not block.
type Positioner interface {
	Position() Cursor
}

// HealthChecker is implemented by transports that can lose their backing
// service. Health returns nil when the transport can publish.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// HistoryLener is implemented by transports that can count what they
// retain.
type HistoryLener interface {
	HistoryLen(ctx context.Context) (int, error)
}

// EarliestID is the Last-Event-ID that asks for the whole retained history.
const EarliestID = "earliest"
