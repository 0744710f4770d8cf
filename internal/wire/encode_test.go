package wire_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/internal/wire"
)

// normalizeNewlines converts "\r\n" and "\r" to "\n", which is what a reader
// sees of data written by AppendEvent.
func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

func TestValidField(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		valid bool
	}{
		{"empty", "", true},
		{"plain", "update", true},
		{"spaces and colons", " a: b ", true},
		{"unicode", "événement-✓", true},
		{"tab", "a\tb", true},
		{"LF", "a\nb", false},
		{"CR", "a\rb", false},
		{"CRLF", "a\r\n", false},
		{"NUL", "a\x00b", false},
		{"trailing LF", "ok\n", false},
		{"leading CR", "\rok", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wire.ValidField(tt.in)
			if tt.valid {
				if err != nil {
					t.Fatalf("ValidField(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if !errors.Is(err, wire.ErrInvalidField) {
				t.Fatalf("ValidField(%q) = %v, want error wrapping ErrInvalidField", tt.in, err)
			}
		})
	}
}

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name string
		in   wire.Event
		want string
	}{
		{"data only", wire.Event{Data: "hello"}, "data: hello\n\n"},
		{"empty data", wire.Event{}, "data:\n\n"},
		{"all fields", wire.Event{ID: "42", Type: "update", Data: `{"a":1}`, Retry: 1500 * time.Millisecond},
			"id: 42\nevent: update\nretry: 1500\ndata: {\"a\":1}\n\n"},
		{"id only", wire.Event{ID: "7"}, "id: 7\ndata:\n\n"},
		{"type only", wire.Event{Type: "ping"}, "event: ping\ndata:\n\n"},
		{"LF lines", wire.Event{Data: "a\nb\nc"}, "data: a\ndata: b\ndata: c\n\n"},
		{"CRLF lines", wire.Event{Data: "a\r\nb\r\nc"}, "data: a\ndata: b\ndata: c\n\n"},
		{"CR lines", wire.Event{Data: "a\rb\rc"}, "data: a\ndata: b\ndata: c\n\n"},
		{"mixed line endings", wire.Event{Data: "a\r\n\r\nb\n\rc"}, "data: a\ndata:\ndata: b\ndata:\ndata: c\n\n"},
		{"LF then CR is two line endings", wire.Event{Data: "\n\r"}, "data:\ndata:\ndata:\n\n"},
		{"trailing LF", wire.Event{Data: "a\n"}, "data: a\ndata:\n\n"},
		{"trailing CRLF", wire.Event{Data: "a\r\n"}, "data: a\ndata:\n\n"},
		{"trailing CR", wire.Event{Data: "a\r"}, "data: a\ndata:\n\n"},
		{"only LF", wire.Event{Data: "\n"}, "data:\ndata:\n\n"},
		{"leading space kept", wire.Event{Data: " x"}, "data:  x\n\n"},
		{"colon in data", wire.Event{Data: "a: b"}, "data: a: b\n\n"},
		{"NUL in data", wire.Event{Data: "a\x00b"}, "data: a\x00b\n\n"},
		{"field injection", wire.Event{Data: "x\nevent: evil\nid: 666"}, "data: x\ndata: event: evil\ndata: id: 666\n\n"},
		{"dispatch injection", wire.Event{Data: "x\n\ndata: y\r\n\r\nretry: 1"}, "data: x\ndata:\ndata: data: y\ndata:\ndata: retry: 1\n\n"},
		{"id and type with colons", wire.Event{ID: "a: b", Type: ":c"}, "id: a: b\nevent: :c\ndata:\n\n"},
		{"retry truncated to ms", wire.Event{Data: "x", Retry: 2*time.Second + 999*time.Microsecond}, "retry: 2000\ndata: x\n\n"},
		{"retry below 1ms", wire.Event{Data: "x", Retry: time.Microsecond}, "retry: 0\ndata: x\n\n"},
		{"negative retry omitted", wire.Event{Data: "x", Retry: -time.Second}, "data: x\n\n"},
		{"unicode", wire.Event{Data: "héllo ✓\nwörld"}, "data: héllo ✓\ndata: wörld\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.AppendEvent(nil, tt.in)
			if err != nil {
				t.Fatalf("AppendEvent: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("AppendEvent(%+v)\n got %q\nwant %q", tt.in, got, tt.want)
			}

			// Appending to a non-empty buffer keeps the prefix.
			prefixed, err := wire.AppendEvent([]byte("prefix"), tt.in)
			if err != nil || string(prefixed) != "prefix"+tt.want {
				t.Fatalf("AppendEvent with prefix = %q, %v", prefixed, err)
			}

			// The encoding parses back to exactly one equivalent event.
			p := wire.NewParser(bytes.NewReader(got))
			e, err := p.Next()
			if err != nil {
				t.Fatalf("parse back: %v", err)
			}
			want := wire.Event{ID: tt.in.ID, Type: tt.in.Type, Data: normalizeNewlines(tt.in.Data)}
			if want.Type == "" {
				want.Type = "message"
			}
			if tt.in.Retry > 0 {
				want.Retry = tt.in.Retry.Truncate(time.Millisecond)
			}
			if e != want {
				t.Fatalf("parsed back %+v, want %+v", e, want)
			}
			if _, err := p.Next(); err != io.EOF {
				t.Fatalf("second Next: %v, want io.EOF", err)
			}
		})
	}
}

func TestAppendEventInvalid(t *testing.T) {
	tests := []struct {
		name  string
		in    wire.Event
		field string
	}{
		{"id with LF", wire.Event{ID: "1\n", Data: "x"}, "id"},
		{"id with CR", wire.Event{ID: "1\r2"}, "id"},
		{"id with CRLF", wire.Event{ID: "1\r\nevent: evil"}, "id"},
		{"id with NUL", wire.Event{ID: "1\x002"}, "id"},
		{"type with LF", wire.Event{Type: "a\nid: 666", Data: "x"}, "event type"},
		{"type with CR", wire.Event{Type: "\ra"}, "event type"},
		{"type with NUL", wire.Event{Type: "a\x00"}, "event type"},
		{"both invalid", wire.Event{ID: "\n", Type: "\n"}, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, 3, 64)
			copy(dst, "abc")
			got, err := wire.AppendEvent(dst, tt.in)
			if !errors.Is(err, wire.ErrInvalidField) {
				t.Fatalf("AppendEvent error = %v, want ErrInvalidField", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name the field %q", err, tt.field)
			}
			if string(got) != "abc" || len(got) != 3 {
				t.Errorf("dst changed to %q", got)
			}
			if string(dst[:cap(dst)][3:8]) != "\x00\x00\x00\x00\x00" {
				t.Errorf("spare capacity written: %q", dst[:cap(dst)])
			}
		})
	}
}

func TestAppendEventNoAlloc(t *testing.T) {
	e := wire.Event{ID: "1234", Type: "update", Data: "line one\nline two\r\nline three", Retry: time.Second}
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = wire.AppendEvent(buf[:0], e)
	})
	if allocs != 0 {
		t.Fatalf("AppendEvent allocated %v times per call with a large enough buffer", allocs)
	}
}

func TestAppendComment(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ":\n"},
		{"text", "keep-alive", ": keep-alive\n"},
		{"multi-line", "a\nb\r\nc\rd", ": a\n: b\n: c\n: d\n"},
		{"trailing newline", "a\n", ": a\n:\n"},
		{"injection", "x\n\ndata: evil", ": x\n:\n: data: evil\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wire.AppendComment([]byte("p"), tt.in)
			if string(got) != "p"+tt.want {
				t.Fatalf("AppendComment(%q) = %q, want %q", tt.in, got[1:], tt.want)
			}
			// A comment neither dispatches nor disturbs the event around it.
			stream := "data: a\n" + tt.want + "data: b\n\n"
			p := wire.NewParser(strings.NewReader(stream))
			e, err := p.Next()
			if err != nil || e.Data != "a\nb" {
				t.Fatalf("event around comment = %+v, %v; want data %q", e, err, "a\nb")
			}
			if _, err := p.Next(); err != io.EOF {
				t.Fatalf("second Next: %v, want io.EOF", err)
			}
		})
	}
}

func TestAppendRetry(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
		read time.Duration
	}{
		{"seconds", 3 * time.Second, "retry: 3000\n\n", 3 * time.Second},
		{"milliseconds", 1500 * time.Microsecond, "retry: 1\n\n", time.Millisecond},
		{"zero", 0, "retry: 0\n\n", 0},
		{"negative", -time.Second, "retry: 0\n\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wire.AppendRetry(nil, tt.in)
			if string(got) != tt.want {
				t.Fatalf("AppendRetry(%v) = %q, want %q", tt.in, got, tt.want)
			}
			// A retry block sets the reconnection time without an event.
			p := wire.NewParser(bytes.NewReader(append(wire.AppendRetry(nil, 9*time.Second), got...)))
			if e, err := p.Next(); err != io.EOF {
				t.Fatalf("Next = %+v, %v; want io.EOF", e, err)
			}
			if p.Retry() != tt.read {
				t.Fatalf("Retry() = %v, want %v", p.Retry(), tt.read)
			}
		})
	}
}
