// Package web embeds and serves the browser side of valksor-sse: the ES
// module client (sse.js, import-map name "valksorsse/sse"), the SharedWorker
// it uses (worker.js) and a demo page. [Handler] serves the first two under
// the hub's base path as <base>/client.js and <base>/worker.js;
// [DemoHandler] serves the demo page, which the standalone server shows at /.
// No build step and no npm package is involved: the files are plain modern
// JavaScript.
//
// # Loading the client
//
//	<script type="module" src="http://localhost:8080/sse/client.js"></script>
//
// or through an import map entry "valksorsse/sse" (see packages assets and
// tmpl). Importing the module creates window.sseClient, once per page (a
// second import, even from another URL, returns the same client), and
// connects. The module's default export is that client; the named export
// connect(options) creates another client, for explicit use.
//
// # Server discovery
//
// The first that applies:
//
//  1. <meta name="valksor-sse-url" content="http://host:port/sse">;
//  2. <meta name="valksor-sse-port"> and/or <meta name="valksor-sse-path">,
//     as rendered by package tmpl: the page's protocol and host name, that
//     port (empty: the page's port) and that path (default /sse);
//  3. the URL the module was loaded from: when its path ends in /client.js
//     its directory is the base path (so <base>/client.js needs no meta
//     tag); otherwise the module's origin + /sse.
//
// Topics come from <meta name="valksor-sse-topics" content="a,b"> (comma
// separated; none means the server's public channel).
//
// connect(options) takes {url, topics, reload, shared, morph}: url is the
// base URL (the stream URL without query, e.g. http://localhost:8080/sse),
// topics an array, reload: false leaves reload and css-update events to the
// page, shared: false never uses the SharedWorker, and morph: false reloads
// the page where it would morph it. url and topics default to what
// discovery finds. Each client dispatches the window events below.
//
// The module also exports morph(doc), which turns the page into doc, a new
// version of it (a Document from DOMParser), in place, as described under
// "Morph"; it resolves to false, having changed nothing, where that is not
// safe.
//
// # Client API
//
//   - addEventListener(type, fn) and removeEventListener(type, fn) for any
//     server event type. fn is called with a plain object {type, data, id,
//     raw}: raw is the event's data string, data is raw parsed as JSON when
//     it parses and raw itself otherwise, and id is the stream's last event
//     id at that event (the event's own id when it has one; "" before the
//     first one). The PHP component's example, which reads event.data,
//     works unchanged.
//   - isConnected(): whether the connected event of the current connection
//     has arrived and the connection has not been lost since.
//   - ping(timeout = 5000): a Promise of the round-trip time in ms: it POSTs
//     base/ping with the connection id and a nonce and resolves when the
//     matching pong event arrives. It rejects at once when not connected,
//     when the POST fails, when the connection is lost, or after timeout.
//   - close(): closes the connection for good.
//   - connectionId (getter): the id from the connected event, "" while
//     disconnected. lastEventId (getter): the id of the last event that had
//     one, kept across reconnects.
//   - url and stream: the base URL it talks to and its stream URL (with the
//     topics, and supports=css-update, which tells the hub that this client
//     swaps stylesheets itself; clients that do not say so get a reload
//     instead).
//
// EventSource has no catch-all listener for named events, so the client
// listens for the built-in types (message, connected, ping, pong,
// history-gap, reload, css-update) and for every type that
// addEventListener was called with. Events of other types are not received
// and do not reach sse:message.
//
// # Window events
//
//   - sse:open, detail {id, url}: a connection is established (its connected
//     event arrived); it fires again after every reconnect.
//   - sse:close, detail {}: the connection was lost or closed.
//   - sse:message, detail {type, data, id}: every received event.
//   - sse:reload, detail {files}, cancelable: dispatched before a reload
//     or a morph; preventDefault() cancels it (listeners may then do their
//     own).
//   - sse:morph, detail {files}: the page was morphed into its new version;
//     widgets that a script set up on new elements can be set up now.
//   - sse:page-error, detail {files, status, text}, cancelable: the page
//     fetched to be morphed answered 500 (text is its body). Unless a
//     listener calls preventDefault() (the dev proxy's overlay does, and
//     shows the text), the page reloads into the error.
//
// # Reload and CSS update
//
// A reload event reloads the page (or morphs it, below), but never into a
// dead server: when the SSE connection is down the reload waits for the
// next sse:open, and before reloading the page is probed with
// fetch(location.href, {method: "HEAD", cache: "no-store"}), retried with
// backoff (100 ms doubling to 5 s) while it fails or answers 502, 503 or
// 504. An event whose data has "probe": false skips the probe: its sender
// knows the page's server answers (the dev proxy sends it when it knows the
// app is up). [ReloadEvent] builds such events.
//
// # Morph
//
// A reload event whose files are pages or templates morphs the page
// instead of reloading it: the client fetches location.href again (GET,
// the page's cookies, cache: "no-store", header [RefreshHeader]: 1; the
// probe above is this GET) and turns the live page into the answer in
// place, so that what the developer had on screen survives: the scroll
// positions, the focused element and its caret, text typed into forms,
// open <details>, JavaScript state and listeners. It reloads instead when:
//
//   - a file is a script (.js, .mjs, .cjs, .ts, .jsx, .tsx, .json, .wasm,
//     .vue, .svelte), or the event names no file (a reload by hand);
//   - the event's data has "morph": false (the server's watch.morph or
//     dev.morph is false), or the client was made with morph: false;
//   - the answer is not a 200 HTML page reached without a redirect (a 500
//     goes to sse:page-error first);
//   - the new page adds or changes a script, the import map, a
//     modulepreload link or <base> (every one of them must be in the live
//     page already, nonces aside);
//   - the live or the new page has <html data-valksor-morph="false"> (on
//     another element the attribute keeps that element as it is, below);
//   - morphing throws.
//
// The head is matched element by element: stylesheets by URL, the others
// by their markup. New elements (a title, a stylesheet, a meta tag, an
// inline style) are added; the old ones the new page lacks are removed once
// the new stylesheets have loaded (so nothing shows unstyled), except what
// scripts added to the head, which stays.
//
// The body is morphed in place. For each child of the new version, in
// order, the client takes the live element with its id (moved there with
// Element.moveBefore, which keeps focus and state, where the browser has
// it); else the first following live sibling equal to it; else the first
// following live sibling with its tag name that equals no new sibling;
// else it inserts a copy. Text and comments take the live one in their
// place. A live node that took a new one gets its attributes and, in turn,
// its children; equal nodes are not touched at all. Live children left
// over are removed at the end, except those that scripts appended to
// <body> (dialogs, toasts, overlays). An element with
// data-valksor-morph="false" (a root that a script renders into: a React
// or Vue app, a map, an editor) is left as it is, with all it holds. Also
// kept: the open attribute (a
// <details> the user opened stays open), the value the user gave to a form
// field (only its default follows the page), the children of a custom
// element the server sends empty (it rendered them itself), and scripts,
// which never run again, whether kept or moved. <template> content is
// morphed the same way. <noscript> elements of the new version are left
// out: DOMParser makes elements of their content (which a page with
// scripts keeps as text), and inserting those would load their images and
// frames.
//
// sse:reload is dispatched before the fetch, as before a reload, and
// sse:morph after the morph. In browsers without Element.moveBefore
// (Safari today), an element that moves to another parent loses the focus.
//
// A css-update event ({files, urls}) replaces each matching
// <link rel="stylesheet">: a copy with the new href (urls[file] when given,
// else the old href with ?v=<timestamp>) is inserted after it, and the old
// link is removed only after the copy fired load, so the page keeps its
// state and never shows unstyled. A file matches the links whose path ends
// with the file's path (or is a suffix of it, for absolute file paths),
// else the links with the same file name; queries are ignored and an asset
// digest is dropped (app-3f2a1b9c.css matches app.css). A file that matches
// no link falls back to the reload path; an empty files list refreshes every
// stylesheet.
//
// # Reconnection
//
// EventSource reconnects by itself after network errors (after the
// server's retry hint) and then sends Last-Event-ID. After a failure it does
// not retry (a non-200 answer such as 503), the client opens a new
// EventSource with exponential backoff (0.5 s doubling to 30 s, with
// jitter), resuming with ?lastEventID=<last id>. The server replays what was
// missed, so events are delivered once across reconnects.
//
// # Shared connection
//
// When the stream URL is same-origin with the page and the browser has
// SharedWorker, all tabs of the origin share one EventSource held by the
// worker <base>/worker.js, which relays every event to every tab; pings are
// sent by the worker too. A tab announces leaving on pagehide, and the
// worker closes the EventSource when no tab is left. In this mode a type
// passed to addEventListener becomes active after a message round trip to
// the worker; `await sseClient.ping()` afterwards guarantees it. A
// SharedWorker script must be same-origin with the page, so a page that
// talks to a server on another origin (another port counts) uses one
// EventSource per tab; so does a page whose worker script fails to load.
package web
