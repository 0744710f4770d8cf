// Package redis is an sse.Transport backed by a Redis stream, so that several
// valksor-sse processes behind a load balancer share one ordered history: an
// event published on any node reaches the streams of every node, and a client
// may reconnect to any node with its Last-Event-ID and resume exactly where it
// stopped.
//
// # Redis keys
//
// A Transport uses two keys. <prefix>:stream (prefix "valksor-sse" by
// default, so "valksor-sse:stream") is a Redis stream (Redis 5.0 or newer;
// 6.2 or newer recommended) holding one entry per published event, in the one
// order every node delivers. Each entry has these five fields, always all of
// them and in this order, so that Redis stores the names once per node:
//
//	type    the event type ("" for the default "message")
//	data    the payload as sent in data: lines
//	id      the publisher's own event id ("" when the stream id is the id)
//	retry   the reconnection hint in milliseconds ("0" for none)
//	topics  the topics, joined with "\n" (topic names cannot hold one)
//
// The stream entry id ("<ms>-<seq>") is the message's sse.Cursor, and its id
// on the wire unless the publisher chose one. Nodes that must share a history
// use the same Redis database and prefix; nodes that must not, use different
// prefixes.
//
// <prefix>:ids is a hash from each publisher-chosen id to the stream id of
// its entry. A publish that chooses its id runs a Lua script that, in one
// atomic step, refuses the id when its entry is still in the stream (the
// error wraps sse.ErrDuplicateID), adds the entry and records the id; when
// the hash holds more than twice as many ids as the stream has entries (plus
// 64), the script drops the ids whose entries were trimmed. Publishes without
// a chosen id are a plain XADD and do not touch the hash. No consumer groups
// are used.
//
// # History bounds and gaps
//
// Every publish trims the stream to about Options.MaxLen entries (XADD MAXLEN
// ~), or exactly with Options.ExactTrim. Options.MaxAge also removes entries
// older than that age: each node's reader runs XTRIM MINID periodically, and
// when MaxLen is negative (no count bound) every XADD carries MINID instead.
// MaxAge needs Redis 6.2 or newer.
//
// History after a stream id is complete when the id is at or after the
// oldest retained entry (or at or after the newest id the stream ever
// generated): trimming only removes the oldest entries, so nothing after such
// an id is missing. The stream's first entry and last-generated-id come from
// XINFO STREAM, read in the same MULTI as the XRANGE of the answer, so both
// describe the same moment. On Redis 7 and newer, max-deleted-entry-id also
// reveals entries removed by XDEL; Redis 7.0 leaves it at 0-0 on trimming, so
// it cannot replace the first-entry test, and Redis does not record which ids
// were trimmed. Hence the conservative edge: an id older than the oldest
// retained entry is reported as a gap even when it was the very last entry
// trimmed. "earliest" is complete when nothing was ever removed (XINFO's
// entries-added equals the length); Redis before 7.0 does not report
// entries-added, so there "earliest" always reports a gap once the stream
// exists. Without a stream, "earliest" and "0-0" are complete and any other
// id is a gap (a client holding an id saw an event that is gone).
//
// A publisher's own event id is found in <prefix>:ids (HGET, then an XRANGE
// of that one entry to check it is retained). An id that is unknown, no
// longer retained, or a stream id after the newest one the stream generated
// gets every retained entry with Complete false: the client is told about the
// gap and can skip what it already has. A publisher's id of the form
// "<ms>-<seq>" is taken as a stream id (the hub refuses such ids).
//
// # Delivery
//
// Each Transport runs one reader goroutine that follows the stream with
// XREAD BLOCK from the last id it delivered, on a connection of its own, and
// calls the listeners in stream order. When Redis goes away the reader
// retries with backoff (50ms doubling to 2s) and then continues from its last
// delivered id, so every acknowledged event reaches every listener once Redis
// is back, unless the stream was trimmed past it meanwhile (logged as an
// error). Streams of the hub stay open during the outage; they just receive
// nothing. Close interrupts the blocked XREAD with CLIENT UNBLOCK; a Redis
// user without the CLIENT command makes Close wait up to
// Options.BlockTimeout instead.
//
// Publish fails with an error wrapping sse.ErrTransportUnavailable while
// Redis cannot be reached. As with any networked write, a connection that
// fails after the XADD was sent leaves the outcome unknown: Redis may have
// stored the event, which is then delivered although Publish returned an
// error (the error says so). It is never stored twice as long as the client
// does not retry commands: the client New makes from Options.URL does not,
// and a client passed as Options.Client should be configured likewise.
package redis
