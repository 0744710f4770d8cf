package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"time"
)

// DefaultMaxEventSize is the limit a [Parser] applies when its MaxEventSize
// is not positive: 1 MiB.
const DefaultMaxEventSize = 1 << 20

// ErrEventTooLarge is returned by [Parser.Next] when a line of the stream, or
// the data accumulated for one event, is larger than the parser's
// MaxEventSize.
var ErrEventTooLarge = errors.New("wire: event too large")

// initialBufSize is the size of a Parser's read buffer before any line forces
// it to grow.
const initialBufSize = 4096

// maxEmptyReads is how many successive (0, nil) results from Read the parser
// tolerates before it gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// utf8BOM is the encoding of U+FEFF, skipped once at the start of a stream.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Parser reads an event stream and interprets it as a browser's EventSource
// does. Create one with [NewParser]; the zero value is not usable.
//
// A Parser buffers its input, but it never waits for more input than the
// event it is returning needs, so it can be used on a live stream: Next
// returns an event as soon as its terminating blank line has arrived, even if
// that line ends with a CR whose possible LF has not been received yet.
//
// A Parser is not safe for concurrent use.
type Parser struct {
	// MaxEventSize bounds memory use: a line longer than MaxEventSize bytes
	// (not counting its line ending), or an event whose data would exceed
	// MaxEventSize bytes, makes Next return ErrEventTooLarge. A value
	// that is not positive means DefaultMaxEventSize. NewParser sets it to
	// DefaultMaxEventSize; it may be changed before or between calls to
	// Next.
	MaxEventSize int

	r       io.Reader
	readErr error // error from r, reported once the buffer holds no complete line
	err     error // sticky error returned by Next

	// Read buffer: buf[start:end] holds bytes not yet consumed.
	buf        []byte
	start, end int
	// Scan state for buf, as absolute indices: lf is the index of the next
	// LF at or after start, if lf >= start; otherwise buf[max(start,
	// lfFrom):end] has not been searched for LF yet. crFrom likewise marks
	// where the search for CR resumes. They keep line finding linear even
	// when a line arrives in many small reads or lines end with CR alone.
	lf, lfFrom, crFrom int

	bomDone bool // the start of the stream has been checked for a BOM
	skipLF  bool // the last line ended with CR: an LF right after it is part of that line ending

	data       []byte        // data buffer
	typ        []byte        // event type buffer
	idBuf      string        // last event ID buffer
	lastID     string        // last event ID string, set at each blank line
	lastType   string        // previous dispatched type, reused to avoid an allocation
	retry      time.Duration // reconnection time
	blockRetry time.Duration // retry value seen in the current block
}

// NewParser returns a Parser that reads the event stream from r, with
// MaxEventSize set to DefaultMaxEventSize.
func NewParser(r io.Reader) *Parser {
	return &Parser{MaxEventSize: DefaultMaxEventSize, r: r, lf: -1}
}

// Next reads the stream up to the end of the next event that is dispatched
// and returns that event.
//
// Lines are processed as the specification describes: an empty line
// dispatches the pending event; a line starting with ':' is a comment and is
// ignored; otherwise the line is split at its first ':' into field name and
// value (a line without ':' is a field with an empty value), and one space
// after the colon is removed from the value. The field "event" sets the event
// type, "data" appends the value and an LF to the data buffer, "id" sets the
// last event ID unless the value contains NUL, and "retry" sets the
// reconnection time if the value is a non-empty string of ASCII digits (a
// value too large for time.Duration saturates). Other fields are ignored.
//
// An event is dispatched only if its data buffer is not empty, so a block
// without data lines returns nothing, although its id and retry fields still
// take effect. The returned event has Data with the final LF removed, Type
// "message" if the block gave no or an empty event type, ID set to the last
// event ID buffer and Retry set to the value of the block's last valid retry
// field (0 if it had none).
//
// At the end of the stream, an incomplete event (one whose blank line has not
// arrived, including a final line without a line ending) is discarded and
// Next returns io.EOF. A read error other than io.EOF is returned as is,
// once the complete lines read before it have been processed. If a line or
// an event's data exceeds MaxEventSize, Next returns ErrEventTooLarge. Once
// Next has returned an error it returns the same error on every later call.
func (p *Parser) Next() (Event, error) {
	if p.err != nil {
		return Event{}, p.err
	}
	for {
		line, err := p.readLine()
		if err != nil {
			p.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			if e, ok := p.dispatch(); ok {
				return e, nil
			}
			continue
		}
		if err := p.processLine(line); err != nil {
			p.err = err
			return Event{}, err
		}
	}
}

// LastEventID returns the stream's last event ID as of the most recent blank
// line, which is the value a reconnecting client sends in the Last-Event-ID
// header ("" means send none). It is the ID of the last event returned by
// Next, or a later value set by an id field in a block that had no data.
// An id field in an incomplete block at the end of the stream does not
// change it.
func (p *Parser) LastEventID() string {
	return p.lastID
}

// Retry returns the reconnection time most recently set by a valid retry
// field anywhere in the stream, including blocks that dispatched no event,
// or 0 if there has been none.
func (p *Parser) Retry() time.Duration {
	return p.retry
}

// maxSize returns the effective MaxEventSize.
func (p *Parser) maxSize() int {
	if p.MaxEventSize <= 0 {
		return DefaultMaxEventSize
	}
	return p.MaxEventSize
}

// processLine interprets one non-empty line.
func (p *Parser) processLine(line []byte) error {
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		if i == 0 {
			return nil // comment
		}
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		p.typ = append(p.typ[:0], value...)
	case "data":
		if len(p.data)+len(value) > p.maxSize() {
			return ErrEventTooLarge
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "id":
		if bytes.IndexByte(value, 0) < 0 && string(value) != p.idBuf {
			p.idBuf = string(value)
		}
	case "retry":
		if d, ok := parseRetry(value); ok {
			p.retry = d
			p.blockRetry = d
		}
	}
	return nil
}

// parseRetry interprets a retry field value: a non-empty string of ASCII
// digits giving milliseconds. Values too large for a Duration saturate.
func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const limit = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	saturated := false
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if !saturated {
			ms = ms*10 + int64(c-'0')
			saturated = ms > limit
		}
	}
	if saturated {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(ms) * time.Millisecond, true
}

// dispatch handles a blank line. It reports the event to return, if any.
func (p *Parser) dispatch() (Event, bool) {
	p.lastID = p.idBuf
	retry := p.blockRetry
	p.blockRetry = 0
	if len(p.data) == 0 {
		p.typ = p.typ[:0]
		return Event{}, false
	}
	e := Event{
		ID:    p.idBuf,
		Type:  "message",
		Data:  string(p.data[:len(p.data)-1]), // the buffer always ends with LF
		Retry: retry,
	}
	if len(p.typ) > 0 {
		if string(p.typ) != p.lastType {
			p.lastType = string(p.typ)
		}
		e.Type = p.lastType
	}
	p.data = p.data[:0]
	p.typ = p.typ[:0]
	return e, true
}

// readLine returns the next complete line, without its line ending. The line
// aliases the read buffer and is valid only until the next call.
func (p *Parser) readLine() ([]byte, error) {
	for {
		if !p.bomDone && p.checkBOM() {
			if err := p.fill(); err != nil {
				return nil, err
			}
			continue
		}
		if p.skipLF && p.start < p.end {
			if p.buf[p.start] == '\n' {
				p.start++
			}
			p.skipLF = false
		}
		if i := p.findEOL(); i >= 0 {
			if i-p.start > p.maxSize() {
				return nil, ErrEventTooLarge
			}
			line := p.buf[p.start:i]
			p.skipLF = p.buf[i] == '\r'
			p.start = i + 1
			return line, nil
		}
		if p.end-p.start > p.maxSize() {
			return nil, ErrEventTooLarge
		}
		if err := p.fill(); err != nil {
			return nil, err
		}
	}
}

// checkBOM skips a leading byte order mark once enough of the stream has
// arrived to tell whether there is one. It reports whether more input is
// needed to decide.
func (p *Parser) checkBOM() (needMore bool) {
	head := p.buf[p.start:p.end]
	if len(head) < len(utf8BOM) && bytes.HasPrefix(utf8BOM, head) && p.readErr == nil {
		return true
	}
	if bytes.HasPrefix(head, utf8BOM) {
		p.start += len(utf8BOM)
	}
	p.bomDone = true
	return false
}

// findEOL returns the absolute index in buf of the first CR or LF in
// buf[start:end], or -1 if there is none.
func (p *Parser) findEOL() int {
	if p.lf < p.start {
		from := max(p.start, p.lfFrom)
		if i := bytes.IndexByte(p.buf[from:p.end], '\n'); i >= 0 {
			p.lf = from + i
		} else {
			p.lf = -1
			p.lfFrom = p.end
		}
	}
	limit := p.end
	if p.lf >= 0 {
		limit = p.lf
	}
	from := max(p.start, p.crFrom)
	if i := bytes.IndexByte(p.buf[from:limit], '\r'); i >= 0 {
		return from + i
	}
	p.crFrom = limit
	return p.lf
}

// fill reads more input into the buffer, making room first. It returns the
// pending read error, with the unterminated rest of the buffer discarded,
// when the reader has nothing more to give.
func (p *Parser) fill() error {
	if p.readErr != nil {
		p.start, p.end = 0, 0
		p.resetScan()
		return p.readErr
	}
	switch {
	case p.start == p.end:
		p.start, p.end = 0, 0
		p.resetScan()
	case p.end == len(p.buf) && p.start > 0:
		n := copy(p.buf, p.buf[p.start:p.end])
		p.lf = p.shift(p.lf)
		p.lfFrom = max(p.shift(p.lfFrom), 0)
		p.crFrom = max(p.shift(p.crFrom), 0)
		p.start, p.end = 0, n
	}
	if p.end == len(p.buf) {
		// The buffer holds one partial line of at most maxSize bytes
		// (readLine checked), or the first bytes of a BOM; make room for
		// the rest of it and its line ending. Beyond initialBufSize, the
		// buffer never grows past maxSize+1 bytes, which is enough.
		size := min(max(2*len(p.buf), initialBufSize), max(p.maxSize()+1, initialBufSize))
		buf := make([]byte, size)
		copy(buf, p.buf[:p.end])
		p.buf = buf
	}
	for range maxEmptyReads {
		n, err := p.r.Read(p.buf[p.end:])
		if n < 0 || n > len(p.buf)-p.end {
			err = errors.New("wire: reader returned invalid count")
			n = 0
		}
		p.end += n
		if err != nil {
			p.readErr = err
			if n == 0 {
				return p.fill()
			}
			return nil
		}
		if n > 0 {
			return nil
		}
	}
	p.readErr = io.ErrNoProgress
	return p.fill()
}

// shift translates an absolute buffer index for a move of buf[start:] to the
// front of the buffer; indices before start become -1.
func (p *Parser) shift(i int) int {
	if i < p.start {
		return -1
	}
	return i - p.start
}

// resetScan forgets the scan state of an emptied buffer.
func (p *Parser) resetScan() {
	p.lf, p.lfFrom, p.crFrom = -1, 0, 0
}
