package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FloorWriteTimeout is how long the floor server waits for one write to a
// stream before it drops the stream.
const FloorWriteTimeout = 5 * time.Second

// floorHeader is the whole response head of a floor stream.
var floorHeader = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n")

// Floor is the floor server: the least an SSE server can do, as a yardstick
// for what the kernel and the hardware cost. Any GET opens a stream: the
// connection is hijacked, answered with a bare event-stream header and kept
// in a slice, with no goroutine and no buffer of its own. Any POST publishes:
// the body (valksor-sse's JSON or form publish body; only type and data are
// used) is encoded once as "event: <type>\ndata: <data>\n\n" (type "bench"
// when the body has none) and written to every stream by a few goroutines,
// then answered with {"id":"<n>"}. A stream whose write fails (the client
// went away) or times out is closed and forgotten. There are no topics, no
// history, no ids, no heartbeat and no authentication.
//
// Create one with ServeFloor; it is safe for concurrent use.
type Floor struct {
	ln     net.Listener
	srv    *http.Server
	served chan error
	tls    bool // serves TLS (ServeFloorTLS)

	mu     sync.Mutex // guards conns and closed
	conns  []*floorConn
	closed bool

	pub sync.Mutex // one fan-out at a time, so events keep their order
	seq atomic.Uint64
}

// floorConn is one stream. until is its write deadline (unix nanos); it and
// dead are used only by the fan-out, which runs one at a time.
type floorConn struct {
	c     net.Conn
	until int64
	dead  bool
}

// ServeFloor starts the floor server on ln, in the background, and returns
// it. Close stops it.
func ServeFloor(ln net.Listener) *Floor {
	f := &Floor{ln: ln, served: make(chan error, 1)}
	f.srv = &http.Server{
		Handler:           http.HandlerFunc(f.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { f.served <- f.srv.Serve(ln) }()
	return f
}

// RunFloor runs a floor server on addr (for example "127.0.0.1:0") until ctx
// ends. Once it listens it calls ready, when not nil, with the address it
// listens on. It returns nil when ctx ends and an error when it cannot
// listen or serve. It is the body of a floor server process, so that the
// server's memory can be measured apart from the benchmark's.
func RunFloor(ctx context.Context, addr string, ready func(addr string)) error {
	return runFloor(ctx, addr, false, ready)
}

// runFloor is RunFloor, serving TLS when withTLS is set.
func runFloor(ctx context.Context, addr string, withTLS bool, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	var f *Floor
	if withTLS {
		if f, err = ServeFloorTLS(ln); err != nil {
			ln.Close()
			return err
		}
	} else {
		f = ServeFloor(ln)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
		return f.Close()
	case err := <-f.served:
		f.Close()
		return fmt.Errorf("floor: %w", err)
	}
}

// floorAnnouncement starts the line a floor process writes once it listens.
const floorAnnouncement = "floor listening on "

// AnnounceFloor returns a ready function for RunFloor that writes the line
// StartFloorProcess waits for ("floor listening on <addr>") to w, usually
// os.Stdout.
func AnnounceFloor(w io.Writer) func(addr string) {
	return func(addr string) { fmt.Fprintf(w, "%s%s\n", floorAnnouncement, addr) }
}

// StartFloorProcess starts cmd, a floor server process: a program (usually
// this one, through a hidden subcommand) that calls RunFloor with
// AnnounceFloor(os.Stdout) as its ready function. It waits up to timeout for
// the announcement and returns the address the floor listens on; the pid for
// Config.ServerPID is cmd.Process.Pid. cmd.Stdout must be nil: the process's
// standard output is read, then discarded. The caller ends the process (an
// interrupt makes RunFloor return nil) and waits for it with cmd.Wait.
func StartFloorProcess(cmd *exec.Cmd, timeout time.Duration) (string, error) {
	if cmd.Stdout != nil {
		return "", errors.New("floor process: cmd.Stdout must be nil")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return "", fmt.Errorf("floor process: %w", err)
	}
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return "", fmt.Errorf("floor process: %w", err)
	}
	found := make(chan string, 1)
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), floorAnnouncement); ok {
				found <- addr
				break
			}
		}
		close(found)
		_, _ = io.Copy(io.Discard, r) // until the process ends
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case addr, ok := <-found:
		if ok {
			return addr, nil
		}
		_ = cmd.Wait()
		return "", fmt.Errorf("floor process %s ended before it listened (%v)", cmd.Path, cmd.ProcessState)
	case <-t.C:
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", fmt.Errorf("floor process %s did not listen within %v", cmd.Path, timeout)
	}
}

// Addr returns the address the server listens on.
func (f *Floor) Addr() net.Addr { return f.ln.Addr() }

// StreamURL returns the URL of a stream on the server: http://<addr>/sse
// (https for a TLS floor).
func (f *Floor) StreamURL() string { return f.url("/sse") }

// PublishURL returns the URL to publish to: http://<addr>/publish (https
// for a TLS floor).
func (f *Floor) PublishURL() string { return f.url("/publish") }

// url returns the URL of path on the server.
func (f *Floor) url(path string) string {
	scheme := "http"
	if f.tls {
		scheme = "https"
	}
	return scheme + "://" + f.ln.Addr().String() + path
}

// Streams returns the number of open streams. A stream whose client went
// away counts until a publish finds out.
func (f *Floor) Streams() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// Close stops the server and closes every stream.
func (f *Floor) Close() error {
	err := f.srv.Close()
	f.mu.Lock()
	f.closed = true
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, fc := range conns {
		fc.c.Close()
	}
	return err
}

func (f *Floor) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		f.serveStream(w)
	case http.MethodPost:
		if r.URL.Path == "/reset" {
			f.reset()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		f.servePublish(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "the floor server streams on GET and publishes on POST", http.StatusMethodNotAllowed)
	}
}

func (f *Floor) serveStream(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "the floor server needs HTTP/1.x", http.StatusHTTPVersionNotSupported)
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	fc := &floorConn{c: c, until: time.Now().Add(FloorWriteTimeout).UnixNano()}
	// The header is written under the lock that the fan-out takes for its
	// snapshot: a stream is either in the snapshot with its header already
	// written, or its client has not yet seen the header.
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return
	}
	if err := c.SetWriteDeadline(time.Unix(0, fc.until)); err != nil {
		c.Close()
		return
	}
	if _, err := c.Write(floorHeader); err != nil {
		c.Close()
		return
	}
	f.conns = append(f.conns, fc)
}

// reset closes every stream. The floor notices a client that left only
// when a write to it fails, so a benchmark resets it between runs; else the
// streams of the last run would still hold their files.
func (f *Floor) reset() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, fc := range conns {
		fc.c.Close()
	}
}

// ResetURL returns the URL that makes the floor close its streams (POST).
func (f *Floor) ResetURL() string { return f.url("/reset") }

func (f *Floor) servePublish(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > 1<<20 {
		http.Error(w, "body over 1 MB", http.StatusRequestEntityTooLarge)
		return
	}
	typ, data, err := floorEvent(r.Header.Get("Content-Type"), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.broadcast(encodeFloorFrame(typ, data))
	id := f.seq.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"id\":\"%d\"}\n", id)
}

// floorEvent reads the type and data of a publish body: JSON ({"type",
// "data"}, data a string or any JSON value) or a URL-encoded form.
func floorEvent(ctype string, body []byte) (typ, data string, err error) {
	media := ""
	if ctype != "" {
		if media, _, err = mime.ParseMediaType(ctype); err != nil {
			return "", "", fmt.Errorf("malformed Content-Type %q", ctype)
		}
	}
	if media == "" {
		media = "application/x-www-form-urlencoded"
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
			media = "application/json"
		}
	}
	switch media {
	case "application/json":
		var m struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return "", "", fmt.Errorf("publish body is not a JSON object: %v", err)
		}
		typ = m.Type
		switch {
		case len(m.Data) == 0 || string(m.Data) == "null":
			data = "{}"
		case m.Data[0] == '"':
			if err := json.Unmarshal(m.Data, &data); err != nil {
				return "", "", fmt.Errorf("data: %v", err)
			}
		default:
			var b bytes.Buffer
			if err := json.Compact(&b, m.Data); err != nil {
				return "", "", fmt.Errorf("data: %v", err)
			}
			data = b.String()
		}
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return "", "", fmt.Errorf("malformed form: %v", err)
		}
		typ = q.Get("type")
		data = strings.Join(q["data"], "\n")
	default:
		return "", "", fmt.Errorf("unsupported Content-Type %q; send application/json or a URL-encoded form", media)
	}
	if strings.ContainsAny(typ, "\r\n\x00") {
		return "", "", errors.New("type contains a line break or NUL")
	}
	if typ == "" {
		typ = DefaultEventType
	}
	return typ, data, nil
}

// encodeFloorFrame encodes one event: its type and one data line per line
// of data.
func encodeFloorFrame(typ, data string) []byte {
	b := make([]byte, 0, len(typ)+len(data)+16)
	b = append(b, "event: "...)
	b = append(b, typ...)
	b = append(b, '\n')
	data = strings.ReplaceAll(data, "\r\n", "\n")
	data = strings.ReplaceAll(data, "\r", "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	return append(b, '\n')
}

// broadcast writes frame to every stream, splitting the streams between up
// to GOMAXPROCS goroutines, and forgets the streams whose write failed.
func (f *Floor) broadcast(frame []byte) {
	f.pub.Lock()
	defer f.pub.Unlock()
	f.mu.Lock()
	conns := f.conns[:len(f.conns):len(f.conns)]
	f.mu.Unlock()
	if len(conns) == 0 {
		return
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), 8, len(conns)/256))
	per := (len(conns) + workers - 1) / workers
	var wg sync.WaitGroup
	var dead atomic.Int64
	for start := 0; start < len(conns); start += per {
		part := conns[start:min(start+per, len(conns))]
		wg.Go(func() {
			now := time.Now().UnixNano()
			for _, fc := range part {
				if fc.until-now < int64(FloorWriteTimeout/2) {
					fc.until = now + int64(FloorWriteTimeout)
					_ = fc.c.SetWriteDeadline(time.Unix(0, fc.until))
				}
				if _, err := fc.c.Write(frame); err != nil {
					fc.dead = true
					fc.c.Close()
					dead.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if dead.Load() == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	kept := f.conns[:0]
	for _, fc := range f.conns {
		if !fc.dead {
			kept = append(kept, fc)
		}
	}
	clear(f.conns[len(kept):])
	f.conns = kept
}
