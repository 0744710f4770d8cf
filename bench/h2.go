package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultH2StreamsPerConn is the default of Config.H2StreamsPerConn: the
// number of concurrent streams browsers open on one HTTP/2 connection.
const DefaultH2StreamsPerConn = 100

// normalizeH2 checks the HTTP/2 settings of c.
func (c *Config) normalizeH2(u *url.URL) error {
	if !c.H2 {
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%w: H2 needs an https StreamURL (HTTP/2 streams run over TLS), got %q", errConfig, c.StreamURL)
	}
	if c.Slow > 0 {
		return fmt.Errorf("%w: Slow streams are HTTP/1.1 only; leave Slow at 0 with H2", errConfig)
	}
	if c.H2StreamsPerConn < 0 {
		return fmt.Errorf("%w: H2StreamsPerConn must not be negative, got %d", errConfig, c.H2StreamsPerConn)
	}
	if c.H2StreamsPerConn == 0 {
		c.H2StreamsPerConn = DefaultH2StreamsPerConn
	}
	return nil
}

// h2Pool holds the HTTP/2 connections of a run: stream i goes on
// connection i/perConn, dialled by the first of its streams. close closes
// them all.
type h2Pool struct {
	url     *url.URL
	tls     *tls.Config
	perConn int
	tr      *http.Transport
	conns   []h2Slot
}

// h2Slot is one connection of the pool, dialled when first needed. Until
// a stream on it has had its response the client does not know the
// server's limit of concurrent streams (its SETTINGS may still be on the
// way), so the first stream is opened alone.
type h2Slot struct {
	mu    sync.Mutex
	cc    *http.ClientConn
	ready bool // a stream had its response: the server's settings are known
}

// newH2Pool prepares the connections of t for the streams of c.
func newH2Pool(c Config, u *url.URL, t *target) *h2Pool {
	p := &h2Pool{
		url:     u,
		tls:     tlsClientConfig(c, u.Hostname(), "h2"),
		perConn: c.H2StreamsPerConn,
		conns:   make([]h2Slot, (c.Streams+c.H2StreamsPerConn-1)/c.H2StreamsPerConn),
	}
	var protos http.Protocols
	protos.SetHTTP2(true)
	p.tr = &http.Transport{
		Protocols: &protos,
		// The connections are dialled here, to check that the server
		// negotiated HTTP/2 and to say so clearly when it did not.
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialTLS(ctx, t.addr, p.tls, t.timeout, "h2")
		},
		DisableCompression: true,
	}
	return p
}

// conn returns the connection of stream i, dialling it when it is the
// first. When the connection has not yet carried a stream (first is true),
// the slot stays locked: the caller opens its stream, then calls
// markReady.
func (p *h2Pool) conn(ctx context.Context, i int) (cc *http.ClientConn, first bool, err error) {
	s := &p.conns[i/p.perConn]
	s.mu.Lock()
	if s.cc == nil || s.cc.Err() != nil {
		if s.cc, err = p.tr.NewClientConn(ctx, "https", p.url.Host); err != nil {
			s.cc = nil
			s.mu.Unlock()
			return nil, false, err
		}
		s.ready = false
	}
	if !s.ready {
		return s.cc, true, nil
	}
	s.mu.Unlock()
	return s.cc, false, nil
}

// markReady ends the first stream of stream i's connection: ok tells
// whether it had its response.
func (p *h2Pool) markReady(i int, ok bool) {
	s := &p.conns[i/p.perConn]
	s.ready = ok
	s.mu.Unlock()
}

// close closes every connection of the pool.
func (p *h2Pool) close() {
	for i := range p.conns {
		s := &p.conns[i]
		s.mu.Lock()
		if s.cc != nil {
			s.cc.Close()
			s.cc = nil
		}
		s.mu.Unlock()
	}
}

// dialH2 opens stream number i as an HTTP/2 stream on its connection and
// checks the response headers, as dial does for HTTP/1.1.
func dialH2(ctx context.Context, t *target, rec *recorder, i int) (*stream, error) {
	p := t.h2
	dctx, cancelDial := context.WithTimeout(ctx, t.timeout)
	defer cancelDial()
	cc, first, err := p.conn(dctx, i)
	if err != nil {
		return nil, err
	}
	if first {
		s, err := openH2(ctx, t, rec, cc)
		p.markReady(i, err == nil)
		return s, err
	}
	return openH2(ctx, t, rec, cc)
}

// openH2 opens a stream on cc.
func openH2(ctx context.Context, t *target, rec *recorder, cc *http.ClientConn) (*stream, error) {
	p := t.h2
	if err := cc.Reserve(); err != nil {
		return nil, fmt.Errorf("no room for another stream on an HTTP/2 connection (%d in flight): %w; the server allows fewer concurrent streams per connection than %d: lower the streams per connection (--h2-streams-per-conn)", cc.InFlight(), err, p.perConn)
	}
	// The request lives as long as the stream; the timer bounds the wait
	// for the response headers only.
	rctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(t.timeout, cancel)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, p.url.String(), nil)
	if err != nil {
		timer.Stop()
		cancel()
		cc.Release()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("User-Agent", "valksor-sse-bench")
	resp, err := cc.RoundTrip(req)
	if !timer.Stop() && err == nil {
		err = fmt.Errorf("no response headers within %v", t.timeout)
		resp.Body.Close()
	}
	if err != nil {
		cancel()
		return nil, err
	}
	bc := &bodyConn{body: resp.Body, cancel: cancel}
	s := &stream{conn: bc, rec: rec, buf: make([]byte, readBufSize), seen: make([]uint64, rec.seenWords), typeOK: rec.untyped}
	if resp.StatusCode != http.StatusOK {
		n, _ := io.ReadFull(io.LimitReader(resp.Body, 200), s.buf[:200])
		bc.Close()
		msg := strings.Join(strings.Fields(string(s.buf[:n])), " ")
		if msg == "" {
			msg = "(no body)"
		}
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/event-stream") {
		bc.Close()
		return nil, fmt.Errorf("Content-Type is %q, not text/event-stream", ct)
	}
	s.now = time.Now().UnixNano()
	return s, nil
}

// bodyConn presents the body of an HTTP/2 response as the connection of a
// stream: reads read the body, Close resets the stream. Only Read and Close
// are used on it.
type bodyConn struct {
	body   io.ReadCloser
	cancel context.CancelFunc
}

var _ net.Conn = (*bodyConn)(nil)

func (b *bodyConn) Read(p []byte) (int, error) { return b.body.Read(p) }

func (b *bodyConn) Write([]byte) (int, error) {
	return 0, errors.New("bench: an HTTP/2 stream is not written to")
}

func (b *bodyConn) Close() error {
	err := b.body.Close()
	b.cancel()
	return err
}

func (b *bodyConn) LocalAddr() net.Addr              { return nil }
func (b *bodyConn) RemoteAddr() net.Addr             { return nil }
func (b *bodyConn) SetDeadline(time.Time) error      { return nil }
func (b *bodyConn) SetReadDeadline(time.Time) error  { return nil }
func (b *bodyConn) SetWriteDeadline(time.Time) error { return nil }
