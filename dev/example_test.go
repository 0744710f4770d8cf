package dev_test

import (
	"context"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/assets"
	"github.com/valksor/go-sse/dev"
	"github.com/valksor/go-sse/tmpl"
)

// The wiring of "valksor-sse dev --proxy http://localhost:8000 --cmd 'go
// run ./app'": the app is restarted on every change, browsers get
// dev-state events (the overlay) and reload only once the app answers.
// (Not run: it starts a server and a command.)
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	hub, err := sse.New()
	if err != nil {
		log.Fatal(err)
	}
	defer hub.Shutdown(context.Background())
	mapper, err := assets.New(assets.Source{Namespace: "valksorsse", FS: os.DirFS("web")})
	if err != nil {
		log.Fatal(err)
	}
	renderer, err := tmpl.New(tmpl.Options{
		Enabled:   true,
		Mapper:    mapper,
		ImportMap: assets.ImportMap{Entries: []assets.ImportEntry{{Name: tmpl.ClientEntry, Path: "valksorsse/sse.js", Preload: true}}},
	})
	if err != nil {
		log.Fatal(err)
	}

	var mu sync.Mutex
	var changed []string // the files of the change being built
	runner, err := dev.NewRunner(dev.RunnerOptions{
		Command:  []string{"go run ./app"},
		ReadyURL: "http://localhost:8000/",
		OnState: func(s dev.State) {
			_ = hub.Broadcast(ctx, dev.StateEvent(s)) // starting, ready, failed: the overlay follows
			if s.Phase == dev.PhaseReady {
				mu.Lock()
				files := changed
				changed = nil
				mu.Unlock()
				_ = hub.Broadcast(ctx, sse.Reload(files...)) // only now that the app answers
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer runner.Stop(context.Background())

	target, _ := url.Parse("http://localhost:8000")
	proxy, err := dev.NewProxy(target, dev.ProxyOptions{Renderer: renderer, State: runner.State})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	hub.Register(mux)                   // /sse, /sse/healthz, ...
	mux.Handle(mapper.Prefix(), mapper) // the client's files
	mux.Handle("/", proxy)              // everything else goes to the app
	go func() { log.Fatal(http.ListenAndServe(":3000", mux)) }()

	_ = runner.Start(ctx)
	changes := make(chan []string) // from the file watcher, debounced
	for {
		select {
		case files := <-changes:
			mu.Lock()
			changed = files
			mu.Unlock()
			_ = runner.Restart(ctx) // starting, then ready (and the reload) or failed
		case <-ctx.Done():
			return
		}
	}
}
