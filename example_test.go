package sse_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/client"
)

// Embedding the hub in an application: mount it on the app's mux and
// broadcast from any handler.
func Example() {
	hub, err := sse.New(sse.WithPublishToken("secret"))
	if err != nil {
		panic(err)
	}
	defer hub.Shutdown(context.Background())

	mux := http.NewServeMux()
	hub.Register(mux) // GET /sse, /sse/healthz, POST /sse/publish, POST /sse/ping
	mux.HandleFunc("POST /notify", func(w http.ResponseWriter, r *http.Request) {
		err := hub.Broadcast(r.Context(), sse.Event{
			Type: "custom-notification",
			Data: map[string]string{"message": "Hello from server!", "level": "info"},
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A subscriber, as a browser would be.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan client.Event)
	go (&client.Subscriber{URL: srv.URL + "/sse"}).Run(ctx, func(e client.Event) error {
		if e.Type == sse.TypeConnected {
			http.Post(srv.URL+"/notify", "", nil)
			return nil
		}
		got <- e
		return nil
	})
	e := <-got
	fmt.Println(e.Type, e.Data)
	// Output: custom-notification {"level":"info","message":"Hello from server!"}
}

// The Publisher is a Broadcaster for a hub in another process, such as a
// standalone valksor-sse server.
func ExampleBroadcaster() {
	hub, _ := sse.New(sse.WithPublishToken("secret"))
	defer hub.Shutdown(context.Background())
	srv := httptest.NewServer(hub.Handler())
	defer srv.Close()

	var b sse.Broadcaster = &client.Publisher{URL: srv.URL + "/sse", Token: "secret"}
	fmt.Println(b.Broadcast(context.Background(), sse.Reload("templates/base.html")))

	b = &client.Publisher{URL: srv.URL + "/sse", Token: "wrong"}
	err := b.Broadcast(context.Background(), sse.Reload())
	fmt.Println(errors.Is(err, sse.ErrUnauthorized))
	// Output:
	// <nil>
	// true
}

// Serving TLS: the TCP listener goes under tls.NewListener through
// sse.Listener, so that the hub writes the HTTP/1.1 streams it takes over
// without waiting on their sockets, with a config from sse.TLSConfig, so
// that it writes their TLS 1.3 records itself and drops crypto/tls's
// buffers; NextProtos keeps HTTP/2 on offer. (No output: it serves until
// the server is shut down.)
func ExampleListener() {
	hub, err := sse.New()
	if err != nil {
		panic(err)
	}
	defer hub.Shutdown(context.Background())
	cert, err := tls.LoadX509KeyPair("cert.pem", "key.pem")
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:8443")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: hub.Handler(), TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	srv.Protocols = &protos
	if err := srv.Serve(tls.NewListener(sse.Listener(ln), sse.TLSConfig(srv.TLSConfig))); !errors.Is(err, http.ErrServerClosed) {
		panic(err)
	}
}
