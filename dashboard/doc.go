// Package dashboard is a live view of a running hub: open streams, streams
// per topic, events per second in and deliveries per second out, slow
// consumers dropped, memory, uptime and transport health, a chart of the
// last five minutes, a tail of the events delivered, the connected clients
// and a form that publishes an event. The standalone server mounts it at
// <base_path>/_dashboard (config keys dashboard.enabled and dashboard.path).
//
// # Wiring
//
// The hub reports every delivered message to the dashboard through
// sse.WithOnDeliver, so the dashboard is created first and attached to the
// hub once the hub exists:
//
//	d := dashboard.New(dashboard.Options{TokenRequired: true})
//	hub, err := sse.New(sse.WithPublishToken(token), sse.WithOnDeliver(d.Observe))
//	...
//	d.Attach(hub)
//	if err := d.Start(ctx); err != nil { ... }
//	defer d.Close()
//	hub.Register(mux)
//	d.Register(mux) // <base>/_dashboard, and its script and stylesheet below it
//	web.Register(mux, "/sse") // the page loads the hub's browser client
//
// A hub has one delivery hook: an application with its own calls d.Observe
// from it.
//
// # How the page is fed
//
// The page is one small HTML document with a script and a stylesheet, all
// embedded; it loads the hub's browser client (<base>/client.js) and listens
// to the topic Topic ("$dashboard") on the hub's own event stream. Nothing
// polls. The dashboard's goroutine (Start) publishes there, only while at
// least one stream listens to Topic:
//
//   - TypeStats, once a second: the numbers, the clients and the latest
//     chart sample;
//   - TypeTail, at most four times a second and only when something was
//     delivered: the events delivered since the previous one, at most
//     Options.TailBatch of them (the rest are counted as skipped), so a
//     flood of events costs the dashboard four small events a second.
//
// The page itself carries the last five minutes of samples and the last
// fifty events, so it shows a filled chart and tail from the start. It
// weighs about 19 KB (7 KB gzipped, as it is sent to browsers that accept
// gzip) plus that starting state.
//
// The dashboard's own events are not part of what it shows: messages on
// Topic are left out of the tail and of the events and deliveries per
// second, and streams that listen to Topic (dashboard viewers, shown
// separately) are left out of the open streams and the client list. The
// hub's own counters (Hub.Stats, the health endpoint) do include them.
//
// The dashboard's events go through the transport like any other, so while a
// page is open they take one slot of the replay history a second (plus the
// tail events while events flow). With Redis every node's dashboard
// publishes to the shared stream; each event names its node and a page only
// shows the node that served it.
//
// # Privacy
//
// Anyone who can open a stream can listen to Topic unless the hub has an
// Authorizer and Options.Private is set: then only streams granted Topic
// receive the dashboard's events, and the page, which stays public, embeds
// none of the data. The tail never carries the data of a private event,
// only its type, id, topics and size. The publish form posts
// to <base>/publish like any publisher: with a publish token configured, the
// user pastes it into the form, which keeps it in the tab's sessionStorage.
package dashboard
