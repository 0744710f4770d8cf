package wire_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/valksor/go-sse/internal/wire"
)

// FuzzRoundTrip checks that AppendEvent rejects exactly the ids and types
// containing CR, LF or NUL, and that everything else parses back as exactly
// the event that was encoded.
func FuzzRoundTrip(f *testing.F) {
	f.Add("", "", "", uint32(0))
	f.Add("1", "update", `{"a":1}`, uint32(1500))
	f.Add("", "", "a\nb\r\nc\rd", uint32(0))
	f.Add("", "", "\r\n\r\n", uint32(0))
	f.Add("", "", "x\nevent: evil\nid: 666", uint32(0))
	f.Add("", "", "x\n\ndata: y", uint32(0))
	f.Add(" id", " type", " data ", uint32(1))
	f.Add("a:b", ":c", ":d", uint32(0))
	f.Add("\xEF\xBB\xBF", "\xEF\xBB\xBF", "\xEF\xBB\xBF", uint32(0))
	f.Add("bad\n", "", "x", uint32(0))
	f.Add("", "bad\r", "x", uint32(0))
	f.Add("nul\x00", "", "x", uint32(0))
	f.Add("", "message", "\x00\xff", uint32(0))
	f.Fuzz(func(t *testing.T, id, typ, data string, retryMS uint32) {
		in := wire.Event{ID: id, Type: typ, Data: data, Retry: time.Duration(retryMS) * time.Millisecond}
		prefix := []byte("prefix")
		out, err := wire.AppendEvent(prefix, in)
		invalid := strings.ContainsAny(id, "\r\n\x00") || strings.ContainsAny(typ, "\r\n\x00")
		if invalid {
			if !errors.Is(err, wire.ErrInvalidField) {
				t.Fatalf("AppendEvent(%+v) error = %v, want ErrInvalidField", in, err)
			}
			if string(out) != "prefix" {
				t.Fatalf("AppendEvent changed dst on error: %q", out)
			}
			return
		}
		if err != nil {
			t.Fatalf("AppendEvent(%+v): %v", in, err)
		}
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("AppendEvent lost the prefix: %q", out)
		}
		encoded := out[len(prefix):]

		want := wire.Event{ID: id, Type: typ, Data: normalizeNewlines(data), Retry: in.Retry}
		if want.Type == "" {
			want.Type = "message"
		}
		for _, rd := range []func(io.Reader) io.Reader{
			func(r io.Reader) io.Reader { return r },
			iotest.OneByteReader,
		} {
			p := wire.NewParser(rd(bytes.NewReader(encoded)))
			p.MaxEventSize = len(encoded) + 1
			got, err := p.Next()
			if err != nil {
				t.Fatalf("parse %q: %v", encoded, err)
			}
			if got != want {
				t.Fatalf("parse %q\n got %+v\nwant %+v", encoded, got, want)
			}
			if e, err := p.Next(); err != io.EOF {
				t.Fatalf("parse %q: second Next = %+v, %v; want io.EOF", encoded, e, err)
			}
			if p.LastEventID() != id || p.Retry() != in.Retry {
				t.Fatalf("parse %q: LastEventID %q, Retry %v", encoded, p.LastEventID(), p.Retry())
			}
		}
	})
}

// FuzzParser checks that arbitrary input never panics, never yields an event
// whose type or id could not be written back, and is parsed the same way
// whatever the read sizes and by a simple reference implementation of the
// specification.
func FuzzParser(f *testing.F) {
	for _, s := range []string{
		"",
		"data: YHOO\ndata: +2\ndata: 10\n\n",
		": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
		"data\n\ndata\ndata\n\ndata:",
		"data:test\n\ndata: test\n\n",
		"\xEF\xBB\xBFevent: a\rdata: b\r\r",
		"id: 1\r\nretry: 100\r\ndata: x\r\n\r\n",
		"id: a\x00b\ndata\n\nretry: 1x\n\nretry: 99999999999999999999\n\n",
		"data: a\r\r\ndata: b\n\r\n",
		"event\nid\ndata\nretry\nfoo\n\n",
		"event: \x00\ndata\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		wantEvents, wantID, wantRetry := referenceParse(in)

		for _, rd := range readers {
			p := wire.NewParser(rd.wrap(bytes.NewReader(in)))
			got, err := parseAll(p)
			if err != io.EOF {
				t.Fatalf("%s: final error = %v, want io.EOF", rd.name, err)
			}
			for _, e := range got {
				if strings.ContainsAny(e.Type, "\r\n") || strings.ContainsAny(e.ID, "\r\n\x00") {
					t.Fatalf("%s: event with invalid type or id: %+v", rd.name, e)
				}
				if e.Type == "" {
					t.Fatalf("%s: event with empty type: %+v", rd.name, e)
				}
				// Every parsed event can be encoded again, and reads back
				// the same, unless its type contains NUL: the
				// specification accepts that in an event type, while
				// AppendEvent rejects it.
				enc, err := wire.AppendEvent(nil, e)
				if strings.Contains(e.Type, "\x00") {
					if !errors.Is(err, wire.ErrInvalidField) {
						t.Fatalf("%s: re-encoding %+q: error %v, want ErrInvalidField", rd.name, e, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: re-encoding %+q: %v", rd.name, e, err)
				}
				again, err := wire.NewParser(bytes.NewReader(enc)).Next()
				want := e
				want.Retry = e.Retry.Truncate(time.Millisecond) // only a saturated value is not whole ms
				if err != nil || again != want {
					t.Fatalf("%s: re-encoded %+q as %q, which reads back as %+q, %v", rd.name, e, enc, again, err)
				}
			}
			if !slices.Equal(got, wantEvents) {
				t.Fatalf("%s: parse %q\n got %+v\nwant %+v", rd.name, in, got, wantEvents)
			}
			if p.LastEventID() != wantID || p.Retry() != wantRetry {
				t.Fatalf("%s: parse %q: LastEventID %q, Retry %v; want %q, %v",
					rd.name, in, p.LastEventID(), p.Retry(), wantID, wantRetry)
			}
		}

		// A small limit may cut the stream short, but whatever comes
		// before the error is what the unlimited parser returns.
		p := wire.NewParser(iotest.HalfReader(bytes.NewReader(in)))
		p.MaxEventSize = 8
		got, err := parseAll(p)
		if err != io.EOF && err != wire.ErrEventTooLarge {
			t.Fatalf("limited: final error = %v", err)
		}
		if len(got) > len(wantEvents) || !slices.Equal(got, wantEvents[:len(got)]) {
			t.Fatalf("limited: parse %q\n got %+v\nwant prefix of %+v", in, got, wantEvents)
		}
		if err == io.EOF && len(got) != len(wantEvents) {
			t.Fatalf("limited: parse %q: io.EOF after %d of %d events", in, len(got), len(wantEvents))
		}
	})
}

// referenceParse is a direct, unoptimised transcription of the
// specification's algorithm, working on the whole input at once. It returns
// the dispatched events, the last event ID string and the reconnection time.
func referenceParse(in []byte) (events []wire.Event, lastID string, retry time.Duration) {
	s := strings.TrimPrefix(string(in), "\uFEFF")
	var data, eventType, idBuffer strings.Builder
	var blockRetry time.Duration
	for {
		// Only complete lines are processed; the rest is discarded at EOF.
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			break
		}
		line := s[:i]
		if strings.HasPrefix(s[i:], "\r\n") {
			i++
		}
		s = s[i+1:]

		if line == "" {
			lastID = idBuffer.String()
			r := blockRetry
			blockRetry = 0
			if data.Len() == 0 {
				eventType.Reset()
				continue
			}
			e := wire.Event{
				ID:    idBuffer.String(),
				Type:  eventType.String(),
				Data:  strings.TrimSuffix(data.String(), "\n"),
				Retry: r,
			}
			if e.Type == "" {
				e.Type = "message"
			}
			events = append(events, e)
			data.Reset()
			eventType.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			eventType.Reset()
			eventType.WriteString(value)
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		case "id":
			if !strings.Contains(value, "\x00") {
				idBuffer.Reset()
				idBuffer.WriteString(value)
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				// Accumulate up to a bound well past the limit, without
				// overflowing int64.
				ms := int64(0)
				for _, c := range value {
					if ms < 1<<58 {
						ms = ms*10 + int64(c-'0')
					}
				}
				d := time.Duration(ms) * time.Millisecond
				if ms > int64(1<<63-1)/int64(time.Millisecond) {
					d = 1<<63 - 1
				}
				retry, blockRetry = d, d
			}
		}
	}
	return events, lastID, retry
}

// randomChunkReader returns its data in pieces of random length.
type randomChunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *randomChunkReader) Read(b []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(b), len(r.data), 1+r.rng.IntN(16))
	copy(b, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// TestParserRandomStreams compares the parser with referenceParse on random
// streams built from the tokens that matter to the grammar, read in random
// pieces, complementing FuzzParser's byte-level mutations.
func TestParserRandomStreams(t *testing.T) {
	tokens := []string{
		"data", "id", "event", "retry", "dat", ":", ": ", " ", "\r", "\n", "\r\n",
		"\n\n", "\r\r", "x", "1", "42", "\x00", "\uFEFF", "é", "\xff",
		strings.Repeat("x", 1500),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var sb strings.Builder
		if rng.IntN(4) == 0 {
			sb.WriteString("\uFEFF")
		}
		n := 60
		if i%10 == 0 {
			n = 3000 // long enough for the read buffer to be compacted and grown
		}
		for range rng.IntN(n) {
			sb.WriteString(tokens[rng.IntN(len(tokens))])
		}
		in := []byte(sb.String())
		wantEvents, wantID, wantRetry := referenceParse(in)
		p := wire.NewParser(&randomChunkReader{data: in, rng: rng})
		got, err := parseAll(p)
		if err != io.EOF || !slices.Equal(got, wantEvents) ||
			p.LastEventID() != wantID || p.Retry() != wantRetry {
			t.Fatalf("stream %d %q:\n got %+v, %v, id %q, retry %v\nwant %+v, id %q, retry %v",
				i, in, got, err, p.LastEventID(), p.Retry(), wantEvents, wantID, wantRetry)
		}
	}
}
