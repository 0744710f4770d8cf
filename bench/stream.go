package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// readBufSize is each stream's only buffer: response headers, chunked
// decoding and event lines all live in it. A line longer than this is
// skipped (and counted).
const readBufSize = 4096

// target is where and how streams connect.
type target struct {
	addr        string      // host:port to dial
	tls         *tls.Config // nil for http
	request     []byte      // the GET request, written as is
	sourceAddrs bool
	timeout     time.Duration
	h2          *h2Pool // the HTTP/2 connections, with Config.H2
}

// close closes what the target holds beyond the streams: the HTTP/2
// connections.
func (t *target) close() {
	if t.h2 != nil {
		t.h2.close()
	}
}

// newTarget prepares the connections to the stream URL u, resolving its
// host once.
func newTarget(ctx context.Context, c Config, u *url.URL) (*target, error) {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	ip := host
	if net.ParseIP(host) == nil {
		ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("bench: resolve the stream host: %w", err)
		}
		ip = ips[0].String()
		for _, a := range ips {
			if a.To4() != nil {
				ip = a.String()
				break
			}
		}
	}
	t := &target{
		addr:        net.JoinHostPort(ip, port),
		sourceAddrs: c.SourceAddrs,
		timeout:     c.ConnectTimeout,
	}
	if u.Scheme == "https" {
		t.tls = &tls.Config{}
		if c.TLSConfig != nil {
			t.tls = c.TLSConfig.Clone()
		}
		if t.tls.ServerName == "" {
			t.tls.ServerName = host
		}
		// The stream is read as HTTP/1.1.
		t.tls.NextProtos = []string{"http/1.1"}
	}
	var b strings.Builder
	b.WriteString("GET ")
	b.WriteString(u.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(u.Host)
	b.WriteString("\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: valksor-sse-bench\r\n\r\n")
	t.request = []byte(b.String())
	if c.H2 {
		t.h2 = newH2Pool(c, u, t)
	}
	if t.tls != nil {
		if err := probeTLS(ctx, t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// recorder collects the deliveries of all streams: for each publish a slice
// with room for one latency per stream, filled through an atomic index.
type recorder struct {
	eventType string
	untyped   bool // events without an event field count (EventType is "message")
	publishes int
	lat       [][]int64 // [seq][i]: latency in ns
	n         []atomic.Int64
	seenWords int
	early     atomic.Int64 // deliveries read before they were sent: clock trouble
}

func newRecorder(c Config) *recorder {
	r := &recorder{
		eventType: c.EventType,
		untyped:   c.EventType == "message",
		publishes: c.Publishes,
		lat:       make([][]int64, c.Publishes),
		n:         make([]atomic.Int64, c.Publishes),
		seenWords: (c.Publishes + 63) / 64,
	}
	for i := range r.lat {
		r.lat[i] = make([]int64, c.Streams)
	}
	return r
}

// chunked transfer decoding states.
const (
	chunkSize    = iota // reading the size line
	chunkData           // inside chunk data; csize bytes left
	chunkDataEnd        // reading the CRLF after the data
	chunkDone           // after the last chunk: the body has ended
)

var (
	errBadChunk = errors.New("malformed chunked encoding")
	errBodyEnd  = errors.New("the server ended the stream")
)

// stream is one open event stream. Its reader goroutine owns every field
// but the atomics; the others are read after that goroutine has ended.
type stream struct {
	conn net.Conn
	rec  *recorder

	buf  []byte
	r, w int // buf[r:w] is decoded body not yet consumed

	chunked bool
	cstate  uint8
	csize   int64
	cdigits int
	cext    bool // in a chunk extension, after the size

	now      int64 // unix nanos of the latest read
	skipping bool  // dropping the rest of a line longer than buf
	typeOK   bool  // the current event's type is the benchmark's
	haveData bool  // the current event's data held a stamp
	seq      int
	sent     int64

	seen    []uint64 // bit per publish: delivered on this stream
	dup     int      // deliveries seen twice
	foreign int      // benchmark events with a sequence number out of range
	long    int      // lines over readBufSize, skipped
	last    int64    // unix nanos of the latest delivery

	got  atomic.Int64 // distinct deliveries
	dead atomic.Bool  // ended before the run did
	err  error        // why it ended, if dead
}

// dial opens stream number i and reads its response headers. It returns an
// error naming the status and the start of the body when the answer is not
// a 200 event stream.
func dial(ctx context.Context, t *target, rec *recorder, i int) (*stream, error) {
	if t.h2 != nil {
		return dialH2(ctx, t, rec, i)
	}
	d := net.Dialer{Timeout: t.timeout, KeepAlive: -1}
	if t.sourceAddrs {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%254))}
	}
	c, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(time.Now().Add(t.timeout)); err != nil {
		c.Close()
		return nil, err
	}
	// Ending ctx interrupts the handshake.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if t.tls != nil {
		c = tls.Client(c, t.tls)
	}
	s := &stream{conn: c, rec: rec, buf: make([]byte, readBufSize), seen: make([]uint64, rec.seenWords), typeOK: rec.untyped}
	if err := s.handshake(t.request); err != nil {
		c.Close()
		return nil, err
	}
	if !stop() {
		c.Close()
		return nil, ctx.Err()
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// handshake sends the request and reads the response headers, leaving the
// start of the body (decoded) in buf.
func (s *stream) handshake(req []byte) error {
	if _, err := s.conn.Write(req); err != nil {
		return fmt.Errorf("send request: %w", err)
	}
	end := -1
	for end < 0 {
		if s.w == len(s.buf) {
			return fmt.Errorf("response headers are over %d bytes", len(s.buf))
		}
		n, err := s.conn.Read(s.buf[s.w:])
		s.w += n
		s.now = time.Now().UnixNano()
		if i := bytes.Index(s.buf[:s.w], []byte("\r\n\r\n")); i >= 0 {
			end = i + 4
		} else if i := bytes.Index(s.buf[:s.w], []byte("\n\n")); i >= 0 {
			end = i + 2
		} else if err != nil {
			if err == io.EOF {
				return errors.New("the server closed the connection without answering")
			}
			return fmt.Errorf("read response headers: %w", err)
		}
	}
	status, ctype, clen := 0, "", -1
	for n, line := range strings.Split(string(s.buf[:end]), "\n") {
		line = strings.TrimRight(line, "\r")
		if n == 0 {
			proto, rest, _ := strings.Cut(line, " ")
			code, _, _ := strings.Cut(rest, " ")
			if !strings.HasPrefix(proto, "HTTP/1.") {
				return fmt.Errorf("not an HTTP/1.x response: %.60q", line)
			}
			var err error
			if status, err = strconv.Atoi(code); err != nil {
				return fmt.Errorf("malformed status line %.60q", line)
			}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "transfer-encoding":
			s.chunked = strings.Contains(strings.ToLower(value), "chunked")
		case "content-type":
			ctype = value
		case "content-length":
			if n, err := strconv.Atoi(value); err == nil {
				clen = n
			}
		}
	}
	s.r = end
	if s.chunked {
		s.w = end + s.dechunk(s.buf[end:s.w])
	}
	if status != 200 {
		return fmt.Errorf("HTTP %d: %s", status, s.snippet(clen))
	}
	if !strings.HasPrefix(strings.ToLower(ctype), "text/event-stream") {
		return fmt.Errorf("Content-Type is %q, not text/event-stream", ctype)
	}
	return nil
}

// snippet reads what it can of an error response's body of length clen (-1:
// unknown) in a second at most, and returns up to 200 bytes of it on one
// line.
func (s *stream) snippet(clen int) string {
	_ = s.conn.SetReadDeadline(time.Now().Add(time.Second))
	for s.w-s.r < 200 && (clen < 0 || s.w-s.r < clen) {
		if err := s.fill(); err != nil {
			break
		}
	}
	b := s.buf[s.r:s.w]
	if len(b) > 200 {
		b = b[:200]
	}
	msg := strings.Join(strings.Fields(string(b)), " ")
	if msg == "" {
		return "(no body)"
	}
	return msg
}

// fill reads once from the connection, appending the decoded bytes to buf.
// It moves unconsumed bytes to the front first. The error, if any, comes
// after the bytes read with it have been appended.
func (s *stream) fill() error {
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	if s.chunked && s.cstate == chunkDone {
		return errBodyEnd
	}
	n, err := s.conn.Read(s.buf[s.w:])
	if n > 0 {
		s.now = time.Now().UnixNano()
		if s.chunked {
			n = s.dechunk(s.buf[s.w : s.w+n])
			if s.cstate == chunkDone && err == nil {
				err = errBodyEnd
			}
		}
		s.w += n
	}
	if s.cdigits < 0 && err == nil {
		err = errBadChunk
	}
	if err == io.EOF {
		err = errBodyEnd
	}
	return err
}

// dechunk removes the chunked transfer encoding from p in place, carrying
// its state across calls, and returns how many body bytes are now at the
// start of p. Chunk extensions and trailers are ignored.
func (s *stream) dechunk(p []byte) int {
	out := 0
	for i := 0; i < len(p); {
		switch s.cstate {
		case chunkSize:
			b := p[i]
			i++
			switch {
			case b == '\n':
				if s.cdigits == 0 {
					s.cdigits = -1 // no size at all
					return out
				}
				s.cstate, s.cdigits, s.cext = chunkData, 0, false
				if s.csize == 0 {
					s.cstate = chunkDone
					return out
				}
			case b == '\r' || s.cext:
			case b == ';' || b == ' ' || b == '\t':
				s.cext = true
			default:
				v := unhex(b)
				if v < 0 || s.cdigits >= 15 {
					s.cdigits = -1
					return out
				}
				s.csize = s.csize<<4 | int64(v)
				s.cdigits++
			}
		case chunkData:
			k := int(min(s.csize, int64(len(p)-i)))
			copy(p[out:], p[i:i+k])
			out += k
			i += k
			s.csize -= int64(k)
			if s.csize == 0 {
				s.cstate = chunkDataEnd
			}
		case chunkDataEnd:
			if p[i] == '\n' {
				s.cstate = chunkSize
			}
			i++
		case chunkDone:
			return out
		}
	}
	return out
}

func unhex(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

// read reads events until the connection fails or ends, and returns why.
func (s *stream) read() error {
	var err error
	for {
		for {
			i := bytes.IndexByte(s.buf[s.r:s.w], '\n')
			if i < 0 {
				break
			}
			line := s.buf[s.r : s.r+i]
			s.r += i + 1
			if s.skipping {
				s.skipping = false
				continue
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			s.line(line)
		}
		if err != nil {
			return err
		}
		if s.r == 0 && s.w == len(s.buf) {
			// A line longer than the buffer: drop it up to its end.
			s.long++
			s.skipping = true
			s.w = 0
		}
		err = s.fill()
	}
}

// line interprets one line of the event stream, as far as the benchmark
// needs: the event type, the first data line with a stamp, and the blank
// line that ends an event.
func (s *stream) line(l []byte) {
	if len(l) == 0 {
		if s.typeOK && s.haveData {
			s.deliver(s.seq, s.sent)
		}
		s.typeOK, s.haveData = s.rec.untyped, false
		return
	}
	if l[0] == ':' {
		return
	}
	field, value := l, []byte(nil)
	if i := bytes.IndexByte(l, ':'); i >= 0 {
		field, value = l[:i], l[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		if len(value) == 0 {
			s.typeOK = s.rec.untyped
		} else {
			s.typeOK = string(value) == s.rec.eventType
		}
	case "data":
		if !s.haveData {
			s.seq, s.sent, s.haveData = parseStamp(value)
		}
	}
}

// deliver records the arrival of publish seq, sent at sent (unix nanos).
func (s *stream) deliver(seq int, sent int64) {
	if seq < 0 || seq >= s.rec.publishes {
		s.foreign++
		return
	}
	word, bit := seq>>6, uint64(1)<<(seq&63)
	if s.seen[word]&bit != 0 {
		s.dup++
		return
	}
	s.seen[word] |= bit
	d := s.now - sent
	if d < 0 {
		s.rec.early.Add(1)
		d = 0
	}
	i := s.rec.n[seq].Add(1) - 1
	s.rec.lat[seq][i] = d
	s.got.Add(1)
	s.last = s.now
}

// parseStamp reads the first two decimal integers of an event's data: the
// sequence number and the unix nanos it was sent at.
func parseStamp(v []byte) (seq int, sent int64, ok bool) {
	a, rest, ok := nextInt(v)
	if !ok || a > 1<<31 {
		return 0, 0, false
	}
	b, _, ok := nextInt(rest)
	if !ok {
		return 0, 0, false
	}
	return int(a), b, true
}

// nextInt parses the first run of decimal digits in v, which must fit an
// int64, and returns it with the bytes after it.
func nextInt(v []byte) (int64, []byte, bool) {
	i := 0
	for i < len(v) && (v[i] < '0' || v[i] > '9') {
		i++
	}
	if i == len(v) {
		return 0, nil, false
	}
	var n int64
	j := i
	for ; j < len(v) && v[j] >= '0' && v[j] <= '9'; j++ {
		if n > (math.MaxInt64-9)/10 {
			return 0, nil, false
		}
		n = n*10 + int64(v[j]-'0')
	}
	return n, v[j:], true
}
