package wire_test

import (
	"strings"
	"testing"

	"github.com/valksor/go-sse/internal/wire"
)

var benchEvents = []struct {
	name string
	e    wire.Event
}{
	{"small-json", wire.Event{ID: "1700000000000-0", Type: "update", Data: `{"files":["app.css"],"timestamp":1700000000000}`}},
	{"multi-line", wire.Event{Type: "log", Data: strings.Repeat("a log line of moderate length\n", 16)}},
	{"64KiB", wire.Event{Data: strings.Repeat(`{"k":"v"},`, 6554)}},
}

func BenchmarkAppendEvent(b *testing.B) {
	for _, bb := range benchEvents {
		b.Run(bb.name, func(b *testing.B) {
			buf, _ := wire.AppendEvent(nil, bb.e)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = wire.AppendEvent(buf[:0], bb.e)
			}
		})
	}
}

// repeatReader returns the same bytes over and over, as many at a time as
// fit.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

// BenchmarkParser measures Next on an endless stream of one repeated event;
// one op is one event.
func BenchmarkParser(b *testing.B) {
	for _, bb := range benchEvents {
		enc, _ := wire.AppendEvent(nil, bb.e)
		variants := []struct {
			name string
			data []byte
		}{
			{"LF", enc},
			{"CRLF", []byte(strings.ReplaceAll(string(enc), "\n", "\r\n"))},
		}
		for _, v := range variants {
			b.Run(bb.name+"/"+v.name, func(b *testing.B) {
				p := wire.NewParser(&repeatReader{data: v.data})
				b.SetBytes(int64(len(v.data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := p.Next(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
