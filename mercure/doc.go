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
// Three generations of the protocol are understood, per request:
//
//   - The widely deployed draft (hub 0.x): ?topic= selectors ("*", exact
//     strings, RFC 6570 URI templates); JWTs with {"mercure": {"publish":
//     [...], "subscribe": [...], "payload": ...}}; lastEventID;
//     subscription topics /.well-known/mercure/subscriptions/{topic}/{subscriber}.
//   - The current protocol (draft-dunglas-mercure-08 as the reference
//     hub's 1.0 alphas implement it): ?match= (exact) and ?match_urlpattern=
//     selectors; RFC 9068 access tokens (typ at+jwt) with iss, aud and RFC
//     9396 authorization_details of type
//     https://mercure.rocks/authorization-detail whose topics are
//     {"match": ..., "match_type": "exact" | "urlpattern"} objects;
//     last_event_id and Mercure-Last-Event-ID; subscription topics
//     /.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber},
//     sent as events of type mercure.
//   - The July 2026 draft in between: authorization details of type
//     mercure with {"matchType": "Exact" | "URLPattern"} topics, the
//     matchURLPattern parameter and the access_token query parameter.
//
// Mercure streams carry updates and comment heartbeats only, as the
// reference hub's do: none of the hub's own events (connected, ping,
// history-gap), which clients built on fetch would take for updates, and
// no id but the updates' own (Mercure-Last-Event-ID tells a resuming
// subscriber where its replay starts).
//
// The hub's limits apply: a subscription's selectors and an update's
// topics count against its max_topics (sse.WithMaxTopics), and a query
// string that does not parse is refused. The results of URL patterns and
// URI templates are remembered per selector and topic in a bounded cache,
// so that delivering an event to many subscribers with the same selector
// costs one evaluation.
//
// Tokens are read from "Authorization: Bearer", then the access_token or
// authorization query parameter, then the mercureAuthorization or
// __Secure-mercure_access_token cookie. Refusals follow RFC 6750: 401 with
// WWW-Authenticate: Bearer (error="invalid_token" for a bad token), 403
// insufficient_scope for a token that does not allow the request.
//
// A publish is an ordinary hub event: its topics are the update's topics,
// its SSE id the publisher's id (or the hub's), and private updates reach
// only streams whose grant allows one of their topics, on either endpoint.
package mercure
