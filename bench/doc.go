// Package bench measures Server-Sent Events servers: how many streams they
// hold, what an idle stream costs them in memory, and how fast one published
// event reaches every stream.
//
// [Run] opens Config.Streams streams against any SSE server, publishes
// Config.Publishes events over HTTP and times every delivery. The streams are
// raw TCP connections with one small read buffer each (not net/http), so that
// the client stays cheap next to the server it measures. Each published event
// carries its sequence number and the time it was sent ("<seq> <unix nanos>"
// in its data), and a stream that reads it records the difference to the
// time of the read: the fan-out latency, measured on one machine's clock.
//
// [ServeFloor] and [RunFloor] start the floor server: the least an SSE server
// can do (hijack the connection, keep it in a slice, write the same bytes to
// every connection on publish). Running the same scenario against it and
// against a real server with [Compare] separates what the kernel and the
// hardware cost from what the server adds.
//
// Two more modes measure servers that share one transport and the publish
// path. [RunNodes] and [CompareNodes] hold streams on several servers (with
// Redis, events published to one reach all), one subscriber per server, in
// a process of its own when the streams outnumber one process's open files:
// each subscriber is a Config.SubscribeOnly run, which waits for the events
// another process publishes and reports every latency, so that the nodes'
// percentiles combine exactly. Config.Publishers publishes from several
// goroutines at once over keep-alive connections and reports the publishes
// per second the server accepted.
//
// A typical use, against a valksor-sse server started with
// VALKSOR_SSE_MAX_CONNECTIONS=0 and VALKSOR_SSE_ALLOW_ANONYMOUS_PUBLISH=true:
//
//	rep, err := bench.Run(ctx, bench.Config{
//		StreamURL:  "http://127.0.0.1:8080/sse?topic=bench",
//		PublishURL: "http://127.0.0.1:8080/sse/publish",
//		Streams:    10000,
//		Publishes:  10,
//		Gap:        500 * time.Millisecond,
//		ServerPID:  pid,
//		Progress:   os.Stderr,
//	})
//	if err != nil { ... }
//	rep.WriteTable(os.Stdout)
//
// Over https the streams are HTTP/1.1 over TLS, one connection each; with
// Config.H2 they are HTTP/2 streams, Config.H2StreamsPerConn to a
// connection, as browsers open them. [ServeFloorTLS] is the floor behind
// TLS, and [CompareTLS] runs a server against both floors, so that what TLS
// itself costs a stream shows apart from what the server adds.
//
// Every stream holds one open file in the benchmarking process (and one in
// the server's): raise the open-file limit (ulimit -n) above Streams, and use
// Config.SourceAddrs beyond about 28,000 streams to one address.
package bench
