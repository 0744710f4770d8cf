package h2

import (
	"encoding/binary"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// maxBatch is about how much one write to the socket carries.
const maxBatch = 64 << 10

// batches lends the writer goroutines their buffers for one write, so that
// an idle connection keeps none.
var batches = sync.Pool{New: func() any { b := make([]byte, 0, maxBatch+maxReadFrame); return &b }}

// writeLoop writes what the connection queues, and ends when nothing is
// left (kick starts the next): an idle connection keeps no writer
// goroutine. At most one runs at a time, so the frames go out in the
// order they were queued: every header block in the order its HPACK
// encoding assumes.
func (c *conn) writeLoop() {
	defer c.writers.Done()
	for {
		c.again.Store(false)
		c.mu.Lock()
		if c.dead {
			c.mu.Unlock()
			return // writing stays set: no writer starts again
		}
		if len(c.ctrl) == 0 && !c.sendableLocked() {
			if c.closeAfter && (!c.drain || c.clientOpen == 0 && c.handlers == 0) {
				c.mu.Unlock()
				c.closeGracefully()
				return
			}
			c.mu.Unlock()
			c.writing.Store(false)
			// A kick between the look above and now found this writer
			// running and asked it to look again.
			if c.again.Load() && c.writing.CompareAndSwap(false, true) {
				continue
			}
			return
		}
		bp := batches.Get().(*[]byte)
		b := c.composeLocked((*bp)[:0])
		c.cond.Broadcast() // handlers waiting for room in their queue
		c.mu.Unlock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
		_, err := c.nc.Write(b)
		if cap(b) <= 2*maxBatch {
			*bp = b[:0]
			batches.Put(bp)
		}
		if err != nil {
			c.log.Debug("http2: write failed; closing the connection", "remote", c.remote, "err", err)
			c.kill()
			return
		}
	}
}

// closeGracefully ends the writing side once a GOAWAY and everything
// before it are written: the client reads them, and the reader sees the
// connection end.
func (c *conn) closeGracefully() {
	defer close(c.flushed) // writing stays set: no writer starts again
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	if err := c.nc.CloseWrite(); err != nil {
		_ = c.nc.NetConn().Close()
		return
	}
	// The client closes its side when it has read the GOAWAY; the reader
	// notices. Without an answer, the connection closes after a second.
	_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
}

// sendableLocked reports whether a ready stream can send something now.
func (c *conn) sendableLocked() bool {
	if c.closeAfter && !c.drain {
		return false
	}
	for _, st := range c.ready {
		if len(st.pending) == 0 || c.sendWindow > 0 && st.sendWindow > 0 {
			return true
		}
	}
	return false
}

// readyLocked has the writer look at st: it has data or an end to send.
func (c *conn) readyLocked(st *stream) {
	if st.inReady || !st.headSent || st.reset || st.sendDone || c.dead {
		return
	}
	if len(st.pending) == 0 && !st.endQueued {
		return
	}
	st.inReady = true
	c.ready = append(c.ready, st)
	c.kick()
}

// composeLocked appends to b what goes out next: the queued control
// frames, then the ready streams' data (a frame each in turn, as the
// flow-control windows allow) and their ends.
func (c *conn) composeLocked(b []byte) []byte {
	b = append(b, c.ctrl...)
	if cap(c.ctrl) > 64<<10 {
		c.ctrl = nil
	} else {
		c.ctrl = c.ctrl[:0]
	}
	if c.closeAfter && !c.drain {
		return b // a connection error: the GOAWAY, and nothing after it
	}
	for len(b) < maxBatch && len(c.ready) > 0 {
		progress := false
		keep := c.ready[:0]
		for _, st := range c.ready {
			var more bool
			if len(b) < maxBatch {
				var sent bool
				b, sent, more = c.sendLocked(b, st)
				progress = progress || sent
			} else {
				more = true
			}
			if more {
				keep = append(keep, st)
			} else {
				st.inReady = false
			}
		}
		clear(c.ready[len(keep):])
		c.ready = keep
		if !progress {
			break
		}
	}
	if len(c.ready) == 0 {
		c.ready = nil
	}
	return b
}

// sendLocked appends st's next DATA frame, or its end, to b. It reports
// whether it appended anything, and whether st stays ready (it has more to
// send and its own window is open; a stream waiting for its window comes
// back with the client's WINDOW_UPDATE).
func (c *conn) sendLocked(b []byte, st *stream) ([]byte, bool, bool) {
	if st.reset || st.sendDone || c.dead {
		return b, false, false
	}
	if n := len(st.pending); n > 0 {
		allow := int64(min(n, c.maxSendFrame))
		allow = min(allow, st.sendWindow, c.sendWindow)
		if allow <= 0 {
			return b, false, st.sendWindow > 0 // blocked on the connection's window
		}
		end := int(allow) == n && st.endQueued && len(st.trailers) == 0
		b = appendFrameHeader(b, int(allow), http2.FrameData, flagIf(end, http2.FlagDataEndStream), st.id)
		b = append(b, st.pending[:allow]...)
		st.pending = st.pending[allow:]
		if len(st.pending) == 0 {
			st.pending = nil // an idle stream keeps no buffer
		}
		st.sendWindow -= allow
		c.sendWindow -= allow
		if st.detached {
			c.buffered -= int(allow)
		}
		if end {
			st.sendDone = true
			c.afterEndLocked(st)
			return b, true, false
		}
		return b, true, len(st.pending) > 0 && st.sendWindow > 0 || len(st.pending) == 0 && st.endQueued
	}
	if !st.endQueued {
		return b, false, false
	}
	if len(st.trailers) > 0 {
		c.hbuf.Reset()
		for _, hf := range st.trailers {
			_ = c.henc.WriteField(hf)
		}
		b = appendHeaders(b, st.id, c.hbuf.Bytes(), true, c.maxSendFrame)
		st.trailers = nil
	} else {
		b = appendFrameHeader(b, 0, http2.FrameData, http2.FlagDataEndStream, st.id)
	}
	st.sendDone = true
	c.afterEndLocked(st)
	return b, true, false
}

// afterEndLocked follows the end of the server's side of st: a reset when
// the client still sends a body nobody reads, and the stream's close.
func (c *conn) afterEndLocked(st *stream) {
	if st.closeTimer != nil {
		st.closeTimer.Stop()
		st.closeTimer = nil
	}
	if st.rstAfterEnd && !st.recvDone && !st.reset && st.rw == nil {
		c.ctrl = appendRSTStream(c.ctrl, st.id, errCodeNo)
		st.reset = true
		st.onClose = nil
		c.kick()
	}
	c.maybeCloseLocked(st)
}

// encodeHeadLocked encodes a response head: the status, the header's
// fields that HTTP/2 carries, a content-length when length is not
// negative, and a date.
func (c *conn) encodeHeadLocked(status int, h http.Header, length int64) []byte {
	c.hbuf.Reset()
	_ = c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	for k, vals := range h {
		name := strings.ToLower(k)
		switch name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade", "trailer":
			continue
		case "content-length":
			if length >= 0 {
				continue
			}
		}
		if strings.HasPrefix(k, http.TrailerPrefix) || !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		for _, v := range vals {
			if httpguts.ValidHeaderFieldValue(v) {
				_ = c.henc.WriteField(hpack.HeaderField{Name: name, Value: v, Sensitive: name == "set-cookie"})
			}
		}
	}
	if status >= 200 {
		if length >= 0 && bodyAllowed(status) {
			_ = c.henc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.FormatInt(length, 10)})
		}
		if _, ok := h["Date"]; !ok {
			_ = c.henc.WriteField(hpack.HeaderField{Name: "date", Value: time.Now().UTC().Format(http.TimeFormat)})
		}
	}
	return c.hbuf.Bytes()
}

// The frames the server writes, appended to a buffer.

func appendFrameHeader(b []byte, length int, typ http2.FrameType, flags http2.Flags, id uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(typ), byte(flags),
		byte(id>>24)&0x7f, byte(id>>16), byte(id>>8), byte(id))
}

func flagIf(cond bool, f http2.Flags) http2.Flags {
	if cond {
		return f
	}
	return 0
}

// appendHeaders appends a header block as HEADERS and CONTINUATION frames
// of at most maxFrame bytes each.
func appendHeaders(b []byte, id uint32, block []byte, endStream bool, maxFrame int) []byte {
	typ := http2.FrameHeaders
	flags := flagIf(endStream, http2.FlagHeadersEndStream)
	for {
		n := min(len(block), maxFrame)
		last := n == len(block)
		b = appendFrameHeader(b, n, typ, flags|flagIf(last, http2.FlagHeadersEndHeaders), id)
		b = append(b, block[:n]...)
		if last {
			return b
		}
		block = block[n:]
		typ, flags = http2.FrameContinuation, 0
	}
}

func appendSettings(b []byte, settings ...http2.Setting) []byte {
	b = appendFrameHeader(b, 6*len(settings), http2.FrameSettings, 0, 0)
	for _, s := range settings {
		b = binary.BigEndian.AppendUint16(b, uint16(s.ID))
		b = binary.BigEndian.AppendUint32(b, s.Val)
	}
	return b
}

func appendSettingsAck(b []byte) []byte {
	return appendFrameHeader(b, 0, http2.FrameSettings, http2.FlagSettingsAck, 0)
}

func appendWindowUpdate(b []byte, id, inc uint32) []byte {
	b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, id)
	return binary.BigEndian.AppendUint32(b, inc&0x7fffffff)
}

func appendPing(b []byte, ack bool, data [8]byte) []byte {
	b = appendFrameHeader(b, 8, http2.FramePing, flagIf(ack, http2.FlagPingAck), 0)
	return append(b, data[:]...)
}

func appendRSTStream(b []byte, id uint32, code http2.ErrCode) []byte {
	b = appendFrameHeader(b, 4, http2.FrameRSTStream, 0, id)
	return binary.BigEndian.AppendUint32(b, uint32(code))
}

func appendGoAway(b []byte, last uint32, code http2.ErrCode) []byte {
	b = appendFrameHeader(b, 8, http2.FrameGoAway, 0, 0)
	b = binary.BigEndian.AppendUint32(b, last&0x7fffffff)
	return binary.BigEndian.AppendUint32(b, uint32(code))
}
