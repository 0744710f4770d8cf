// Package wire implements the Server-Sent Events wire format: an encoder for
// the text/event-stream format and a parser that interprets an event stream
// the way a browser's EventSource does, following the "Server-sent events"
// section of the WHATWG HTML Living Standard ("Parsing an event stream" and
// "Interpreting an event stream").
//
// The encoder ([AppendEvent], [AppendComment], [AppendRetry]) appends to a
// caller-supplied byte slice so that a writer can reuse one buffer and encode
// without allocating. Everything it produces parses back, with [Parser], to
// what was encoded, except that line endings in data read back as LF and
// retry times as whole milliseconds: data can never inject fields, because
// every line of it is written as its own "data:" line, and ids and event types
// that could (those containing CR, LF or NUL) are rejected with
// [ErrInvalidField].
//
// The [Parser] accepts every stream a browser accepts: CRLF, LF and CR line
// endings in any mix and split anywhere across reads, a leading byte order
// mark, comments, fields without a colon and unknown fields. Unlike a browser
// it does not replace invalid UTF-8 with U+FFFD: field values are returned as
// the bytes that were on the wire, so that a Go string sent through
// [AppendEvent] comes back unchanged even if it is not valid UTF-8. The line
// structure is the same either way, since CR and LF never occur inside a
// multi-byte UTF-8 sequence.
package wire

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event is one SSE event as written to or read from the wire.
//
// On the encoding side the zero value of each field means "do not write the
// field", except Data, which is always written. On the parsing side Type is
// never empty and ID is the stream's last event ID at the time the event was
// dispatched.
type Event struct {
	// ID is the value of the "id:" field. AppendEvent writes no id field
	// when ID is empty. The parser sets it to the last event ID buffer at
	// dispatch time, which persists across events until an id field
	// changes it.
	ID string
	// Type is the value of the "event:" field. AppendEvent writes no event
	// field when Type is empty; the parser reports such events with the
	// type "message". A parsed Type may contain NUL, which the
	// specification allows but AppendEvent rejects.
	Type string
	// Data is the event's data. AppendEvent writes one "data:" line per line
	// of Data (lines end with CRLF, LF or CR); the parser joins the data
	// lines of an event with LF.
	Data string
	// Retry is the reconnection time. AppendEvent writes a "retry:" field,
	// in whole milliseconds (truncated), when Retry is positive. The parser
	// sets it when the event's block contained a valid retry field.
	Retry time.Duration
}

// ErrInvalidField is the error, returned wrapped with the name and value of
// the offending field, for an id or event type that contains CR, LF or NUL
// and therefore cannot be written as an SSE field. Test for it with
// errors.Is.
var ErrInvalidField = errors.New("wire: field contains CR, LF or NUL")

// ValidField reports whether s may be used as an event id or event type: it
// returns nil when s contains no '\r', '\n' or '\x00', and otherwise an error
// wrapping ErrInvalidField that quotes s. The empty string is valid.
func ValidField(s string) error {
	if !validValue(s) {
		return fmt.Errorf("%w: %q", ErrInvalidField, s)
	}
	return nil
}

// validValue reports whether s contains no CR, LF or NUL.
func validValue(s string) bool {
	return strings.IndexByte(s, '\n') < 0 &&
		strings.IndexByte(s, '\r') < 0 &&
		strings.IndexByte(s, 0) < 0
}
