// Package sse is a Server-Sent Events hub for live updates and instant
// browser reloads.
//
// A [Hub] keeps the open event streams, fans every published [Event] out to
// the streams subscribed to its topics, and keeps a bounded history so that a
// client reconnecting with Last-Event-ID receives everything it missed, in
// order, exactly once. The hub is an [http.Handler] for the stream;
// [Hub.Handler] serves the whole HTTP surface (stream, publish, ping, health)
// under the base path, and [Hub.Register] mounts it on a mux.
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
//
// The hub is configured with options given to [New]: where it is mounted
// ([WithBasePath]), how publishers authenticate ([WithPublishToken],
// [WithAuthorizer]), its limits, its transport, its logger and its hooks.
// An option given a bad value makes New return an error naming it. The
// repository's docs/go-library.md is a tour of all of it.
//
// # Events and topics
//
// An [Event] has a type, data (JSON unless it is a string or bytes) and
// topics. A stream chooses its topics with ?topic= and receives only the
// events sent to one of them; an event without topics goes to the public
// channel, [DefaultTopic], which a stream without ?topic= listens to.
// [Reload] and [CSSUpdate] build the two events the browser client acts on
// by itself. A private event ([Event.Private]) reaches only the streams
// whose [Authorizer] grants one of its topics (package jwt is one).
//
// # Ids and resuming
//
// Every event has an id: the publisher's own ([Event.ID], unique within the
// history, else [ErrDuplicateID]) or one the transport assigns in order
// ("<ms>-<seq>", a [Cursor]). Every stream learns an id in its first event
// (connected), so a client reconnects with a Last-Event-ID even if nothing
// else reached it. A resume that the history cannot serve in full, because
// the id is older than the history, unknown, or from another store, is told
// with a history-gap event and then gets everything retained: the client may
// have to skip duplicates, but never misses silently.
//
// # Stylesheets and older clients
//
// A client that swaps stylesheets itself opens its stream with
// ?supports=css-update. Every other stream served by [Hub.ServeHTTP] gets
// each [TypeCSSUpdate] event as a [TypeReload] with the same id and data,
// so that a client that knows only reload (such as the Symfony bundle's
// sse.js) reloads the page; see [StreamRequest.CSSAsReload]. The reload form
// is encoded once per event, for the streams that need it.
//
// # Storage
//
// Storage and cross-process delivery sit behind the [Transport] interface.
// The default is [MemoryTransport]; package redis lets several hub processes
// share one history. Package ssetest is the conformance suite a Transport
// passes.
//
// # Streams and middleware
//
// HTTP/1.1 streams, plain or over TLS, are taken over from net/http after
// their opening events ([WithHijack]): an idle stream then costs no
// goroutine. When serving TLS, wrap the TCP listener with [Listener] (under
// tls.NewListener) so that the hub's writers never wait on a TLS socket,
// and give tls.NewListener a config from [TLSConfig] so that the hub writes
// TLS 1.3 streams' records itself and an idle one keeps none of
// crypto/tls's buffers.
// Middleware sees such a handler return at once; [ObserveStream] tells it
// when the stream really ends. [WithOnConnect] and [WithOnDisconnect] are
// the hub-wide equivalents.
//
// # Limits
//
// Bad input is refused before it costs anything: topics per stream and per
// event ([WithMaxTopics]), the body size ([WithMaxBodyBytes]), ids and
// types (256 bytes), topic names (1024 bytes), a query string that does not
// parse, the server's own event types ([TypeConnected], [TypePing],
// [TypePong], [TypeHistoryGap]) and unknown fields in a publish body. Slow
// streams are dropped when their queue is full ([WithQueueSize]); the
// client resumes from its last id.
package sse
