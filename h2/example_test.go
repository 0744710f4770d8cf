package h2_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/valksor/go-sse/h2"
	"github.com/valksor/go-sse/internal/selfsigned"
)

// A handler detaches its response: it returns at once, and the stream
// stays open for whoever holds the returned connection. Here a goroutine
// writes two events and ends the stream.
func ExampleServer_Configure() {
	mux := http.NewServeMux()
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		d, ok := w.(interface {
			Detach(onClose func()) (net.Conn, error)
		})
		if !ok {
			http.Error(w, "HTTP/2 only", http.StatusHTTPVersionNotSupported)
			return
		}
		stream, err := d.Detach(nil)
		if err != nil {
			return
		}
		go func() {
			defer stream.Close()
			stream.Write([]byte("data: one\n\n"))
			stream.Write([]byte("data: two\n\n"))
		}()
	})

	srv := &http.Server{Handler: mux}
	(&h2.Server{}).Configure(srv)
	cert, err := selfsigned.Certificate(time.Now(), time.Now().Add(time.Hour), nil)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}))
	defer srv.Close()

	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/events")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s\n%s", resp.Proto, body)
	// Output:
	// HTTP/2.0
	// data: one
	//
	// data: two
}
