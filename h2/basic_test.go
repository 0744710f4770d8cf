package h2_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/h2"
)

// listen serves h with an h2.Server over TLS on 127.0.0.1 and returns the
// base URL and a client speaking HTTP/2 to it.
func listen(t *testing.T, h http.Handler, hs *h2.Server) (string, *http.Client) {
	t.Helper()
	return listenWith(t, h, hs, nil)
}

// listenWith is listen with a hook that adjusts the http.Server first.
func listenWith(t testing.TB, h http.Handler, hs *h2.Server, adjust func(*http.Server)) (string, *http.Client) {
	t.Helper()
	srv := &http.Server{Handler: h}
	if adjust != nil {
		adjust(srv)
	}
	hs.Configure(srv)
	addr, roots := serveTLS(t, srv)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return "https://" + addr, &http.Client{Transport: tr}
}

// TestBasicRequests: a GET, a POST whose body is echoed, and a detached
// response written after its handler returned, over HTTP/2.
func TestBasicRequests(t *testing.T) {
	detached := make(chan net.Conn, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.Proto)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		c, err := w.(interface {
			Detach(func()) (net.Conn, error)
		}).Detach(nil)
		if err != nil {
			t.Error(err)
			return
		}
		detached <- c
	})
	url, client := listen(t, mux, &h2.Server{})

	resp, err := client.Get(url + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello HTTP/2.0" || resp.ProtoMajor != 2 || resp.ContentLength != int64(len(body)) {
		t.Fatalf("GET: %q over %s, length %d", body, resp.Proto, resp.ContentLength)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	resp, err = client.Post(url+"/echo", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, big) {
		t.Fatalf("POST echoed %d bytes, want %d", len(body), len(big))
	}

	resp, err = client.Get(url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	c := <-detached
	for _, s := range []string{"data: one\n\n", "data: two\n\n"} {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil || string(body) != "data: one\n\ndata: two\n\n" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %q, %v, %q", body, err, resp.Header.Get("Content-Type"))
	}
}

// TestGracefulShutdown: http.Server.Shutdown sends the connection a
// GOAWAY; the request in flight completes, and Shutdown returns once it
// has, with the connection closed.
func TestGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var srv *http.Server
	url, client := listenWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	}), &h2.Server{}, func(s *http.Server) { srv = s })
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := client.Get(url + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "done" {
		t.Fatalf("the request in flight got %q, %v", r.body, r.err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
