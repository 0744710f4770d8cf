// Package dev holds the pieces behind
//
//	valksor-sse dev --proxy http://localhost:8000 [--listen localhost:3000] [--cmd "go run ./app"]
//
// which puts live reload in front of an app written in anything (PHP, Node,
// Python, Go…):
//
//   - [Proxy] forwards every request to the app and injects the SSE client
//     and the error overlay into its HTML pages. When the app does not
//     answer it serves a 502 page that reloads once the app is back.
//   - [Runner] runs the app command, restarts it when sources change
//     (stopping its whole process group) and tells when it answers again,
//     or why it failed, with the output a developer needs (a compiler
//     error, a panic).
//   - [OverlayScript] is the browser side of the error overlay: it shows a
//     failed run's output over the page and removes it when the app is
//     ready again, and shows a page that answered 500 when the client
//     fetched it to morph it (see package web), until the next morph.
//     [StateEvent] builds the dev-state event it listens to.
//   - [Loop] ties them together for a hub: the proxy, the runner when there
//     is a command, and the events below. It is what the valksor-sse dev
//     command runs, in front of package server.
//
// The repository's docs/dev-loop.md is the user's guide to all of it.
//
// # The loop
//
// A program with its own hub and mux gets the whole dev loop from [NewLoop]:
//
//	loop, err := dev.NewLoop(dev.LoopOptions{Target: target, Command: []string{"go run ./app"}, Renderer: renderer})
//	if err != nil { ... }
//	defer loop.Stop(context.Background())
//	mux.Handle(mapper.Prefix(), mapper) // the client's files, which the injected import map names
//	mux.Handle("/", loop.Proxy())       // everything but the hub's routes goes to the app
//	loop.Start(hub)               // runs the command; events go to hub from now on
//	// for every settled change of the file watcher (package watch):
//	loop.Restart(ctx, files)      // a source changed: restart, then reload once the app answers
//	hub.Broadcast(ctx, loop.Reload(files...)) // a page or template changed: reload (or morph) now
//
// [Loop.Reload] makes reload events that skip the client's probe of the
// page ([AnsweredReload]) whenever the app is known to answer, which saves a
// round trip per save.
//
// # Wiring
//
// What Loop does, with the pieces alone.
// The hub and the client assets are mounted under the SSE base path of the
// same mux as the proxy, which handles everything else. The order of events
// on a source change is: publish dev-state "starting" → Runner.Restart →
// ready: publish dev-state "ready", then [sse.Reload] (browsers reload, or
// morph the pages of changed templates, only once the app answers, and the
// overlay goes away) — or failed: publish
// dev-state "failed" (the overlay shows the output) and wait for the next
// change, whose successful build publishes ready and the reload.
// OnState reports every phase, so forwarding it does all of that:
//
//	hub, _ := sse.New()
//	renderer, _ := tmpl.New(tmpl.Options{Enabled: true, Mapper: mapper, ImportMap: importMap})
//
//	var mu sync.Mutex
//	var changed []string // files of the change being built
//	runner, err := dev.NewRunner(dev.RunnerOptions{
//		Command:  []string{"go run ./app"}, // one element: run with sh -c
//		ReadyURL: "http://localhost:8000/",
//		Logger:   logger,
//		OnState: func(s dev.State) {
//			_ = hub.Broadcast(ctx, dev.StateEvent(s)) // starting, ready, failed: the overlay follows
//			if s.Phase == dev.PhaseReady {
//				mu.Lock()
//				files := changed
//				changed = nil
//				mu.Unlock()
//				_ = hub.Broadcast(ctx, sse.Reload(files...)) // after the app answers
//			}
//		},
//	})
//	if err != nil { ... }
//	defer runner.Stop(context.Background())
//
//	target, _ := url.Parse("http://localhost:8000")
//	proxy, err := dev.NewProxy(target, dev.ProxyOptions{Renderer: renderer, State: runner.State, Logger: logger})
//	if err != nil { ... }
//	mux := http.NewServeMux()
//	hub.Register(mux)                     // /sse, /sse/healthz, ...
//	mux.Handle(mapper.Prefix(), mapper)   // the client's files
//	mux.Handle("/", proxy)                // everything else: the app
//	go http.ListenAndServe(":3000", mux)
//
//	_ = runner.Start(ctx) // nil once the app answers; otherwise OnState has reported failed
//	for files := range watcherChanges {  // the watch package, debounced
//		mu.Lock()
//		changed = files
//		mu.Unlock()
//		_ = runner.Restart(ctx) // publishes starting, then ready (and the reload) or failed
//	}
//
// Without --cmd there is no Runner: the watcher publishes [sse.Reload]
// itself, and the client's reload waits until the page answers with
// something other than 502, 503 or 504.
package dev
