package h2_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestGetBody: a GET is answered with the handler's body, byte for byte,
// small and large (the large one needs the client's flow control grants).
func TestGetBody(t *testing.T) {
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			t.Errorf("request over %s", r.Proto)
		}
		switch r.URL.Path {
		case "/small":
			_, _ = io.WriteString(w, "hello, h2")
		case "/big":
			_, _ = w.Write(big)
		}
	}), serverOpts{})
	c := h2Client(t, clientTLS)
	for _, tc := range []struct {
		path string
		want []byte
	}{{"/small", []byte("hello, h2")}, {"/big", big}} {
		resp, err := c.Get("https://" + addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("%s: %s over %s", tc.path, resp.Status, resp.Proto)
		}
		if !bytes.Equal(body, tc.want) {
			t.Fatalf("%s: got %d bytes, want %d (equal: false)", tc.path, len(body), len(tc.want))
		}
	}
}

// TestHead: a HEAD response is HEADERS with END_STREAM and the
// Content-Length the handler set, and no DATA.
func TestHead(t *testing.T) {
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "11")
		_, _ = io.WriteString(w, "hello world")
	}), serverOpts{})
	c := connect(t, addr, clientTLS)
	c.writeHeaders(1, true, c.reqHeaders("HEAD", "/")...)
	o := c.awaitStream(1)
	if o.headers == nil {
		t.Fatalf("got %v, want a response", o)
	}
	if s := o.headers.PseudoValue("status"); s != "200" {
		t.Fatalf("status %s", s)
	}
	if cl, _ := header(o.headers, "content-length"); cl != "11" {
		t.Fatalf("content-length %q, want 11", cl)
	}
	if !o.headers.StreamEnded() {
		body, _ := c.readBody(1)
		if len(body) != 0 {
			t.Fatalf("HEAD response has a %d-byte body", len(body))
		}
	}
	// Anything sent on stream 1 after this would show up before the PING ACK.
	c.ping()
}

// TestPostEcho: a 3 MB request body is echoed back while it is still
// being sent, which needs flow control both ways.
func TestPostEcho(t *testing.T) {
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(w, r.Body); err != nil {
			t.Errorf("echo: %v", err)
		}
	}), serverOpts{})
	payload := make([]byte, 3<<20)
	_, _ = rand.Read(payload)
	c := h2Client(t, clientTLS)
	resp, err := c.Post("https://"+addr+"/echo", "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(payload) || len(got) != len(payload) {
		t.Fatalf("echo: got %d bytes, sent %d, or they differ", len(got), len(payload))
	}
}

// TestFlushStreams: each Flush puts what was written on the wire; the
// handler writes chunk i+1 only after the client has read chunk i.
func TestFlushStreams(t *testing.T) {
	const chunks = 5
	ack := make(chan struct{})
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		for i := range chunks {
			fmt.Fprintf(w, "chunk %d;", i)
			f.Flush()
			select {
			case <-ack:
			case <-r.Context().Done():
				return
			}
		}
	}), serverOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+addr+"/stream", nil)
	resp, err := h2Client(t, clientTLS).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for i := range chunks {
		want := fmt.Sprintf("chunk %d;", i)
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if string(buf) != want {
			t.Fatalf("got %q, want %q", buf, want)
		}
		select {
		case ack <- struct{}{}:
		case <-ctx.Done():
			t.Fatal("handler gone")
		}
	}
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Fatalf("after the chunks: %q, %v", rest, err)
	}
}

// TestNoBodyStatuses: 204 and 304 responses end with their HEADERS, even
// when the handler tries to write a body.
func TestNoBodyStatuses(t *testing.T) {
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Path[1:])
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "must not be sent")
	}), serverOpts{})
	c := connect(t, addr, clientTLS)
	for i, code := range []string{"204", "304"} {
		id := uint32(2*i + 1)
		c.get(id, "/"+code)
		o := c.awaitStream(id)
		if o.headers == nil || o.headers.PseudoValue("status") != code {
			t.Fatalf("%s: got %v", code, o)
		}
		if !o.headers.StreamEnded() {
			body, _ := c.readBody(id)
			if len(body) != 0 {
				t.Fatalf("%s response has a body: %q", code, body)
			}
		}
	}
	c.ping()
}

// TestHeadersAndTrailers: response headers arrive, and so do trailers,
// both declared with "Trailer" and set with http.TrailerPrefix.
func TestHeadersAndTrailers(t *testing.T) {
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Custom", "custom value")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("Trailer", "X-Declared")
		_, _ = io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Declared", "declared value")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "undeclared value")
	}), serverOpts{})
	resp, err := h2Client(t, clientTLS).Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(body) != "body" {
		t.Fatalf("body %q, %v", body, err)
	}
	if v := resp.Header.Get("X-Custom"); v != "custom value" {
		t.Errorf("X-Custom %q", v)
	}
	if v := resp.Header.Values("X-Multi"); len(v) != 2 || v[0] != "a" || v[1] != "b" {
		t.Errorf("X-Multi %q", v)
	}
	if v := resp.Trailer.Get("X-Declared"); v != "declared value" {
		t.Errorf("trailer X-Declared %q (trailers %v)", v, resp.Trailer)
	}
	if v := resp.Trailer.Get("X-Undeclared"); v != "undeclared value" {
		t.Errorf("trailer X-Undeclared %q (trailers %v)", v, resp.Trailer)
	}
}

// TestRequestSeenByHandler: the handler sees what the client sent and
// where it came from.
func TestRequestSeenByHandler(t *testing.T) {
	got := make(chan *http.Request, 1)
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Clone(context.Background())
	}), serverOpts{})
	c := connect(t, addr, clientTLS)
	c.writeHeaders(1, true,
		":method", "GET", ":scheme", "https", ":authority", "app.example:8443", ":path", "/a/b?x=1&y=two",
		"x-request", "one", "x-request", "two", "user-agent", "raw-client")
	o := c.awaitStream(1)
	if o.headers == nil || o.headers.PseudoValue("status") != "200" {
		t.Fatalf("got %v", o)
	}
	var r *http.Request
	select {
	case r = <-got:
	case <-time.After(ioTimeout):
		t.Fatal("handler not called")
	}
	checks := []struct{ what, got, want string }{
		{"Method", r.Method, "GET"},
		{"Host", r.Host, "app.example:8443"},
		{"URL.Path", r.URL.Path, "/a/b"},
		{"URL.RawQuery", r.URL.RawQuery, "x=1&y=two"},
		{"RequestURI", r.RequestURI, "/a/b?x=1&y=two"},
		{"Proto", r.Proto, "HTTP/2.0"},
		{"User-Agent", r.UserAgent(), "raw-client"},
		{"RemoteAddr", r.RemoteAddr, c.conn.LocalAddr().String()},
		{"X-Request", fmt.Sprint(r.Header.Values("X-Request")), "[one two]"},
		{"query y", r.URL.Query().Get("y"), "two"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.what, ck.got, ck.want)
		}
	}
	if r.ProtoMajor != 2 || r.ProtoMinor != 0 {
		t.Errorf("ProtoMajor.Minor %d.%d", r.ProtoMajor, r.ProtoMinor)
	}
	if r.TLS == nil || r.TLS.NegotiatedProtocol != "h2" || !r.TLS.HandshakeComplete {
		t.Errorf("r.TLS = %+v", r.TLS)
	}
}

// TestContextCancelledOnReset: RST_STREAM from the client cancels the
// request's context.
func TestContextCancelledOnReset(t *testing.T) {
	started := make(chan struct{})
	cancelled := make(chan error, 1)
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			cancelled <- r.Context().Err()
		case <-time.After(2 * ioTimeout):
			cancelled <- nil
		}
	}), serverOpts{})
	c := connect(t, addr, clientTLS)
	c.writeHeaders(1, false, c.reqHeaders("POST", "/")...)
	select {
	case <-started:
	case <-time.After(ioTimeout):
		t.Fatal("handler not called")
	}
	c.write(func() error { return c.fr.WriteRSTStream(1, http2.ErrCodeCancel) })
	if err := <-cancelled; err == nil {
		t.Fatal("the request's context was not cancelled after RST_STREAM")
	}
	c.ping()
}

// TestHandlerPanic: a handler's panic resets its stream; the connection
// goes on serving other streams.
func TestHandlerPanic(t *testing.T) {
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("handler failure")
		}
		_, _ = io.WriteString(w, "fine")
	}), serverOpts{})
	c := connect(t, addr, clientTLS)
	c.get(1, "/panic")
	o := c.awaitStream(1)
	if o.rst == nil {
		t.Fatalf("panicking handler: got %v, want RST_STREAM", o)
	}
	c.get(3, "/ok")
	o = c.awaitStream(3)
	if o.headers == nil || o.headers.PseudoValue("status") != "200" {
		t.Fatalf("after the panic: got %v", o)
	}
	if body, _ := c.readBody(3); string(body) != "fine" {
		t.Fatalf("body %q", body)
	}
}

// TestConcurrentRequests: 100 requests on one connection run their
// handlers at the same time.
func TestConcurrentRequests(t *testing.T) {
	const n = 100
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var remotes sync.Map
	addr, clientTLS := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/warm" {
			return
		}
		remotes.Store(r.RemoteAddr, true)
		arrived.Done()
		select {
		case <-all:
			_, _ = io.WriteString(w, r.URL.Query().Get("i"))
		case <-r.Context().Done():
		}
	}), serverOpts{})
	c := h2Client(t, clientTLS)
	resp, err := c.Get("https://" + addr + "/warm")
	if err != nil {
		t.Fatal(err)
	}
	drain(resp.Body)
	_ = resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://%s/c?i=%d", addr, i), nil)
			resp, err := c.Do(req)
			if err != nil {
				failed.Add(1)
				t.Errorf("request %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != strconv.Itoa(i) {
				failed.Add(1)
				t.Errorf("request %d: body %q, %v", i, body, err)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		return
	}
	count := 0
	remotes.Range(func(_, _ any) bool { count++; return true })
	if count != 1 {
		t.Fatalf("requests came over %d connections, want 1", count)
	}
}
