package wire

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AppendEvent appends the encoding of e to dst and returns the extended
// slice.
//
// The fields are written in this order: "id: <ID>" if ID is not empty,
// "event: <Type>" if Type is not empty, "retry: <milliseconds>" if Retry is
// positive, then the data lines, then a blank line that ends the event. Data
// is split on "\r\n", "\r" and "\n"; each piece becomes a line "data: <piece>"
// ("data:" alone for an empty piece). There is always at least one data
// line, so an event with empty Data is still dispatched by browsers (with
// empty data). A reader therefore sees Data with every line ending
// normalised to "\n".
//
// If ID or Type contains CR, LF or NUL, AppendEvent returns dst unchanged and
// an error wrapping ErrInvalidField. AppendEvent does not allocate when dst
// has enough spare capacity for the encoded event.
func AppendEvent(dst []byte, e Event) ([]byte, error) {
	if !validValue(e.ID) {
		return dst, fmt.Errorf("%w: id %q", ErrInvalidField, e.ID)
	}
	if !validValue(e.Type) {
		return dst, fmt.Errorf("%w: event type %q", ErrInvalidField, e.Type)
	}

	// Reserve room for the common single-line case in one step; append
	// grows the slice further for multi-line data.
	n := len("data: ") + len(e.Data) + 2
	if e.ID != "" {
		n += len("id: ") + len(e.ID) + 1
	}
	if e.Type != "" {
		n += len("event: ") + len(e.Type) + 1
	}
	if e.Retry > 0 {
		n += len("retry: ") + 20 + 1
	}
	dst = slices.Grow(dst, n)

	if e.ID != "" {
		dst = appendField(dst, "id", e.ID)
	}
	if e.Type != "" {
		dst = appendField(dst, "event", e.Type)
	}
	if e.Retry > 0 {
		dst = appendRetryField(dst, e.Retry)
	}
	dst = appendLines(dst, "data", e.Data)
	return append(dst, '\n'), nil
}

// AppendComment appends text to dst as a comment and returns the extended
// slice. Each line of text (split like [AppendEvent] splits data) becomes a
// line ": <line>" (":" alone for an empty line), so an empty text gives the
// single line ":\n". No blank line is appended: a comment does not end or
// dispatch an event, and readers ignore it. Comments are typically sent as
// keep-alive padding between events.
func AppendComment(dst []byte, text string) []byte {
	return appendLines(dst, "", text)
}

// AppendRetry appends a block holding only a retry field, "retry: <ms>\n\n",
// to dst and returns the extended slice. It tells clients how long to wait
// before reconnecting without dispatching an event. d is written in whole
// milliseconds, truncated; a negative d is written as 0.
func AppendRetry(dst []byte, d time.Duration) []byte {
	dst = appendRetryField(dst, max(d, 0))
	return append(dst, '\n')
}

// AppendID appends a block holding only an id field, "id: <id>\n\n", to dst
// and returns the extended slice. It moves the client's last event ID (what
// it sends as Last-Event-ID when it reconnects) without dispatching an
// event. An id with a line break or NUL is an error and dst is returned
// unchanged.
func AppendID(dst []byte, id string) ([]byte, error) {
	if !validValue(id) {
		return dst, fmt.Errorf("%w: id %q", ErrInvalidField, id)
	}
	dst = appendField(dst, "id", id)
	return append(dst, '\n'), nil
}

// appendField appends the line "name: value" (or "name:" when value is empty).
func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	if value == "" {
		return append(dst, ':', '\n')
	}
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\n')
}

// appendRetryField appends the line "retry: <d in milliseconds>".
func appendRetryField(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, int64(d/time.Millisecond), 10)
	return append(dst, '\n')
}

// appendLines appends one field named name for every line of s, where lines
// are separated by "\r\n", "\r" or "\n". It runs in time linear in len(s):
// the positions of the next CR and the next LF are remembered and searched
// for again only once passed.
func appendLines(dst []byte, name, s string) []byte {
	cr := strings.IndexByte(s, '\r')
	lf := strings.IndexByte(s, '\n')
	start := 0
	for {
		end, next := len(s), -1
		switch {
		case cr >= 0 && (lf < 0 || cr < lf):
			end, next = cr, cr+1
			if lf == cr+1 {
				next++
			}
		case lf >= 0:
			end, next = lf, lf+1
		}
		dst = appendField(dst, name, s[start:end])
		if next < 0 {
			return dst
		}
		start = next
		if cr >= 0 && cr < start {
			cr = indexByteFrom(s, start, '\r')
		}
		if lf >= 0 && lf < start {
			lf = indexByteFrom(s, start, '\n')
		}
	}
}

// indexByteFrom returns the index in s of the first c at or after from, or -1.
func indexByteFrom(s string, from int, c byte) int {
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return -1
}
