// Command app is a small web application that embeds valksor-sse: it runs
// the SSE hub in its own process, serves the browser client and its own
// JavaScript and CSS through the asset mapper (content-digested names,
// import map with integrity hashes), renders its page with the html/template
// functions of package tmpl, and broadcasts events from ordinary handlers.
//
//	go run ./examples/app            # then open http://localhost:8000/
//	go run ./examples/app --addr localhost:9000
//
// See README.md in this directory for a tour.
//
// The app mounts the hub on its own mux on purpose: it shows the library
// path, the hub inside your own app and process. Package server is the
// standalone server's assembly, which the valksor-sse binary runs.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"html/template"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/tmpl"
	"github.com/valksor/go-sse/web"
)

// files holds the page template and the app's assets (assets/app.js,
// assets/lib/format.js, assets/app.css, assets/img/dot.svg).
//
//go:embed index.html assets
var files embed.FS

func main() {
	addr := flag.String("addr", "localhost:8000", "`host:port` to listen on (port 0 picks a free one)")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

// run serves the app on addr until SIGINT or SIGTERM.
func run(addr string) error {
	handler, shutdown, err := newServer()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" {
		host = "localhost"
	}
	log.Printf("example app listening: open http://%s/", net.JoinHostPort(host, port))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		stop() // a second Ctrl-C kills at once
	}

	// The hub first: it closes the open event streams, which the HTTP
	// server would otherwise wait for.
	log.Print("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(shutdown(sctx), srv.Shutdown(sctx))
}

// newServer builds the app: the returned handler serves
//
//	GET  /                 the page
//	POST /notify           broadcasts a custom-notification event
//	POST /trigger-reload   reloads every open page
//	     /sse, /sse/...    the hub (stream, healthz, ping)
//	GET  /sse/client.js    the client module, and /sse/worker.js its SharedWorker
//	GET  /assets/...       the digested assets
//
// and shutdown stops the hub (closing its streams).
func newServer() (handler http.Handler, shutdown func(context.Context) error, err error) {
	// The hub, in this process. No publish token: the app broadcasts from
	// its own handlers, so POST /sse/publish stays disabled.
	hub, err := sse.New()
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			_ = hub.Shutdown(context.Background())
		}
	}()

	// The asset mapper: the client module under valksorsse/ and the app's
	// own files at the root, served under /assets/ with digested names.
	appFS, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, nil, err
	}
	mapper, err := assets.New(
		assets.Source{Namespace: "valksorsse", FS: web.ClientFS},
		assets.Source{FS: appFS},
	)
	if err != nil {
		return nil, nil, err
	}

	// The template functions: the import map names the client and the app
	// module; both are preloaded, with the modules they import.
	renderer, err := tmpl.New(tmpl.Options{
		Enabled: true,
		Mapper:  mapper,
		ImportMap: assets.ImportMap{Entries: []assets.ImportEntry{
			{Name: tmpl.ClientEntry, Path: "valksorsse/sse.js", Preload: true},
			{Name: "app", Path: "app.js", Preload: true},
		}},
	})
	if err != nil {
		return nil, nil, err
	}
	funcs := renderer.FuncMap()
	funcs["asset"] = mapper.PublicPath // {{ asset "app.css" }} → /assets/app-1a2b3c4d.css
	page, err := template.New("index.html").Funcs(funcs).ParseFS(files, "index.html")
	if err != nil {
		return nil, nil, err
	}

	mux := http.NewServeMux()
	hub.Register(mux)
	web.Register(mux, hub.BasePath()) // the client and its SharedWorker
	mux.Handle(mapper.Prefix(), mapper)

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, nil); err != nil {
			log.Printf("render page: %v", err)
		}
	})

	// The PHP component's "custom event broadcasting" example.
	mux.HandleFunc("POST /notify", func(w http.ResponseWriter, r *http.Request) {
		msg := strings.TrimSpace(r.PostFormValue("message"))
		if msg == "" || len(msg) > 500 {
			http.Error(w, "message: want 1 to 500 characters", http.StatusBadRequest)
			return
		}
		err := hub.Broadcast(r.Context(), sse.Event{
			Type: "custom-notification",
			Data: map[string]string{"message": msg, "level": "info"},
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent) // the result arrives over SSE
	})

	// The PHP component's DevelopmentController: reload every connected page.
	mux.HandleFunc("POST /trigger-reload", func(w http.ResponseWriter, r *http.Request) {
		if err := hub.Broadcast(r.Context(), sse.Reload()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})

	// Refuse cross-site form posts to /notify and /trigger-reload.
	return http.NewCrossOriginProtection().Handler(mux), hub.Shutdown, nil
}
