package redis

import (
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	sse "github.com/valksor/go-sse"
)

// read is the reader goroutine: it follows the stream from t.lastID with
// XREAD BLOCK on a connection of its own and hands every entry to the
// listeners, in stream order. Errors close the connection and are retried
// with backoff; the next connection resumes from the last delivered id.
func (t *Transport) read() {
	defer close(t.done)
	var conn *goredis.Conn
	drop := func() {
		if conn != nil {
			t.readerID.Store(0)
			_ = conn.Close()
			conn = nil
		}
	}
	defer drop()
	backoff := minBackoff
	var trimmed time.Time
	for t.ctx.Err() == nil {
		var err error
		var res []goredis.XStream
		if conn == nil {
			// An ephemeral connection is discarded by Close, so a stale
			// CLIENT UNBLOCK from Close can never reach a pooled one.
			conn = t.client.EphemeralConn()
			var id int64
			if id, err = conn.ClientID(t.ctx).Result(); err == nil {
				t.readerID.Store(id)
				if t.readerErr.Load() != nil {
					t.warnIfTrimmedPast(conn)
				}
			}
		}
		if err == nil {
			res, err = conn.XRead(t.ctx, &goredis.XReadArgs{
				Streams: []string{t.key, t.lastID},
				Count:   readCount,
				Block:   t.block,
			}).Result()
		}
		if err != nil && !errors.Is(err, goredis.Nil) {
			drop()
			if t.ctx.Err() != nil {
				return
			}
			t.down(err, backoff)
			if !t.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		t.up()
		backoff = minBackoff
		for _, s := range res {
			t.deliver(s.Messages)
		}
		if t.maxAge > 0 && time.Since(trimmed) >= t.trimEvery() {
			t.trimAge(conn)
			trimmed = time.Now()
		}
	}
}

// deliver calls every listener with each entry, holding lmu so that a
// stopped listener is never called after stop returns.
func (t *Transport) deliver(xs []goredis.XMessage) {
	t.lmu.Lock()
	defer t.lmu.Unlock()
	for _, x := range xs {
		t.lastID = x.ID
		m, err := decode(x)
		if err != nil {
			t.log.Error("redis transport: skipping a stream entry that is not an event", "key", t.key, "entry", x.ID, "err", err)
			continue
		}
		if t.ctx.Err() != nil {
			return
		}
		for _, l := range t.listeners {
			l.fn(m)
		}
		t.pos.Store(&m.Cursor)
	}
}

// down records that the reader lost Redis; the first failure is a warning,
// the retries are debug messages.
func (t *Transport) down(err error, retryIn time.Duration) {
	if t.readerErr.Load() == nil {
		t.readerErr.Store(&readerState{err: err, since: time.Now()})
		t.log.Warn("redis transport: lost redis; retrying, events are not delivered meanwhile",
			"redis", t.where, "stream", t.key, "err", err)
		return
	}
	t.log.Debug("redis transport: redis still unreachable", "redis", t.where, "err", err, "retry_in", retryIn)
}

// up records that the reader follows the stream again.
func (t *Transport) up() {
	if st := t.readerErr.Swap(nil); st != nil {
		t.log.Info("redis transport: reconnected; resuming delivery",
			"redis", t.where, "stream", t.key, "after", t.lastID, "down_for", time.Since(st.since).Round(time.Millisecond))
	}
}

// warnIfTrimmedPast logs when entries after the last delivered id may have
// been trimmed while the reader was away, which its listeners then miss.
func (t *Transport) warnIfTrimmedPast(conn *goredis.Conn) {
	s, err := conn.XInfoStream(t.ctx, t.key).Result()
	if err != nil {
		return // no stream, or Redis gone again: the next read tells
	}
	last, _ := sse.ParseCursor(t.lastID)
	if first, ok := sse.ParseCursor(s.FirstEntry.ID); ok && last.Compare(first) < 0 &&
		(s.EntriesAdded == 0 || s.EntriesAdded > s.Length) {
		t.log.Error("redis transport: the stream was trimmed past the last delivered entry while redis was unreachable; this node's streams may have missed events",
			"redis", t.where, "stream", t.key, "last_delivered", t.lastID, "oldest_retained", s.FirstEntry.ID)
	}
}

// trimEvery is how often the reader applies MaxAge.
func (t *Transport) trimEvery() time.Duration {
	return min(max(t.maxAge/10, 100*time.Millisecond), time.Minute)
}

// trimAge removes the entries older than MaxAge.
func (t *Transport) trimAge(conn *goredis.Conn) {
	var err error
	if t.approx {
		err = conn.XTrimMinIDApprox(t.ctx, t.key, t.minID(), 0).Err()
	} else {
		err = conn.XTrimMinID(t.ctx, t.key, t.minID()).Err()
	}
	if err != nil && t.ctx.Err() == nil {
		t.log.Debug("redis transport: XTRIM MINID failed", "redis", t.where, "stream", t.key, "err", err)
	}
}

// sleep waits d or until Close; it reports whether to go on.
func (t *Transport) sleep(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-t.ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
