package h2_test

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// protoServer serves "/block" with a handler that holds its stream open
// until the request ends, and everything else with "ok". calls counts
// the handlers run.
func protoServer(t *testing.T) (addr string, clientTLS *tls.Config, calls *atomic.Int32) {
	t.Helper()
	calls = new(atomic.Int32)
	addr, clientTLS = startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/block" {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}), serverOpts{})
	return addr, clientTLS, calls
}

// TestBadPreface: a connection that does not start with the client
// preface is closed.
func TestBadPreface(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := dialRaw(t, addr, clientTLS)
	c.write(func() error {
		_, err := c.bw.WriteString("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		return err
	})
	_ = c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	n, err := io.Copy(io.Discard, c.conn)
	if isTimeout(err) {
		t.Fatalf("connection still open %v after a bad preface (%d bytes read)", ioTimeout, n)
	}
}

// TestFramesNeedingAStreamOnStreamZero: DATA and HEADERS on stream 0 are
// a connection error PROTOCOL_ERROR (RFC 9113 6.1, 6.2).
func TestFramesNeedingAStreamOnStreamZero(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	t.Run("DATA", func(t *testing.T) {
		c := connect(t, addr, clientTLS)
		c.write(func() error { return c.fr.WriteData(0, true, []byte("x")) })
		c.expectConnError(http2.ErrCodeProtocol)
	})
	t.Run("HEADERS", func(t *testing.T) {
		c := connect(t, addr, clientTLS)
		c.writeHeaders(0, true, c.reqHeaders("GET", "/")...)
		c.expectConnError(http2.ErrCodeProtocol)
	})
}

// TestEvenStreamID: a client-initiated stream with an even id is a
// connection error PROTOCOL_ERROR (RFC 9113 5.1.1).
func TestEvenStreamID(t *testing.T) {
	addr, clientTLS, calls := protoServer(t)
	c := connect(t, addr, clientTLS)
	c.get(2, "/")
	c.expectConnError(http2.ErrCodeProtocol)
	if n := calls.Load(); n != 0 {
		t.Fatalf("handler ran %d times", n)
	}
}

// TestDecreasingStreamID: a new stream's id must be larger than all the
// client opened before (RFC 9113 5.1.1).
func TestDecreasingStreamID(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	c.get(5, "/")
	if o := c.awaitStream(5); o.headers == nil {
		t.Fatalf("stream 5: %v", o)
	}
	c.get(3, "/")
	c.expectConnError(http2.ErrCodeProtocol)
}

// TestDataBeyondWindow: DATA beyond the window the server advertised is
// FLOW_CONTROL_ERROR (RFC 9113 6.9.1).
func TestDataBeyondWindow(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	// The /block handler never reads its body, so the server has no
	// reason to grant more than it advertised.
	c.writeHeaders(1, false, c.reqHeaders("POST", "/block")...)
	if o := c.awaitStream(1); o.headers == nil {
		t.Fatalf("stream 1: %v", o)
	}
	// One byte over the stream's window; if the connection's window is
	// the smaller, that is exceeded first, which is FLOW_CONTROL_ERROR too.
	window := int64(c.setting(http2.SettingInitialWindowSize))
	frame := int64(c.setting(http2.SettingMaxFrameSize))
	chunk := make([]byte, min(frame, 16384))
	sent := int64(0)
	err := c.tryWrite(func() error {
		for sent <= window {
			n := min(int64(len(chunk)), window+1-sent)
			if err := c.fr.WriteData(1, false, chunk[:n]); err != nil {
				return err
			}
			sent += n
		}
		return nil
	})
	if err != nil {
		t.Logf("writing %d bytes over a window of %d: %v", sent, window, err)
	}
	c.expectStreamOrConnError(1, http2.ErrCodeFlowControl)
}

// TestWindowUpdateOverflow: a WINDOW_UPDATE that takes a window past
// 2^31-1 is FLOW_CONTROL_ERROR, for the connection (connection error) and
// for a stream (stream error) (RFC 9113 6.9.1).
func TestWindowUpdateOverflow(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	t.Run("connection", func(t *testing.T) {
		c := connect(t, addr, clientTLS)
		c.write(func() error { return c.fr.WriteWindowUpdate(0, 1<<31-1) })
		c.expectConnError(http2.ErrCodeFlowControl)
	})
	t.Run("stream", func(t *testing.T) {
		c := connect(t, addr, clientTLS)
		c.writeHeaders(1, true, c.reqHeaders("GET", "/block")...)
		if o := c.awaitStream(1); o.headers == nil {
			t.Fatalf("stream 1: %v", o)
		}
		c.write(func() error { return c.fr.WriteWindowUpdate(1, 1<<31-1) })
		c.expectStreamOrConnError(1, http2.ErrCodeFlowControl)
	})
}

// TestWindowUpdateZero: a WINDOW_UPDATE of 0 is PROTOCOL_ERROR, of the
// connection on stream 0 and of the stream otherwise (RFC 9113 6.9).
func TestWindowUpdateZero(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	t.Run("connection", func(t *testing.T) {
		c := connect(t, addr, clientTLS)
		c.write(func() error { return c.fr.WriteWindowUpdate(0, 0) })
		c.expectConnError(http2.ErrCodeProtocol)
	})
	t.Run("stream", func(t *testing.T) {
		c := connect(t, addr, clientTLS)
		c.writeHeaders(1, true, c.reqHeaders("GET", "/block")...)
		if o := c.awaitStream(1); o.headers == nil {
			t.Fatalf("stream 1: %v", o)
		}
		c.write(func() error { return c.fr.WriteWindowUpdate(1, 0) })
		c.expectStreamOrConnError(1, http2.ErrCodeProtocol)
	})
}

// TestBadSettings: SETTINGS values out of range are connection errors
// with the codes of RFC 9113 6.5.2.
func TestBadSettings(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	for _, tc := range []struct {
		name string
		s    http2.Setting
		code http2.ErrCode
	}{
		{"ENABLE_PUSH=2", http2.Setting{ID: http2.SettingEnablePush, Val: 2}, http2.ErrCodeProtocol},
		{"INITIAL_WINDOW_SIZE=2^31", http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31}, http2.ErrCodeFlowControl},
		{"MAX_FRAME_SIZE=16383", http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16383}, http2.ErrCodeProtocol},
		{"MAX_FRAME_SIZE=2^24", http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 24}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, addr, clientTLS)
			c.write(func() error { return c.fr.WriteSettings(tc.s) })
			c.expectConnError(tc.code)
		})
	}
}

// TestSettingsAckWithPayload: a SETTINGS ACK with a payload is a
// connection error FRAME_SIZE_ERROR (RFC 9113 6.5).
func TestSettingsAckWithPayload(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	c.write(func() error {
		return c.fr.WriteRawFrame(http2.FrameSettings, http2.FlagSettingsAck, 0, []byte{0, 4, 0, 0, 0, 1})
	})
	c.expectConnError(http2.ErrCodeFrameSize)
}

// TestPing: a PING is answered with a PING ACK carrying the same 8 bytes.
func TestPing(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	c.write(func() error { return c.fr.WritePing(false, data) })
	for {
		f, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := f.(*http2.PingFrame); ok {
			if !p.IsAck() || p.Data != data {
				t.Fatalf("PING answered with ack=%v data=%v", p.IsAck(), p.Data)
			}
			return
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			t.Fatalf("GOAWAY %v", g.ErrCode)
		}
	}
}

// TestUnknownFrameIgnored: frames of unknown types are ignored, on the
// connection and on an open stream (RFC 9113 4.1, 5.5).
func TestUnknownFrameIgnored(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	c.write(func() error { return c.fr.WriteRawFrame(0xbb, 0xff, 0, []byte("ignore me")) })
	c.writeHeaders(1, false, c.reqHeaders("POST", "/")...)
	c.write(func() error { return c.fr.WriteRawFrame(0xbc, 0, 1, []byte("and me")) })
	c.write(func() error { return c.fr.WriteData(1, true, []byte("body")) })
	o := c.awaitStream(1)
	if o.headers == nil || o.headers.PseudoValue("status") != "200" {
		t.Fatalf("got %v", o)
	}
	if body, _ := c.readBody(1); string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	c.ping()
}

// TestMalformedRequestHeaders: malformed requests (RFC 9113 8.2, 8.3) are
// a stream error PROTOCOL_ERROR (or a connection error), and never reach
// the handler.
func TestMalformedRequestHeaders(t *testing.T) {
	addr, clientTLS, calls := protoServer(t)
	get := []string{":method", "GET", ":scheme", "https", ":authority", "127.0.0.1", ":path", "/"}
	with := func(extra ...string) []string { return append(append([]string{}, get...), extra...) }
	for _, tc := range []struct {
		name    string
		headers []string
		// deviates says what net/http's server does instead, if it is
		// known to answer rather than reset.
		deviates string
	}{
		{"uppercase name", with("X-Upper", "1"), ""},
		{"connection", with("connection", "keep-alive"), "answers a connection-specific header with 400"},
		{"keep-alive", with("keep-alive", "timeout=5"), "answers a connection-specific header with 400"},
		{"transfer-encoding", with("transfer-encoding", "chunked"), "answers a connection-specific header with 400"},
		{"upgrade", with("upgrade", "websocket"), "answers a connection-specific header with 400"},
		{"proxy-connection", with("proxy-connection", "keep-alive"), "answers a connection-specific header with 400"},
		{"te gzip", with("te", "gzip"), `answers "te" other than "trailers" with 400`},
		{"no :method", []string{":scheme", "https", ":authority", "127.0.0.1", ":path", "/"}, ""},
		{"no :path", []string{":method", "GET", ":scheme", "https", ":authority", "127.0.0.1"}, ""},
		{"no :scheme", []string{":method", "GET", ":authority", "127.0.0.1", ":path", "/"}, ""},
		{"empty :path", []string{":method", "GET", ":scheme", "https", ":authority", "127.0.0.1", ":path", ""}, ""},
		{"pseudo after regular", []string{":method", "GET", ":scheme", "https", "x-a", "1", ":authority", "127.0.0.1", ":path", "/"}, ""},
		{"unknown pseudo", with(":foo", "bar"), ""},
		{"duplicate :path", with(":path", "/again"), ""},
		{"response pseudo", with(":status", "200"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			c := connect(t, addr, clientTLS)
			c.writeHeaders(1, true, tc.headers...)
			o := c.awaitStream(1)
			if o.headers != nil && tc.deviates != "" && o.headers.PseudoValue("status") == "400" {
				if n := calls.Load() - before; n != 0 {
					t.Fatalf("handler ran %d times", n)
				}
				deviation(t, tc.deviates)
			}
			if !(o.rst != nil && o.rst.ErrCode == http2.ErrCodeProtocol) &&
				!(o.goAway != nil && o.goAway.ErrCode == http2.ErrCodeProtocol) {
				t.Fatalf("got %v, want RST_STREAM or GOAWAY PROTOCOL_ERROR", o)
			}
			if n := calls.Load() - before; n != 0 {
				t.Fatalf("handler ran %d times", n)
			}
		})
	}
}

// TestContentLengthMismatch: DATA that does not add up to content-length
// makes the request malformed: stream error PROTOCOL_ERROR (RFC 9113
// 8.1.1).
func TestContentLengthMismatch(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	t.Run("more", func(t *testing.T) {
		c := connect(t, addr, clientTLS)
		c.writeHeaders(1, false, c.reqHeaders("POST", "/", "content-length", "3")...)
		c.write(func() error { return c.fr.WriteData(1, true, []byte("too long")) })
		c.expectStreamOrConnError(1, http2.ErrCodeProtocol)
	})
	t.Run("less", func(t *testing.T) {
		c := connect(t, addr, clientTLS)
		c.writeHeaders(1, false, c.reqHeaders("POST", "/", "content-length", "100")...)
		c.write(func() error { return c.fr.WriteData(1, true, []byte("short")) })
		o := c.awaitStream(1)
		if o.headers != nil {
			deviation(t, "a body shorter than its content-length is an error for the handler's Read, not a stream reset; the handler answers")
		}
		if !(o.rst != nil && o.rst.ErrCode == http2.ErrCodeProtocol) &&
			!(o.goAway != nil && o.goAway.ErrCode == http2.ErrCodeProtocol) {
			t.Fatalf("got %v, want RST_STREAM or GOAWAY PROTOCOL_ERROR", o)
		}
	})
}

// TestClientPushPromise: a client must not send PUSH_PROMISE; it is a
// connection error PROTOCOL_ERROR (RFC 9113 8.4).
func TestClientPushPromise(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	c.writeHeaders(1, true, c.reqHeaders("GET", "/block")...)
	blk := c.block(c.reqHeaders("GET", "/pushed")...)
	c.write(func() error {
		return c.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: blk, EndHeaders: true})
	})
	c.expectConnError(http2.ErrCodeProtocol)
}

// TestHeadersAfterEndStream: HEADERS on a stream the client already ended
// (half-closed remote) is STREAM_CLOSED (RFC 9113 5.1).
func TestHeadersAfterEndStream(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	c.writeHeaders(1, true, c.reqHeaders("GET", "/block")...)
	if o := c.awaitStream(1); o.headers == nil {
		t.Fatalf("stream 1: %v", o)
	}
	c.writeHeaders(1, true, "x-late", "1")
	c.expectStreamOrConnError(1, http2.ErrCodeStreamClosed)
}

// TestDataAfterEndStream: DATA on a half-closed (remote) stream is
// STREAM_CLOSED too (RFC 9113 5.1).
func TestDataAfterEndStream(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	c.writeHeaders(1, true, c.reqHeaders("GET", "/block")...)
	if o := c.awaitStream(1); o.headers == nil {
		t.Fatalf("stream 1: %v", o)
	}
	c.write(func() error { return c.fr.WriteData(1, true, []byte("late")) })
	c.expectStreamOrConnError(1, http2.ErrCodeStreamClosed)
}

// TestFrameTooLarge: a frame larger than SETTINGS_MAX_FRAME_SIZE is
// FRAME_SIZE_ERROR (RFC 9113 4.2).
func TestFrameTooLarge(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	// The handler reads the body before it answers.
	c.writeHeaders(1, false, c.reqHeaders("POST", "/")...)
	big := make([]byte, c.setting(http2.SettingMaxFrameSize)+1)
	c.write(func() error { return c.fr.WriteData(1, false, big) })
	c.expectStreamOrConnError(1, http2.ErrCodeFrameSize)
}

// TestPingWrongLength: a PING whose payload is not 8 bytes is a
// connection error FRAME_SIZE_ERROR (RFC 9113 6.7).
func TestPingWrongLength(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	c.write(func() error { return c.fr.WriteRawFrame(http2.FramePing, 0, 0, make([]byte, 6)) })
	c.expectConnError(http2.ErrCodeFrameSize)
}

// TestSettingsOnStream: SETTINGS on a stream other than 0 is a connection
// error PROTOCOL_ERROR (RFC 9113 6.5).
func TestSettingsOnStream(t *testing.T) {
	addr, clientTLS, _ := protoServer(t)
	c := connect(t, addr, clientTLS)
	var p bytes.Buffer
	_ = binary.Write(&p, binary.BigEndian, uint16(http2.SettingMaxConcurrentStreams))
	_ = binary.Write(&p, binary.BigEndian, uint32(10))
	c.write(func() error { return c.fr.WriteRawFrame(http2.FrameSettings, 0, 1, p.Bytes()) })
	c.expectConnError(http2.ErrCodeProtocol)
}
