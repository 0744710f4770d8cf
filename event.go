package sse

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valksor/go-sse/internal/wire"
)

// DefaultTopic is the public channel. An event published without topics goes
// to it, and a stream opened without ?topic= listens to it. The standard
// events reload and css-update are published there.
const DefaultTopic = "default"

// Standard event types.
const (
	// TypeReload asks browsers to reload the page. Data: {"files": [...]}.
	TypeReload = "reload"
	// TypeCSSUpdate asks browsers to swap the named stylesheets in place.
	// Data: {"files": [...]}.
	TypeCSSUpdate = "css-update"
	// TypePing is the heartbeat sent every ping interval. Data: {"timestamp": <unix ms>}.
	TypePing = "ping"
	// TypePong answers a POST to the ping endpoint on the caller's own stream.
	TypePong = "pong"
	// TypeConnected is the first event of every stream. Data: {"id": "<connection id>"}.
	TypeConnected = "connected"
	// TypeHistoryGap tells a resuming client that events between its
	// Last-Event-ID and the oldest retained event may be lost.
	TypeHistoryGap = "history-gap"
)

// Maximum lengths accepted for an event's identifiers.
const (
	maxIDLen    = 256
	maxTypeLen  = 256
	maxTopicLen = 1024
)

// reservedTypes are the event types only the hub itself sends; a publisher
// that sent them could forge a connection id, a heartbeat or a gap.
var reservedTypes = []string{TypeConnected, TypePing, TypePong, TypeHistoryGap}

// Event is what an application publishes.
//
// The zero value is not useful alone; at least Type or Data should be set. An
// Event is a value: the hub never modifies the caller's copy.
type Event struct {
	// ID is the SSE id. Leave it empty and the transport assigns an ordered
	// one; a publisher-supplied id is kept on the wire and can be resumed from
	// while it is in the history.
	ID string
	// Type is the SSE event type ("event:" field). Empty means "message".
	Type string
	// Data is the payload. A string, []byte or json.RawMessage is sent as is;
	// nil is sent as "{}" (as {"files":[]} for a reload or css-update, what
	// clients expect of them); any other value is encoded as JSON.
	Data any
	// Retry, when positive, tells clients how long to wait before reconnecting.
	Retry time.Duration
	// Topics are the channels the event is published to. Empty means
	// DefaultTopic.
	Topics []string
	// Private events reach only streams whose grant (see Authorizer)
	// allows one of the event's topics; without an Authorizer, nobody.
	Private bool
}

// Reload returns the standard reload event for the changed files.
func Reload(files ...string) Event {
	return Event{Type: TypeReload, Data: filesPayload(files)}
}

// CSSUpdate returns the standard css-update event for the changed stylesheets.
func CSSUpdate(files ...string) Event {
	return Event{Type: TypeCSSUpdate, Data: filesPayload(files)}
}

func filesPayload(files []string) map[string][]string {
	if files == nil {
		files = []string{}
	}
	return map[string][]string{"files": files}
}

// Message is an event as a Transport stores and delivers it: data already
// encoded to text, topics resolved, and a position in the global order.
//
// Messages handed to listeners are shared between goroutines and must be
// treated as read-only.
type Message struct {
	// ID is the id written on the wire: the publisher's, or Cursor.String().
	ID string
	// Cursor is the message's position in the transport's order, assigned by
	// Transport.Publish.
	Cursor Cursor
	// Type is the event type; "" means "message".
	Type string
	// Data is the payload as sent in data: lines.
	Data string
	// Retry is the reconnection hint carried by the event, or 0.
	Retry time.Duration
	// Topics holds at least one topic.
	Topics []string
	// Private restricts delivery to streams granted one of Topics.
	Private bool
}

// Cursor is a position in a transport's global order: milliseconds since
// the Unix epoch and a sequence number within that millisecond. Its text form
// "<ms>-<seq>" is the same as a Redis stream id, so ids from the memory and
// Redis transports compare the same way, and ids survive a restart.
type Cursor struct {
	Ms  uint64
	Seq uint64
}

// String returns the cursor as "<ms>-<seq>".
func (c Cursor) String() string {
	var b [42]byte
	out := strconv.AppendUint(b[:0], c.Ms, 10)
	out = append(out, '-')
	out = strconv.AppendUint(out, c.Seq, 10)
	return string(out)
}

// IsZero reports whether c is the zero cursor, which precedes every message.
func (c Cursor) IsZero() bool { return c.Ms == 0 && c.Seq == 0 }

// Compare returns -1, 0 or +1 as c is before, equal to or after d.
func (c Cursor) Compare(d Cursor) int {
	switch {
	case c.Ms < d.Ms:
		return -1
	case c.Ms > d.Ms:
		return 1
	case c.Seq < d.Seq:
		return -1
	case c.Seq > d.Seq:
		return 1
	}
	return 0
}

// Next returns the cursor following c for a message published at now: the
// current millisecond, or c's millisecond with the next sequence number when
// the clock has not moved past it.
func (c Cursor) Next(now time.Time) Cursor {
	ms := uint64(now.UnixMilli())
	if ms <= c.Ms {
		return Cursor{Ms: c.Ms, Seq: c.Seq + 1}
	}
	return Cursor{Ms: ms}
}

// ParseCursor parses the "<ms>-<seq>" form. It reports false for anything
// else, including publisher-supplied ids.
func ParseCursor(s string) (Cursor, bool) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok || ms == "" || seq == "" || ms[0] == '+' || seq[0] == '+' {
		return Cursor{}, false
	}
	m, err := strconv.ParseUint(ms, 10, 64)
	if err != nil {
		return Cursor{}, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return Cursor{}, false
	}
	return Cursor{Ms: m, Seq: n}, true
}

// message validates e and converts it to a Message ready for a transport.
func (h *Hub) message(e Event) (*Message, error) {
	if e.ID != "" {
		if err := validID(e.ID); err != nil {
			return nil, err
		}
	}
	if err := validType(e.Type); err != nil {
		return nil, err
	}
	if slices.Contains(reservedTypes, e.Type) {
		return nil, fmt.Errorf("%w: type %q is reserved for the server's own events (%s); choose another type", ErrInvalidEvent, e.Type, strings.Join(reservedTypes, ", "))
	}
	if e.Retry < 0 {
		return nil, fmt.Errorf("%w: retry must not be negative", ErrInvalidEvent)
	}
	d := e.Data
	if d == nil && (e.Type == TypeReload || e.Type == TypeCSSUpdate) {
		d = noFiles // what the client and the other senders expect
	}
	data, err := encodeData(d)
	if err != nil {
		return nil, err
	}
	topics, err := h.resolveTopics(e.Topics)
	if err != nil {
		return nil, err
	}
	return &Message{ID: e.ID, Type: e.Type, Data: data, Retry: e.Retry, Topics: topics, Private: e.Private}, nil
}

// noFiles is the data of a reload or css-update published without any.
const noFiles = `{"files":[]}`

func encodeData(v any) (string, error) {
	switch d := v.(type) {
	case nil:
		return "{}", nil
	case string:
		return d, nil
	case []byte:
		return string(d), nil
	case json.RawMessage:
		return string(d), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: data cannot be encoded as JSON: %v", ErrInvalidEvent, err)
	}
	return string(b), nil
}

// validID checks a publisher-chosen id. Ids of the form "<ms>-<seq>" and
// "earliest" are refused: a client resuming from one would be taken to mean a
// position in the history, not this event.
func validID(id string) error {
	if len(id) > maxIDLen {
		return fmt.Errorf("%w: id is %d bytes long; the limit is %d", ErrInvalidEvent, len(id), maxIDLen)
	}
	if err := wire.ValidField(id); err != nil {
		return fmt.Errorf("%w: id %q contains a line break or NUL", ErrInvalidEvent, id)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: id is not valid UTF-8", ErrInvalidEvent)
	}
	if _, ok := ParseCursor(id); ok || id == EarliestID {
		return fmt.Errorf("%w: id %q has the form of the server's own ids (<ms>-<seq>, earliest), which resuming clients would take for a position; choose another id, or leave it empty for one assigned in order", ErrInvalidEvent, id)
	}
	return nil
}

func validType(t string) error {
	if len(t) > maxTypeLen {
		return fmt.Errorf("%w: type is %d bytes long; the limit is %d", ErrInvalidEvent, len(t), maxTypeLen)
	}
	if err := wire.ValidField(t); err != nil {
		return fmt.Errorf("%w: type %q contains a line break or NUL", ErrInvalidEvent, t)
	}
	if !utf8.ValidString(t) {
		return fmt.Errorf("%w: type is not valid UTF-8", ErrInvalidEvent)
	}
	return nil
}

// DefaultMaxTopics is the most topics one stream may listen to and one event
// may be published to, unless WithMaxTopics says otherwise.
const DefaultMaxTopics = 100

// resolveTopics validates the topics of a stream or an event, before any
// other work: at most the configured number, each well formed and allowed,
// duplicates dropped (in linear time), and none meaning DefaultTopic.
func (h *Hub) resolveTopics(list []string) ([]string, error) {
	if len(list) == 0 {
		return []string{DefaultTopic}, nil
	}
	if max := h.opts.maxTopics; len(list) > max {
		return nil, fmt.Errorf("%w: %d topics; the limit is %d per stream and per event (max_topics)", ErrInvalidTopic, len(list), max)
	}
	seen := make(map[string]struct{}, len(list))
	out := list[:0:0]
	for _, t := range list {
		if _, dup := seen[t]; dup {
			continue
		}
		if err := validTopic(t, h.opts.topics); err != nil {
			return nil, err
		}
		seen[t] = struct{}{}
		out = append(out, t)
	}
	return out, nil
}

// validTopic checks one topic name, and, when allowed is not empty, that the
// allowlist (see WithTopics) admits it.
func validTopic(t string, allowed []string) error {
	switch {
	case t == "":
		return fmt.Errorf("%w: empty topic name", ErrInvalidTopic)
	case len(t) > maxTopicLen:
		return fmt.Errorf("%w: topic is %d bytes long; the limit is %d", ErrInvalidTopic, len(t), maxTopicLen)
	case !utf8.ValidString(t):
		return fmt.Errorf("%w: topic is not valid UTF-8", ErrInvalidTopic)
	}
	for _, r := range t {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: topic %q contains a control character", ErrInvalidTopic, t)
		}
	}
	if len(allowed) == 0 || t == DefaultTopic {
		return nil
	}
	for _, p := range allowed {
		if prefix, wild := strings.CutSuffix(p, "*"); p == t || (wild && strings.HasPrefix(t, prefix)) {
			return nil
		}
	}
	return fmt.Errorf("%w: topic %q is not in the configured topics; add it to the topics list", ErrInvalidTopic, t)
}
