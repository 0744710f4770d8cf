// Package sse is a Server-Sent Events hub for live updates and instant
// browser reloads.
//
// A [Hub] keeps the open event streams, fans every published [Event] out to
// the streams subscribed to its topics, and keeps a bounded history so that a
// client reconnecting with Last-Event-ID receives everything it missed, in
// order, exactly once. The hub is an [http.Handler] for the stream; [Hub.Handler]
// serves the whole HTTP surface (stream, publish, ping, health) under the base
// path.
//
// Storage and cross-process delivery sit behind the [Transport] interface. The
// default is an in-memory transport (package memory); several hub processes can
// share one Redis instead.
//
// Embedding the hub in an application:
//
//	hub, err := sse.New(sse.WithPublishToken(os.Getenv("SSE_TOKEN")))
//	if err != nil { ... }
//	defer hub.Shutdown(context.Background())
//	hub.Register(mux) // GET /sse, /sse/healthz, POST /sse/publish, POST /sse/ping
//	...
//	hub.Broadcast(ctx, sse.Event{Type: "custom-notification", Data: map[string]string{"message": "hi"}})
//
// Code that should not care whether the hub runs in-process or in a separate
// valksor-sse server depends on [Broadcaster]; the client package has a remote
// implementation.
package sse
