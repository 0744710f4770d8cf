package h2_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/valksor/go-sse/h2"
	"github.com/valksor/go-sse/internal/selfsigned"
)

// serverOpts are the knobs of the server under test that the tests turn.
// Zero means the server's default.
type serverOpts struct {
	MaxConcurrentStreams uint32
	MaxHeaderListSize    uint32
	IdleTimeout          time.Duration
	WriteTimeout         time.Duration
}

// startServer serves h with package h2's server over TLS on 127.0.0.1 and
// returns its address and a tls.Config for clients (RootCAs set,
// NextProtos h2). The server's log goes to t.Log.
func startServer(t *testing.T, h http.Handler, opts serverOpts) (addr string, clientTLS *tls.Config) {
	t.Helper()
	logw := newTestLogWriter(t)
	srv := &http.Server{Handler: h, ErrorLog: log.New(logw, "server: ", 0)}
	hs := &h2.Server{
		MaxConcurrentStreams: opts.MaxConcurrentStreams,
		MaxHeaderListSize:    opts.MaxHeaderListSize,
		IdleTimeout:          opts.IdleTimeout,
		WriteTimeout:         opts.WriteTimeout,
		Logger:               slog.New(slog.NewTextHandler(logw, nil)),
	}
	hs.Configure(srv)
	addr, roots := serveTLS(t, srv)
	return addr, &tls.Config{RootCAs: roots, NextProtos: []string{"h2"}, ServerName: "127.0.0.1"}
}

// serveTLS serves srv over TLS (ALPN h2, then http/1.1) on 127.0.0.1 with
// a self-signed certificate until the test ends, and returns its address
// and a pool that trusts the certificate.
func serveTLS(t testing.TB, srv *http.Server) (addr string, roots *x509.CertPool) {
	t.Helper()
	cert, err := selfsigned.Certificate(time.Now(), time.Now().Add(24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(tls.NewListener(ln, cfg))
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	roots = x509.NewCertPool()
	roots.AddCert(leaf)
	return ln.Addr().String(), roots
}

// deviation fails the test where the server did something RFC 9113 does
// not allow (the suite was first run against net/http's server, which
// does some of these: answering a malformed request with 400, say, or
// acknowledging several SETTINGS frames at once).
func deviation(t *testing.T, what string) {
	t.Helper()
	t.Fatal(what)
}

// testLogWriter sends the server's log to t.Log until the test ends.
type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func newTestLogWriter(t *testing.T) *testLogWriter {
	w := &testLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// h2Client is an http.Client that speaks only HTTP/2 to the server.
func h2Client(t *testing.T, clientTLS *tls.Config) *http.Client {
	t.Helper()
	var protos http.Protocols
	protos.SetHTTP2(true)
	tr := &http.Transport{
		TLSClientConfig:   clientTLS.Clone(),
		ForceAttemptHTTP2: true,
		Protocols:         &protos,
		HTTP2:             &http.HTTP2Config{StrictMaxConcurrentRequests: true},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// rawConn is a client that writes and reads HTTP/2 frames itself, to say
// what a well-behaved client would not.
type rawConn struct {
	t    *testing.T
	conn *tls.Conn
	bw   *bufio.Writer
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
	wmu  sync.Mutex

	// serverSettings are the values of the server's first SETTINGS.
	serverSettings map[http2.SettingID]uint32
}

const ioTimeout = 10 * time.Second

// dialRaw opens a TLS connection that negotiated h2, without writing
// anything on it.
func dialRaw(t *testing.T, addr string, clientTLS *tls.Config) *rawConn {
	t.Helper()
	return dialRawWith(t, addr, clientTLS, nil)
}

func dialRawWith(t *testing.T, addr string, clientTLS *tls.Config, tune func(*net.TCPConn)) *rawConn {
	t.Helper()
	tcp, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(tcp.(*net.TCPConn))
	}
	conn := tls.Client(tcp, clientTLS.Clone())
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	if err := conn.Handshake(); err != nil {
		_ = tcp.Close()
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Time{})
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		_ = conn.Close()
		t.Fatalf("negotiated %q, want h2", p)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &rawConn{t: t, conn: conn, bw: bufio.NewWriterSize(conn, 64<<10)}
	c.fr = http2.NewFramer(c.bw, conn)
	c.fr.AllowIllegalWrites = true
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 16 << 20
	c.enc = hpack.NewEncoder(&c.hbuf)
	return c
}

// connect dials and does the connection preface: the client's magic and
// SETTINGS, the server's SETTINGS (acknowledged), and the server's
// acknowledgement of the client's SETTINGS.
func connect(t *testing.T, addr string, clientTLS *tls.Config, settings ...http2.Setting) *rawConn {
	t.Helper()
	c := dialRaw(t, addr, clientTLS)
	c.handshake(settings...)
	return c
}

func (c *rawConn) handshake(settings ...http2.Setting) {
	c.t.Helper()
	c.write(func() error {
		if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
			return err
		}
		return c.fr.WriteSettings(settings...)
	})
	gotSettings, gotAck := false, false
	for !gotSettings || !gotAck {
		f, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("handshake: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				gotAck = true
				continue
			}
			if gotSettings {
				continue
			}
			gotSettings = true
			c.serverSettings = map[http2.SettingID]uint32{}
			_ = f.ForeachSetting(func(s http2.Setting) error {
				c.serverSettings[s.ID] = s.Val
				return nil
			})
			c.write(c.fr.WriteSettingsAck)
		case *http2.GoAwayFrame:
			c.t.Fatalf("handshake: GOAWAY %v", f.ErrCode)
		}
	}
}

// setting is a value of the server's SETTINGS, or its RFC default.
func (c *rawConn) setting(id http2.SettingID) uint32 {
	if v, ok := c.serverSettings[id]; ok {
		return v
	}
	switch id {
	case http2.SettingInitialWindowSize:
		return 65535
	case http2.SettingMaxFrameSize:
		return 16384
	case http2.SettingMaxConcurrentStreams, http2.SettingMaxHeaderListSize:
		return 1<<32 - 1
	}
	return 0
}

// write runs fn (which writes frames) and flushes, failing the test on an
// error.
func (c *rawConn) write(fn func() error) {
	c.t.Helper()
	if err := c.tryWrite(fn); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawConn) tryWrite(fn func() error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := fn(); err != nil {
		return err
	}
	return c.bw.Flush()
}

func (c *rawConn) readFrame() (http2.Frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	return c.fr.ReadFrame()
}

// block encodes header fields given as name, value pairs, in order and
// exactly as given.
func (c *rawConn) block(pairs ...string) []byte {
	if len(pairs)%2 != 0 {
		panic("odd header pairs")
	}
	c.hbuf.Reset()
	for i := 0; i < len(pairs); i += 2 {
		if err := c.enc.WriteField(hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]}); err != nil {
			panic(err)
		}
	}
	return bytes.Clone(c.hbuf.Bytes())
}

// reqHeaders is a valid GET request for path followed by extra fields.
func (c *rawConn) reqHeaders(method, path string, extra ...string) []string {
	h := []string{":method", method, ":scheme", "https", ":authority", "127.0.0.1", ":path", path}
	return append(h, extra...)
}

// writeHeaders sends one HEADERS frame (with END_HEADERS) carrying pairs.
func (c *rawConn) writeHeaders(streamID uint32, endStream bool, pairs ...string) {
	c.t.Helper()
	blk := c.block(pairs...)
	c.write(func() error {
		return c.fr.WriteHeaders(http2.HeadersFrameParam{
			StreamID: streamID, BlockFragment: blk, EndStream: endStream, EndHeaders: true,
		})
	})
}

// get opens stream id with a GET of path.
func (c *rawConn) get(streamID uint32, path string) {
	c.t.Helper()
	c.writeHeaders(streamID, true, c.reqHeaders("GET", path)...)
}

// outcome is how the server ended or answered a stream.
type outcome struct {
	goAway  *http2.GoAwayFrame // connection error
	rst     *http2.RSTStreamFrame
	headers *http2.MetaHeadersFrame // a response
	closed  error                   // the connection ended without GOAWAY
}

func (o outcome) String() string {
	switch {
	case o.goAway != nil:
		return fmt.Sprintf("GOAWAY %v (last stream %d, %q)", o.goAway.ErrCode, o.goAway.LastStreamID, o.goAway.DebugData())
	case o.rst != nil:
		return fmt.Sprintf("RST_STREAM %v on stream %d", o.rst.ErrCode, o.rst.StreamID)
	case o.headers != nil:
		return fmt.Sprintf("response %s on stream %d", o.headers.PseudoValue("status"), o.headers.StreamID)
	default:
		return fmt.Sprintf("connection closed without GOAWAY (%v)", o.closed)
	}
}

// awaitStream reads until the server answers stream id (HEADERS), resets
// it, or ends the connection. Other frames are answered or skipped.
func (c *rawConn) awaitStream(streamID uint32) outcome {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			if isTimeout(err) {
				c.t.Fatalf("stream %d: no answer within %v", streamID, ioTimeout)
			}
			return outcome{closed: err}
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			return outcome{goAway: f}
		case *http2.RSTStreamFrame:
			if f.StreamID == streamID {
				return outcome{rst: f}
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == streamID {
				return outcome{headers: f}
			}
		}
	}
}

// awaitGoAway reads until GOAWAY or the end of the connection.
func (c *rawConn) awaitGoAway() outcome {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			if isTimeout(err) {
				c.t.Fatalf("no GOAWAY within %v", ioTimeout)
			}
			return outcome{closed: err}
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return outcome{goAway: g}
		}
	}
}

// expectConnError requires a GOAWAY with code.
func (c *rawConn) expectConnError(code http2.ErrCode) {
	c.t.Helper()
	o := c.awaitGoAway()
	if o.goAway == nil || o.goAway.ErrCode != code {
		c.t.Fatalf("got %v, want GOAWAY %v", o, code)
	}
}

// expectStreamOrConnError requires stream id reset with code, or a GOAWAY
// with code (RFC 9113 lets the server choose where a stream error is
// called for... and a connection error is always allowed). It returns the
// outcome for further checks; a response is a failure unless the caller
// passes allowResponse, in which case it is returned.
func (c *rawConn) expectStreamOrConnError(streamID uint32, code http2.ErrCode) outcome {
	c.t.Helper()
	o := c.awaitStream(streamID)
	switch {
	case o.rst != nil && o.rst.ErrCode == code:
	case o.goAway != nil && o.goAway.ErrCode == code:
	default:
		c.t.Fatalf("stream %d: got %v, want RST_STREAM or GOAWAY %v", streamID, o, code)
	}
	return o
}

// ping sends a PING and waits for its ACK, which proves that the server
// processed everything sent before it.
func (c *rawConn) ping() {
	c.t.Helper()
	data := [8]byte{'s', 'y', 'n', 'c', 0, 0, 0, 1}
	c.write(func() error { return c.fr.WritePing(false, data) })
	for {
		f, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("awaiting PING ACK: %v", err)
		}
		switch f := f.(type) {
		case *http2.PingFrame:
			if f.IsAck() && f.Data == data {
				return
			}
		case *http2.GoAwayFrame:
			c.t.Fatalf("awaiting PING ACK: GOAWAY %v %q", f.ErrCode, f.DebugData())
		}
	}
}

// readBody reads stream id's DATA to END_STREAM, granting flow control
// as it goes, and returns the body and trailers (if any). It skips the
// response's HEADERS if they come first.
func (c *rawConn) readBody(streamID uint32) (body []byte, trailers *http2.MetaHeadersFrame) {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("stream %d body: %v", streamID, err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if f.StreamID != streamID {
				continue
			}
			body = append(body, f.Data()...)
			if n := uint32(f.Length); n > 0 {
				c.write(func() error {
					if err := c.fr.WriteWindowUpdate(0, n); err != nil {
						return err
					}
					return c.fr.WriteWindowUpdate(streamID, n)
				})
			}
			if f.StreamEnded() {
				return body, nil
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != streamID {
				continue
			}
			if f.PseudoValue("status") != "" {
				// The response's HEADERS, if the caller has not read them.
				if f.StreamEnded() {
					return body, nil
				}
				continue
			}
			if !f.StreamEnded() {
				c.t.Fatalf("stream %d: trailers without END_STREAM", streamID)
			}
			return body, f
		case *http2.RSTStreamFrame:
			if f.StreamID == streamID {
				c.t.Fatalf("stream %d reset (%v) while reading its body", streamID, f.ErrCode)
			}
		case *http2.GoAwayFrame:
			c.t.Fatalf("GOAWAY %v while reading stream %d", f.ErrCode, streamID)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// header returns the value of a regular header field of a response.
func header(f *http2.MetaHeadersFrame, name string) (string, bool) {
	for _, hf := range f.RegularFields() {
		if hf.Name == name {
			return hf.Value, true
		}
	}
	return "", false
}

// drain reads and discards r.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, r) }
