package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/valksor/go-sse/internal/wire"
)

// readers are the ways each parser test case is fed to the parser: whole,
// one byte per Read (so every CR/LF pair is split across reads), in halves,
// and with io.EOF returned together with the last bytes.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one-byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data-err", iotest.DataErrReader},
}

// parseAll reads events from r until Next fails.
func parseAll(p *wire.Parser) ([]wire.Event, error) {
	var events []wire.Event
	for {
		e, err := p.Next()
		if err != nil {
			return events, err
		}
		events = append(events, e)
	}
}

// msg returns a dispatched event of type "message".
func msg(id, data string) wire.Event {
	return wire.Event{ID: id, Type: "message", Data: data}
}

func TestParser(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   []wire.Event
		lastID string
		retry  time.Duration
	}{
		// Examples from the "Server-sent events" section of the HTML standard.
		{
			name: "spec: stock ticker",
			in:   "data: YHOO\ndata: +2\ndata: 10\n\n",
			want: []wire.Event{msg("", "YHOO\n+2\n10")},
		},
		{
			name: "spec: four blocks with ids",
			in:   ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
			want: []wire.Event{msg("1", "first event"), msg("", "second event"), msg("", " third event")},
		},
		{
			name: "spec: empty data and lone newline",
			in:   "data\n\ndata\ndata\n\ndata:",
			want: []wire.Event{msg("", ""), msg("", "\n")},
		},
		{
			name: "spec: space after colon is optional",
			in:   "data:test\n\ndata: test\n\n",
			want: []wire.Event{msg("", "test"), msg("", "test")},
		},
		{
			name: "spec: introduction messages",
			in: "data: This is the first message.\n\n" +
				"data: This is the second message, it\ndata: has two lines.\n\n" +
				"data: This is the third message.\n\n",
			want: []wire.Event{
				msg("", "This is the first message."),
				msg("", "This is the second message, it\nhas two lines."),
				msg("", "This is the third message."),
			},
		},
		{
			name: "spec: event types",
			in:   "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
			want: []wire.Event{
				{Type: "add", Data: "73857293"},
				{Type: "remove", Data: "2153"},
				{Type: "add", Data: "113411"},
			},
		},

		// Line endings.
		{
			name:   "CRLF",
			in:     "id: 1\r\nevent: e\r\ndata: a\r\ndata: b\r\n\r\n",
			want:   []wire.Event{{ID: "1", Type: "e", Data: "a\nb"}},
			lastID: "1",
		},
		{
			name:   "CR only",
			in:     "id: 1\revent: e\rdata: a\rdata: b\r\rdata: c\r\r",
			want:   []wire.Event{{ID: "1", Type: "e", Data: "a\nb"}, msg("1", "c")},
			lastID: "1",
		},
		{
			name: "mixed endings",
			in:   "data: a\r\ndata: b\rdata: c\n\r\n",
			want: []wire.Event{msg("", "a\nb\nc")},
		},
		{
			name: "LF then CR is two lines",
			in:   "data: a\n\rdata: b\n\n",
			want: []wire.Event{msg("", "a"), msg("", "b")},
		},
		{
			name: "CRLF then LF",
			in:   "data: a\r\n\ndata: b\r\r\n",
			want: []wire.Event{msg("", "a"), msg("", "b")},
		},
		{
			name: "CR CR LF",
			in:   "data: a\r\r\ndata: b\n\n",
			want: []wire.Event{msg("", "a"), msg("", "b")},
		},

		// Byte order mark.
		{
			name: "BOM skipped",
			in:   "\xEF\xBB\xBFdata: x\n\n",
			want: []wire.Event{msg("", "x")},
		},
		{
			name: "BOM then blank line",
			in:   "\xEF\xBB\xBF\ndata: x\n\n",
			want: []wire.Event{msg("", "x")},
		},
		{
			name: "only one BOM skipped",
			in:   "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n",
			want: []wire.Event{msg("", "y")},
		},
		{
			name: "partial BOM is part of the field name",
			in:   "\xEF\xBBdata: x\n\ndata: y\n\n",
			want: []wire.Event{msg("", "y")},
		},
		{
			name: "BOM later in the stream is data",
			in:   "data: \xEF\xBB\xBFx\n\n",
			want: []wire.Event{msg("", "\uFEFFx")},
		},
		{name: "BOM only", in: "\xEF\xBB\xBF"},
		{name: "partial BOM only", in: "\xEF\xBB"},

		// Last event ID.
		{
			name:   "id persists across events",
			in:     "id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n",
			want:   []wire.Event{msg("1", "a"), msg("1", "b"), msg("2", "c"), msg("2", "d")},
			lastID: "2",
		},
		{
			name:   "id with NUL ignored",
			in:     "id: 1\n\nid: a\x00b\ndata: x\n\n",
			want:   []wire.Event{msg("1", "x")},
			lastID: "1",
		},
		{
			name: "empty id resets",
			in:   "id: 1\ndata: a\n\nid:\ndata: b\n\n",
			want: []wire.Event{msg("1", "a"), msg("", "b")},
		},
		{
			name: "id without colon resets",
			in:   "id: 1\ndata: a\n\nid\ndata: b\n\n",
			want: []wire.Event{msg("1", "a"), msg("", "b")},
		},
		{
			name:   "id in a block without data",
			in:     "id: 7\n\n",
			lastID: "7",
		},
		{
			name:   "id set before data in the next event",
			in:     "id: 7\n\ndata: x\n\n",
			want:   []wire.Event{msg("7", "x")},
			lastID: "7",
		},
		{
			name:   "last id of the block wins",
			in:     "id: 1\nid: 2\ndata: x\nid: 3\n\n",
			want:   []wire.Event{msg("3", "x")},
			lastID: "3",
		},
		{
			name:   "id in an incomplete block does not count",
			in:     "id: 1\ndata: a\n\nid: 2\ndata: b\n",
			want:   []wire.Event{msg("1", "a")},
			lastID: "1",
		},
		{
			name:   "id keeps spaces after the first",
			in:     "id:  x \ndata\n\n",
			want:   []wire.Event{msg(" x ", "")},
			lastID: " x ",
		},

		// Retry.
		{
			name:  "retry",
			in:    "retry: 1000\ndata: x\n\n",
			want:  []wire.Event{{Type: "message", Data: "x", Retry: time.Second}},
			retry: time.Second,
		},
		{
			name:  "retry only block",
			in:    "retry: 2500\n\n",
			retry: 2500 * time.Millisecond,
		},
		{
			name:  "retry applies at once, even in an incomplete block",
			in:    "retry: 2500\n",
			retry: 2500 * time.Millisecond,
		},
		{
			name:  "retry without final line ending ignored",
			in:    "retry: 2500",
			retry: 0,
		},
		{
			name:  "retry belongs to its block",
			in:    "retry: 5\ndata: a\n\ndata: b\n\n",
			want:  []wire.Event{{Type: "message", Data: "a", Retry: 5 * time.Millisecond}, msg("", "b")},
			retry: 5 * time.Millisecond,
		},
		{
			name: "invalid retry values ignored",
			in: "retry: 1000\n\nretry: 12a\ndata: x\n\nretry: -5\n\nretry: 1.5\n\nretry:  100\n\n" +
				"retry:\n\nretry\n\nretry: +1\n\nretry: 0x10\n\nretry: ١٢\n\n",
			want:  []wire.Event{msg("", "x")},
			retry: time.Second,
		},
		{
			name:  "retry zero",
			in:    "retry: 1000\n\nretry: 0\n\n",
			retry: 0,
		},
		{
			name:  "retry leading zeros",
			in:    "retry: 000123\n\n",
			retry: 123 * time.Millisecond,
		},
		{
			name:  "retry saturates",
			in:    "retry: 99999999999999999999999999\ndata: x\n\n",
			want:  []wire.Event{{Type: "message", Data: "x", Retry: math.MaxInt64}},
			retry: math.MaxInt64,
		},
		{
			name:  "retry one past the largest exact saturates",
			in:    "retry: 9223372036855\n\n",
			retry: math.MaxInt64,
		},
		{
			name:  "retry that overflows int64 saturates",
			in:    "retry:9227000000000000000\n\n",
			retry: math.MaxInt64,
		},
		{
			name:  "retry largest exact",
			in:    "retry: 9223372036854\n\n",
			retry: 9223372036854 * time.Millisecond,
		},

		// Fields.
		{
			name: "unknown and miscased fields ignored",
			in:   "Data: x\nDATA: y\n\nfoo: bar\ndata: z\nbaz\n\n",
			want: []wire.Event{msg("", "z")},
		},
		{
			name: "event without value means message",
			in:   "event\ndata: x\n\nevent:\ndata: y\n\n",
			want: []wire.Event{msg("", "x"), msg("", "y")},
		},
		{
			name: "only one space removed",
			in:   "data:   x\n\ndata:\tx\n\ndata: \n\n",
			want: []wire.Event{msg("", "  x"), msg("", "\tx"), msg("", "")},
		},
		{
			name: "value split at first colon",
			in:   "data: a:b: c\n\nevent: x:y\ndata\n\n",
			want: []wire.Event{msg("", "a:b: c"), {Type: "x:y", Data: ""}},
		},
		{
			name: "space before colon is part of the name",
			in:   "data : x\n\ndata: y\n\n",
			want: []wire.Event{msg("", "y")},
		},
		{
			name: "event type reset after dispatch",
			in:   "event: foo\ndata: a\n\ndata: b\n\n",
			want: []wire.Event{{Type: "foo", Data: "a"}, msg("", "b")},
		},
		{
			name: "event type of an empty block does not leak",
			in:   "event: foo\n\ndata: b\n\n",
			want: []wire.Event{msg("", "b")},
		},
		{
			name: "last event type wins",
			in:   "event: a\nevent: b\ndata\n\n",
			want: []wire.Event{{Type: "b"}},
		},
		{
			name: "comments ignored",
			in:   ":\n: comment\ndata: x\n:another\n:\r\n\n",
			want: []wire.Event{msg("", "x")},
		},
		{
			name: "comment line does not dispatch",
			in:   "data: x\n:\ndata: y\n\n",
			want: []wire.Event{msg("", "x\ny")},
		},
		{
			name: "NUL and invalid UTF-8 in data kept",
			in:   "data: a\x00b\xff\xfe\n\n",
			want: []wire.Event{msg("", "a\x00b\xff\xfe")},
		},
		{
			name: "unicode",
			in:   "event: ✓\ndata: héllo\n\n",
			want: []wire.Event{{Type: "✓", Data: "héllo"}},
		},

		// End of stream.
		{name: "empty stream", in: ""},
		{name: "blank lines only", in: "\n\r\n\r\n\n"},
		{name: "no blank line", in: "data: x"},
		{name: "no final blank line", in: "data: x\n"},
		{name: "CR without blank line", in: "data: x\r"},
		{
			name: "incomplete last event discarded",
			in:   "data: a\n\ndata: b\n",
			want: []wire.Event{msg("", "a")},
		},
	}
	for _, tt := range tests {
		want := slices.Clone(tt.want)
		for i := range want {
			if want[i].Type == "" {
				want[i].Type = "message"
			}
		}
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				p := wire.NewParser(rd.wrap(strings.NewReader(tt.in)))
				got, err := parseAll(p)
				if err != io.EOF {
					t.Fatalf("final error = %v, want io.EOF", err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("events\n got %+v\nwant %+v", got, want)
				}
				if p.LastEventID() != tt.lastID {
					t.Errorf("LastEventID() = %q, want %q", p.LastEventID(), tt.lastID)
				}
				if p.Retry() != tt.retry {
					t.Errorf("Retry() = %v, want %v", p.Retry(), tt.retry)
				}
				// io.EOF is sticky.
				if _, err := p.Next(); err != io.EOF {
					t.Errorf("Next after EOF = %v, want io.EOF", err)
				}
			})
		}
	}
}

// chunkReader returns its chunks one per Read.
type chunkReader struct{ chunks []string }

func (r *chunkReader) Read(b []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func TestParserSplitReads(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []wire.Event
	}{
		{
			name:   "CRLF split after CR",
			chunks: []string{"data: a\r", "\ndata: b\r", "\n\r", "\n"},
			want:   []wire.Event{msg("", "a\nb")},
		},
		{
			name:   "CR at end of read then CR",
			chunks: []string{"data: a\r", "\r", "data: b\r", "\r"},
			want:   []wire.Event{msg("", "a"), msg("", "b")},
		},
		{
			name:   "LF after CR split across reads, then blank line",
			chunks: []string{"data: a\r", "\n", "\n"},
			want:   []wire.Event{msg("", "a")},
		},
		{
			name:   "BOM split across reads",
			chunks: []string{"\xEF", "\xBB", "\xBFdata: x\n\n"},
			want:   []wire.Event{msg("", "x")},
		},
		{
			name:   "field name split",
			chunks: []string{"da", "ta", ":", " ", "x", "\n", "\n"},
			want:   []wire.Event{msg("", "x")},
		},
		{
			name:   "empty reads in between",
			chunks: []string{"data: x\n", "", "", "\n"},
			want:   []wire.Event{msg("", "x")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAll(wire.NewParser(&chunkReader{chunks: slices.Clone(tt.chunks)}))
			if err != io.EOF {
				t.Fatalf("final error = %v, want io.EOF", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("events\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParserLive checks that an event is returned as soon as its blank line
// has arrived, without waiting for more input, also when the lines end with
// a CR that might be followed by an LF.
func TestParserLive(t *testing.T) {
	tests := []struct {
		name  string
		write string
		want  string
	}{
		{"LF", "data: x\n\n", "x"},
		{"CRLF", "data: x\r\n\r\n", "x"},
		{"CR", "data: x\r\r", "x"},
		{"BOM", "\xEF\xBB\xBFdata: x\n\n", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pr.Close()
			p := wire.NewParser(pr)
			// next runs p.Next after writing chunk to the pipe, and fails
			// the test if Next does not return in time: the next chunk is
			// only written after Next has returned.
			next := func(chunk string) (wire.Event, error) {
				go pw.Write([]byte(chunk))
				done := make(chan struct{})
				var e wire.Event
				var err error
				go func() {
					defer close(done)
					e, err = p.Next()
				}()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					pr.Close()
					<-done
					t.Fatal("Next blocked after a complete event")
				}
				return e, err
			}
			e, err := next(tt.write)
			if err != nil || e.Data != tt.want {
				t.Fatalf("Next = %+v, %v; want data %q", e, err, tt.want)
			}
			// An LF right after a CR-terminated blank line belongs to that
			// line ending and must not count as another line.
			e, err = next("\ndata: y\n\n")
			if err != nil || e.Data != "y" {
				t.Fatalf("second Next = %+v, %v; want data %q", e, err, "y")
			}
			pw.Close()
			if _, err := p.Next(); err != io.EOF {
				t.Fatalf("Next at end = %v, want io.EOF", err)
			}
		})
	}
}

// endlessReader returns the same byte forever.
type endlessReader byte

func (r endlessReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(r)
	}
	return len(b), nil
}

func TestParserEventTooLarge(t *testing.T) {
	const max = 16
	tests := []struct {
		name string
		r    io.Reader
		want []wire.Event // events before the error; nil error means io.EOF
		err  error
	}{
		{
			name: "data line at limit",
			r:    strings.NewReader("data:" + strings.Repeat("x", max-5) + "\n\n"),
			want: []wire.Event{msg("", strings.Repeat("x", max-5))},
			err:  io.EOF,
		},
		{
			name: "data at limit over several lines",
			r:    strings.NewReader("data:1234567\ndata:12345678\n\n"),
			want: []wire.Event{msg("", "1234567\n12345678")},
			err:  io.EOF,
		},
		{
			name: "line one byte over",
			r:    strings.NewReader("data: x\n\ndata:" + strings.Repeat("x", max-4) + "\n\n"),
			want: []wire.Event{msg("", "x")},
			err:  wire.ErrEventTooLarge,
		},
		{
			name: "long id line",
			r:    strings.NewReader("id: " + strings.Repeat("1", 100) + "\ndata\n\n"),
			err:  wire.ErrEventTooLarge,
		},
		{
			name: "long comment line",
			r:    strings.NewReader(":" + strings.Repeat(" ", 100) + "\r\ndata\n\n"),
			err:  wire.ErrEventTooLarge,
		},
		{
			name: "long line without ending",
			r:    strings.NewReader(strings.Repeat("a", 100)),
			err:  wire.ErrEventTooLarge,
		},
		{
			name: "data accumulated over lines",
			r:    strings.NewReader("data:1234567\ndata:123456789\n\n"),
			err:  wire.ErrEventTooLarge,
		},
		{
			name: "many empty data lines",
			r:    strings.NewReader(strings.Repeat("data\n", 18) + "\n"),
			err:  wire.ErrEventTooLarge,
		},
		{
			name: "endless line",
			r:    endlessReader('a'),
			err:  wire.ErrEventTooLarge,
		},
		{
			name: "endless line one byte at a time",
			r:    iotest.OneByteReader(endlessReader('a')),
			err:  wire.ErrEventTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wire.NewParser(tt.r)
			p.MaxEventSize = max
			got, err := parseAll(p)
			if !errors.Is(err, tt.err) {
				t.Fatalf("final error = %v, want %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("events\n got %+v\nwant %+v", got, tt.want)
			}
			if _, err2 := p.Next(); err2 != err {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
		})
	}
}

func TestParserDefaultMaxEventSize(t *testing.T) {
	tests := []struct {
		name string
		size int
		err  error
	}{
		{"at limit", wire.DefaultMaxEventSize, io.EOF},
		{"over limit", wire.DefaultMaxEventSize + 1, wire.ErrEventTooLarge},
	}
	for _, tt := range tests {
		for _, setting := range []int{-1, 0, wire.DefaultMaxEventSize} {
			t.Run(fmt.Sprintf("%s/MaxEventSize=%d", tt.name, setting), func(t *testing.T) {
				in := "data:" + strings.Repeat("x", tt.size-5) + "\n\n"
				p := wire.NewParser(strings.NewReader(in))
				if p.MaxEventSize != wire.DefaultMaxEventSize {
					t.Fatalf("NewParser MaxEventSize = %d", p.MaxEventSize)
				}
				p.MaxEventSize = setting
				events, err := parseAll(p)
				if !errors.Is(err, tt.err) {
					t.Fatalf("MaxEventSize %d: error %v, want %v", setting, err, tt.err)
				}
				if tt.err == io.EOF && (len(events) != 1 || len(events[0].Data) != tt.size-5) {
					t.Fatalf("MaxEventSize %d: got %d events", setting, len(events))
				}
			})
		}
	}
}

// errReader returns data, then err.
type errReader struct {
	data string
	err  error
}

func (r *errReader) Read(b []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(b, r.data)
	r.data = r.data[n:]
	return n, nil
}

// zeroReader returns (0, nil) forever.
type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestParserReadErrors(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		r    io.Reader
		want []wire.Event
		err  error
	}{
		{
			name: "error after complete events",
			r:    &errReader{data: "data: a\n\ndata: b\n\ndata: c\n", err: errBoom},
			want: []wire.Event{msg("", "a"), msg("", "b")},
			err:  errBoom,
		},
		{
			name: "unexpected EOF",
			r:    &errReader{data: "data: a\n\n", err: io.ErrUnexpectedEOF},
			want: []wire.Event{msg("", "a")},
			err:  io.ErrUnexpectedEOF,
		},
		{
			name: "immediate error",
			r:    &errReader{err: errBoom},
			err:  errBoom,
		},
		{
			name: "timeout reader",
			r:    iotest.TimeoutReader(strings.NewReader("data: a\n\n")),
			want: []wire.Event{msg("", "a")},
			err:  iotest.ErrTimeout,
		},
		{
			name: "no progress",
			r:    zeroReader{},
			err:  io.ErrNoProgress,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wire.NewParser(tt.r)
			got, err := parseAll(p)
			if !errors.Is(err, tt.err) {
				t.Fatalf("final error = %v, want %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("events\n got %+v\nwant %+v", got, tt.want)
			}
			if _, err2 := p.Next(); err2 != err {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
		})
	}
}

func TestParserInitialState(t *testing.T) {
	p := wire.NewParser(strings.NewReader(""))
	if p.LastEventID() != "" || p.Retry() != 0 {
		t.Fatalf("new parser: LastEventID %q, Retry %v", p.LastEventID(), p.Retry())
	}
}

// TestParserStream checks a long stream of encoded events with a mix of line
// endings against the events encoded, through every reader.
func TestParserStream(t *testing.T) {
	var in []wire.Event
	var stream []byte
	for i := range 500 {
		e := wire.Event{
			Type: []string{"", "update", "ping"}[i%3],
			Data: strings.Repeat("line\n", i%7) + strings.Repeat("x", i*13%5000),
		}
		if i%5 == 0 {
			e.ID = strings.Repeat("i", i%11)
		}
		var err error
		stream, err = wire.AppendEvent(stream, e)
		if err != nil {
			t.Fatal(err)
		}
		stream = wire.AppendComment(stream, "keep-alive")
		if e.Type == "" {
			e.Type = "message"
		}
		in = append(in, e)
	}
	// Give the IDs their persisted values.
	last := ""
	for i := range in {
		if i%5 == 0 && in[i].ID != "" {
			last = in[i].ID
		}
		in[i].ID = last
	}
	variants := map[string][]byte{
		"LF":   stream,
		"CRLF": bytes.ReplaceAll(stream, []byte("\n"), []byte("\r\n")),
		"CR":   bytes.ReplaceAll(stream, []byte("\n"), []byte("\r")),
	}
	for name, s := range variants {
		for _, rd := range readers {
			t.Run(name+"/"+rd.name, func(t *testing.T) {
				got, err := parseAll(wire.NewParser(rd.wrap(bytes.NewReader(s))))
				if err != io.EOF {
					t.Fatalf("final error = %v", err)
				}
				if !slices.Equal(got, in) {
					t.Fatalf("got %d events, want %d, or they differ", len(got), len(in))
				}
			})
		}
	}
}
