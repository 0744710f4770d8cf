package redis

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	sse "github.com/valksor/go-sse"
)

// Field names of a stream entry. Every entry carries all five, in this
// order, so that Redis stores the names once per internal node.
const (
	fieldType    = "type"
	fieldData    = "data"
	fieldID      = "id"
	fieldRetry   = "retry"
	fieldTopics  = "topics"
	fieldPrivate = "private"
)

// encode returns the XADD field-value pairs of m.
func encode(m *sse.Message) ([]any, error) {
	for _, t := range m.Topics {
		if strings.ContainsRune(t, '\n') {
			return nil, fmt.Errorf("%w: topic %q contains a line break", sse.ErrInvalidTopic, t)
		}
	}
	if m.Retry < 0 {
		return nil, fmt.Errorf("%w: retry must not be negative", sse.ErrInvalidEvent)
	}
	return []any{
		fieldType, m.Type,
		fieldData, m.Data,
		fieldID, m.ID,
		fieldRetry, strconv.FormatInt(m.Retry.Milliseconds(), 10),
		fieldTopics, strings.Join(m.Topics, "\n"),
		fieldPrivate, strconv.FormatBool(m.Private),
	}, nil
}

// valueOr returns v, or "" when the field is absent (entries written before
// the field existed).
func valueOr(v string, ok bool) string {
	if !ok {
		return ""
	}
	return v
}

// errNotEvent marks stream entries that were not written by encode.
var errNotEvent = errors.New("not an event entry")

// decode turns a stream entry back into the message encode stored.
func decode(x goredis.XMessage) (*sse.Message, error) {
	c, ok := sse.ParseCursor(x.ID)
	if !ok {
		return nil, fmt.Errorf("%w: id %q is not <ms>-<seq>", errNotEvent, x.ID)
	}
	field := func(name string) (string, bool) {
		s, ok := x.Values[name].(string)
		return s, ok
	}
	data, ok := field(fieldData)
	if !ok {
		return nil, fmt.Errorf("%w: no %s field", errNotEvent, fieldData)
	}
	m := &sse.Message{Cursor: c, Data: data}
	m.Type, _ = field(fieldType)
	m.ID, _ = field(fieldID)
	if m.ID == "" {
		m.ID = x.ID
	}
	if r, _ := field(fieldRetry); r != "" && r != "0" {
		ms, err := strconv.ParseInt(r, 10, 64)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("%w: %s field %q is not a number of milliseconds", errNotEvent, fieldRetry, r)
		}
		m.Retry = time.Duration(ms) * time.Millisecond
	}
	if t, _ := field(fieldTopics); t != "" {
		m.Topics = strings.Split(t, "\n")
	}
	m.Private, _ = strconv.ParseBool(valueOr(field(fieldPrivate)))
	return m, nil
}

// after returns the smallest stream id greater than c, for an XRANGE that
// excludes c on every Redis version; false when c is the largest id.
func after(c sse.Cursor) (string, bool) {
	switch {
	case c.Seq < math.MaxUint64:
		return sse.Cursor{Ms: c.Ms, Seq: c.Seq + 1}.String(), true
	case c.Ms < math.MaxUint64:
		return sse.Cursor{Ms: c.Ms + 1}.String(), true
	}
	return "", false
}

// before returns the largest stream id smaller than c; false for 0-0.
func before(c sse.Cursor) (string, bool) {
	switch {
	case c.Seq > 0:
		return sse.Cursor{Ms: c.Ms, Seq: c.Seq - 1}.String(), true
	case c.Ms > 0:
		return sse.Cursor{Ms: c.Ms - 1, Seq: math.MaxUint64}.String(), true
	}
	return "", false
}
