// Package client talks to a valksor-sse server over HTTP: [Publisher]
// publishes events (a remote [sse.Broadcaster]) and [Subscriber] reads a
// stream, following reconnection and Last-Event-ID the way a browser's
// EventSource does. Both work against a standalone valksor-sse server and
// against a hub embedded in another Go program.
//
// # Publishing
//
// A Publisher needs the hub's base URL and its publish token (the server's
// publish_token, or the file var/run/valksor-sse.token it writes on first
// start), or a publisher JWT when the server verifies JWTs:
//
//	var b sse.Broadcaster = &client.Publisher{URL: "http://localhost:8080/sse", Token: token}
//	if err := b.Broadcast(ctx, sse.Reload("templates/base.html")); err != nil { ... }
//
// Application code that takes an sse.Broadcaster works the same with an
// in-process *sse.Hub. [Publisher.Publish] also returns the event's id.
// A server that answers with an error gives an [*Error] that matches the
// sse package's sentinels with errors.Is (sse.ErrUnauthorized,
// sse.ErrInvalidEvent...); a server that does not answer gives an error
// wrapping [ErrUnreachable].
//
// # Subscribing
//
// A Subscriber reads the stream until its context ends, reconnecting with
// backoff after every failure and resuming from the last id it saw, so that
// the callback sees each event once, in order (a history-gap event says when
// the server could not replay everything):
//
//	sub := &client.Subscriber{URL: "http://localhost:8080/sse", Topics: []string{"orders"}}
//	err := sub.Run(ctx, func(e client.Event) error {
//		log.Printf("%s %s", e.Type, e.Data)
//		return nil // an error ends Run
//	})
//
// The server's own events (connected, ping, pong, history-gap) reach the
// callback too; compare e.Type with the sse package's Type constants to
// skip them. Run returns ctx's error when ctx ends; an [*Error] for a 4xx
// answer (a topic not allowed, a refused token), which a retry would not
// fix; and [ErrStopped] when the server answers 204, its way to ask a client
// to stop.
//
// # Servers on this machine
//
// [NewLocalTransport] and [LocalTLS] are what the valksor-sse command's
// publish, status and tail use to reach a server on the same machine,
// whether it speaks HTTP or HTTPS and whatever name its own certificate
// carries.
package client
