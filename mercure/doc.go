// Package mercure serves the Mercure protocol (https://mercure.rocks) on
// an sse.Hub, at /.well-known/mercure, so that Mercure clients (Symfony's
// Mercure component, API Platform, the browser's EventSource) work with the
// same hub, history, transport and limits as the hub's own /sse endpoint.
//
//	hub, _ := sse.New()
//	key, _ := jwt.LoadKey(os.Getenv("MERCURE_JWT_SECRET"), "")
//	m, _ := mercure.New(hub, mercure.Config{PublisherKeys: []jwt.Key{key}, Anonymous: true})
//	hub.Register(mux) // /sse
//	m.Register(mux)   // /.well-known/mercure
//
// Both drafts in use are understood, per request:
//
//   - The widely deployed draft (hub 0.x): ?topic= selectors ("*", exact
//     strings, RFC 6570 URI templates); publisher and subscriber JWTs with
//     {"mercure": {"publish": [...], "subscribe": [...], "payload": ...}};
//     lastEventID; subscription topics
//     /.well-known/mercure/subscriptions/{topic}/{subscriber}.
//   - The newer draft: ?match= (exact) and ?match_urlpattern= (also
//     spelled matchURLPattern) selectors; RFC 9068 access tokens (typ
//     at+jwt) with iss, aud and RFC 9396 authorization_details of type
//     mercure; last_event_id; subscription topics
//     /.well-known/mercure/subscriptions/{matchType}/{match}/{subscriber}.
//
// Tokens are read from "Authorization: Bearer", then the access_token or
// authorization query parameter, then the mercureAuthorization or
// mercureAccessToken cookie. Refusals follow RFC 6750: 401 with
// WWW-Authenticate: Bearer (error="invalid_token" for a bad token), 403
// insufficient_scope for a token that does not allow the request.
//
// A publish is an ordinary hub event: its topics are the update's topics,
// its SSE id the publisher's id (or the hub's), and private updates reach
// only streams whose grant allows one of their topics, on either endpoint.
//
// Mercure streams are written from their handler's goroutine (the hub
// cannot hand them off to its writers) so that the handler knows when they
// end and can set the Last-Event-ID response header.
package mercure
