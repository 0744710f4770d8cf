package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	sse "github.com/valksor/go-sse"
)

var (
	_ sse.Transport     = (*Transport)(nil)
	_ sse.HealthChecker = (*Transport)(nil)
	_ sse.Positioner    = (*Transport)(nil)
)

// Defaults applied by New to zero Options fields.
const (
	// DefaultURL is the Redis New connects to when neither Options.URL nor
	// Options.Client is set.
	DefaultURL = "redis://127.0.0.1:6379/0"
	// DefaultPrefix is the key prefix when Options.Prefix is empty; the
	// stream key is then "valksor-sse:stream".
	DefaultPrefix = "valksor-sse"
	// DefaultMaxLen is the number of entries the stream keeps (approximately,
	// unless Options.ExactTrim) when Options.MaxLen is 0.
	DefaultMaxLen = 1000
	// DefaultBlockTimeout is how long one XREAD of the reader blocks when
	// Options.BlockTimeout is 0.
	DefaultBlockTimeout = 2 * time.Second
)

const (
	// minBackoff and maxBackoff bound the reader's wait between attempts
	// while Redis is unreachable.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
	// readCount is the most entries one XREAD returns.
	readCount = 256
	// healthTimeout bounds the PING of Health.
	healthTimeout = time.Second
	// unblockEvery is how often Close repeats CLIENT UNBLOCK until the reader
	// has stopped.
	unblockEvery = 20 * time.Millisecond
)

// Options configures New. The zero value connects to DefaultURL with the
// default prefix and history bound.
type Options struct {
	// URL locates Redis: redis://[[user]:password@]host:6379/0, rediss://
	// for TLS, or unix:///path/to/redis.sock?db=0. go-redis query parameters
	// such as dial_timeout are honoured. The transport then owns its client:
	// retries are off unless the URL sets max_retries (a retried XADD whose
	// reply was lost would store the event twice), one dial attempt is made
	// per command, and context deadlines bound every command. Empty means
	// DefaultURL unless Client is set.
	URL string
	// Client is an alternative to URL: an existing go-redis client, used
	// as is (its hooks, pool and timeouts apply). The caller keeps it: Close
	// does not close it. The reader borrows one of its connections for the
	// transport's lifetime. Configure it with MaxRetries: -1; New logs a
	// warning otherwise, since a retried XADD may store an event twice.
	Client *goredis.Client
	// Prefix starts the Redis key names; the stream is "<Prefix>:stream".
	// Nodes that share a history use the same Redis database and prefix.
	// Empty means DefaultPrefix.
	Prefix string
	// MaxLen bounds the history by count: every publish trims the stream to
	// about MaxLen entries (at least MaxLen are kept; Redis trims whole
	// internal nodes, by default of up to 100 entries, unless ExactTrim).
	// 0 means DefaultMaxLen; a negative value removes the count bound, and
	// MaxAge must then be set.
	MaxLen int64
	// MaxAge, when positive, also bounds the history by age: each node's
	// reader removes entries older than MaxAge every MaxAge/10 (kept between
	// 100ms and a minute; on an idle stream, at its next BlockTimeout), and
	// when MaxLen is negative every publish does too. Age is judged by the
	// local clock against the stream ids, which Redis takes from its own
	// clock. It needs Redis 6.2 or newer (XTRIM MINID).
	MaxAge time.Duration
	// ExactTrim trims to exactly MaxLen entries and MaxAge age instead of
	// Redis's cheaper approximate trimming ("~").
	ExactTrim bool
	// BlockTimeout is how long one XREAD of the reader waits for new
	// entries before it asks again; it also paces MaxAge trimming. 0 means
	// DefaultBlockTimeout; it must not be below a millisecond.
	BlockTimeout time.Duration
	// Logger receives the reader's connection state changes. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Transport is an sse.Transport on a Redis stream; see the package
// documentation for the key layout and guarantees. Create it with New; it is
// safe for concurrent use. Close stops its reader and, when the transport
// made its own client from Options.URL, closes that client.
type Transport struct {
	client    *goredis.Client
	ownClient bool
	key       string
	idsKey    string // hash: publisher-chosen id -> stream id
	where     string // "127.0.0.1:6379/0", for messages
	maxLen    int64
	maxAge    time.Duration
	approx    bool
	block     time.Duration
	log       *slog.Logger

	closed    atomic.Bool
	closeOnce sync.Once
	ctx       context.Context // canceled by Close; ends the reader
	cancel    context.CancelFunc
	done      chan struct{}              // closed when the reader has returned
	readerID  atomic.Int64               // CLIENT ID of the reader's connection, 0 if none
	lastID    string                     // last delivered stream id; reader goroutine only
	pos       atomic.Pointer[sse.Cursor] // cursor of the last entry handed to the listeners
	readerErr atomic.Pointer[readerState]

	lmu       sync.Mutex // held while listeners run
	listeners []listener
	nextID    uint64
}

// readerState records why the reader is not following the stream.
type readerState struct {
	err   error
	since time.Time
}

type listener struct {
	id uint64
	fn func(*sse.Message)
}

// New connects to Redis, checks that it answers and that the stream key is
// usable, and starts the reader that delivers to listeners. The reader
// starts at the stream's current end: listeners receive the entries added
// after New returns. ctx bounds only these checks; the transport lives until
// Close. When Redis cannot be reached the error wraps
// sse.ErrTransportUnavailable and says where it looked.
func New(ctx context.Context, opts Options) (*Transport, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	client, own := o.Client, false
	if client == nil {
		ro, err := parseURL(o.URL)
		if err != nil {
			return nil, err
		}
		client, own = goredis.NewClient(ro), true
	}
	t := &Transport{
		client:    client,
		ownClient: own,
		key:       o.Prefix + ":stream",
		idsKey:    o.Prefix + ":ids",
		where:     describe(client.Options()),
		maxLen:    o.MaxLen,
		maxAge:    o.MaxAge,
		approx:    !o.ExactTrim,
		block:     o.BlockTimeout,
		log:       o.Logger,
		done:      make(chan struct{}),
	}
	if err := t.start(ctx); err != nil {
		if own {
			_ = client.Close()
		}
		return nil, err
	}
	if !own && client.Options().MaxRetries > 0 {
		t.log.Warn("redis transport: the client retries failed commands; a publish whose reply is lost may then be stored twice; set MaxRetries: -1 on it",
			"max_retries", client.Options().MaxRetries)
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	go t.read()
	return t, nil
}

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.URL != "" && o.Client != nil {
		return o, errors.New("redis: set Options.URL or Options.Client, not both")
	}
	if o.URL == "" && o.Client == nil {
		o.URL = DefaultURL
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.MaxLen == 0 {
		o.MaxLen = DefaultMaxLen
	}
	if o.MaxAge < 0 {
		return o, fmt.Errorf("redis: Options.MaxAge must not be negative, got %s", o.MaxAge)
	}
	if o.MaxLen < 0 && o.MaxAge == 0 {
		return o, errors.New("redis: Options.MaxLen is negative (no count bound) and MaxAge is 0: the history would grow without bound; set one of them")
	}
	switch {
	case o.BlockTimeout == 0:
		o.BlockTimeout = DefaultBlockTimeout
	case o.BlockTimeout < time.Millisecond:
		return o, fmt.Errorf("redis: Options.BlockTimeout must be at least 1ms, got %s", o.BlockTimeout)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// parseURL turns Options.URL into client options with the transport's
// defaults. Errors never repeat the URL, which may hold a password.
func parseURL(raw string) (*goredis.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("redis: Options.URL is not a URL; want redis://[:password@]host:6379/0 (rediss:// for TLS)")
	}
	ro, err := goredis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("redis: Options.URL %s: %w; want redis://[:password@]host:6379/0 (rediss:// for TLS)", u.Redacted(), err)
	}
	if !u.Query().Has("max_retries") {
		ro.MaxRetries = -1
	}
	if !u.Query().Has("dialer_retries") {
		ro.DialerRetries = 1
	}
	ro.ContextTimeoutEnabled = true
	return ro, nil
}

// describe names the Redis of o without credentials: "host:port/db".
func describe(o *goredis.Options) string {
	if o.Network == "unix" {
		return o.Addr + "?db=" + strconv.Itoa(o.DB)
	}
	return o.Addr + "/" + strconv.Itoa(o.DB)
}

// redisURL is describe as a URL, for "cannot reach" messages.
func redisURL(o *goredis.Options) string {
	switch {
	case o.Network == "unix":
		return "unix://" + describe(o)
	case o.TLSConfig != nil:
		return "rediss://" + describe(o)
	}
	return "redis://" + describe(o)
}

// start pings Redis and finds where the reader begins.
func (t *Transport) start(ctx context.Context) error {
	if err := t.client.Ping(ctx).Err(); err != nil {
		var reply goredis.Error
		if errors.As(err, &reply) {
			return fmt.Errorf("redis: %s refused the connection: %w; check the user, password and database of the URL", redisURL(t.client.Options()), err)
		}
		return &unavailableError{
			msg: fmt.Sprintf("redis: cannot reach %s: %v; is redis-server running?", redisURL(t.client.Options()), err),
			err: err,
		}
	}
	last, err := t.client.XRevRangeN(ctx, t.key, "+", "-", 1).Result()
	if err != nil {
		if isWrongType(err) {
			return fmt.Errorf("redis: key %s on %s holds something other than a stream; choose another Options.Prefix", t.key, t.where)
		}
		return t.unavailable("read the end of the stream", err)
	}
	t.lastID = "0-0"
	if len(last) > 0 {
		t.lastID = last[0].ID
	}
	start, _ := sse.ParseCursor(t.lastID)
	t.pos.Store(&start)
	return nil
}

// Publish implements sse.Transport with one XADD, which also trims the
// history. The stream id Redis assigns becomes m.Cursor, and m.ID when it is
// empty. An error from Redis or the network wraps
// sse.ErrTransportUnavailable. Like any networked write, a reply lost after
// Redis stored the entry leaves the outcome unknown: the error then means the
// event may or may not be delivered, never that it is delivered twice.
func (t *Transport) Publish(ctx context.Context, m *sse.Message) error {
	if t.closed.Load() {
		return sse.ErrTransportClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	values, err := encode(m)
	if err != nil {
		return err
	}
	var id string
	if m.ID != "" {
		id, err = t.publishChosenID(ctx, m.ID, values)
	} else {
		args := &goredis.XAddArgs{Stream: t.key, Approx: t.approx, Values: values}
		switch {
		case t.maxLen > 0:
			args.MaxLen = t.maxLen
		case t.maxAge > 0:
			args.MinID = t.minID()
		}
		id, err = t.client.XAdd(ctx, args).Result()
	}
	if err != nil {
		if t.closed.Load() {
			return sse.ErrTransportClosed
		}
		if dup, ok := duplicateOf(err); ok {
			return fmt.Errorf("%w: event %q (stream entry %s) is still in the history", sse.ErrDuplicateID, m.ID, dup)
		}
		if maybeStored(err) {
			return t.unavailable("publish (the connection failed after the event was sent; Redis may have stored it)", err)
		}
		return t.unavailable("publish", err)
	}
	c, ok := sse.ParseCursor(id)
	if !ok {
		return fmt.Errorf("%w: redis %s: XADD returned the id %q, which is not <ms>-<seq>", sse.ErrTransportUnavailable, t.where, id)
	}
	m.Cursor = c
	if m.ID == "" {
		m.ID = id
	}
	return nil
}

// Listen implements sse.Transport. Listeners run on the transport's reader
// goroutine, in stream order; stop must not be called from fn.
func (t *Transport) Listen(fn func(*sse.Message)) (func(), error) {
	t.lmu.Lock()
	defer t.lmu.Unlock()
	if t.closed.Load() {
		return nil, sse.ErrTransportClosed
	}
	id := t.nextID
	t.nextID++
	t.listeners = append(t.listeners, listener{id: id, fn: fn})
	var once sync.Once
	return func() {
		once.Do(func() {
			t.lmu.Lock()
			defer t.lmu.Unlock()
			for i, l := range t.listeners {
				if l.id == id {
					t.listeners = append(t.listeners[:i:i], t.listeners[i+1:]...)
					break
				}
			}
		})
	}, nil
}

// History implements sse.Transport. "earliest" returns every retained entry;
// a stream id returns the entries after it (XRANGE) and is complete when the
// id is not older than the oldest retained entry (XINFO STREAM, read in the
// same MULTI); a publisher's own id is looked up in the id index and what
// follows its entry is returned. An id that is neither, or whose entry is no
// longer retained, or a stream id after the newest one the stream generated,
// returns everything retained with Complete false.
func (t *Transport) History(ctx context.Context, lastID string) (sse.History, error) {
	if t.closed.Load() {
		return sse.History{}, sse.ErrTransportClosed
	}
	if err := ctx.Err(); err != nil {
		return sse.History{}, err
	}
	if lastID == sse.EarliestID {
		return t.historyAfter(ctx, sse.Cursor{}, true)
	}
	c, ok := sse.ParseCursor(lastID)
	if !ok {
		var err error
		if c, ok, err = t.findID(ctx, lastID); err != nil {
			return sse.History{}, err
		}
	}
	if !ok {
		return t.everythingAsGap(ctx)
	}
	return t.historyAfter(ctx, c, false)
}

// everythingAsGap is the answer to an id the stream cannot place: every
// retained entry, with Complete false.
func (t *Transport) everythingAsGap(ctx context.Context) (sse.History, error) {
	h, err := t.historyAfter(ctx, sse.Cursor{}, true)
	h.Complete = false
	return h, err
}

// HistoryLen implements sse.HistoryLener.
func (t *Transport) HistoryLen(ctx context.Context) (int, error) {
	n, err := t.client.XLen(ctx, t.key).Result()
	return int(n), err
}

// historyAfter returns the entries after c. earliest asks for everything,
// complete only when nothing was ever removed from the stream.
func (t *Transport) historyAfter(ctx context.Context, c sse.Cursor, earliest bool) (sse.History, error) {
	start := "-"
	if !earliest {
		next, ok := after(c)
		if !ok {
			// The largest id there is: no stream generated it.
			return t.everythingAsGap(ctx)
		}
		start = next
	}
	var rng *goredis.XMessageSliceCmd
	var info *goredis.XInfoStreamCmd
	_, err := t.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		rng = p.XRange(ctx, t.key, start, "+")
		info = p.XInfoStream(ctx, t.key)
		return nil
	})
	if err != nil && rng.Err() == nil && isNoSuchKey(info.Err()) {
		// No stream: nothing was ever published, or Redis lost it. Only a
		// client that holds nothing (earliest, or the position before the
		// first entry) can be sure it missed nothing.
		return sse.History{Complete: earliest || c.IsZero()}, nil
	}
	if err != nil {
		if t.closed.Load() {
			return sse.History{}, sse.ErrTransportClosed
		}
		return sse.History{}, t.unavailable("read the history", err)
	}
	if last, ok := sse.ParseCursor(info.Val().LastGeneratedID); ok && !earliest && c.Compare(last) > 0 {
		// An id this stream never generated: everything retained, as a gap.
		return t.everythingAsGap(ctx)
	}
	msgs := make([]*sse.Message, 0, len(rng.Val()))
	for _, x := range rng.Val() {
		m, err := decode(x)
		if err != nil {
			t.log.Error("redis transport: skipping a stream entry that is not an event", "key", t.key, "entry", x.ID, "err", err)
			continue
		}
		msgs = append(msgs, m)
	}
	h := sse.History{Messages: msgs, Complete: complete(info.Val(), c, earliest)}
	if last, ok := sse.ParseCursor(info.Val().LastGeneratedID); ok && !earliest && c.Compare(last) <= 0 {
		// c is a real position: live messages up to it are already the
		// client's, even if this node's reader has not delivered them yet.
		h.After = c
	}
	return h, nil
}

// complete decides whether the entries after c are all still in the stream
// described by s. Trimming only removes the oldest entries, so they are when
// c is at or after the oldest retained entry (or at or after the newest id
// ever generated). On Redis 7 and newer, max-deleted-entry-id additionally
// reveals entries removed by XDEL; Redis 7.0 leaves it at 0-0 on trimming,
// so it cannot replace the first-entry test. A cursor before the oldest
// retained entry is a gap: Redis does not record which ids were trimmed.
func complete(s *goredis.XInfoStream, c sse.Cursor, earliest bool) bool {
	if earliest || c.IsZero() {
		// Redis 7 counts every entry ever added; before 7 we cannot tell.
		return s.EntriesAdded > 0 && s.EntriesAdded == s.Length &&
			(s.MaxDeletedEntryID == "" || s.MaxDeletedEntryID == "0-0")
	}
	if last, ok := sse.ParseCursor(s.LastGeneratedID); ok && c.Compare(last) >= 0 {
		return true
	}
	if md, ok := sse.ParseCursor(s.MaxDeletedEntryID); ok && c.Compare(md) < 0 {
		return false
	}
	first, ok := sse.ParseCursor(s.FirstEntry.ID)
	return ok && c.Compare(first) >= 0
}

// findID returns the cursor of the retained entry whose publisher id is id,
// from the id index. It reports false when the index does not know the id
// or its entry has been trimmed.
func (t *Transport) findID(ctx context.Context, id string) (sse.Cursor, bool, error) {
	sid, err := t.client.HGet(ctx, t.idsKey, id).Result()
	if errors.Is(err, goredis.Nil) {
		return sse.Cursor{}, false, nil
	}
	var xs []goredis.XMessage
	if err == nil {
		xs, err = t.client.XRangeN(ctx, t.key, sid, sid, 1).Result()
	}
	if err != nil {
		if t.closed.Load() {
			return sse.Cursor{}, false, sse.ErrTransportClosed
		}
		return sse.Cursor{}, false, t.unavailable("look up an event id", err)
	}
	if len(xs) == 0 {
		return sse.Cursor{}, false, nil // trimmed since
	}
	c, ok := sse.ParseCursor(sid)
	return c, ok, nil
}

// Position implements sse.Positioner: the cursor of the newest entry the
// reader handed to the listeners, or the stream's end when New ran.
func (t *Transport) Position() sse.Cursor { return *t.pos.Load() }

// Health implements sse.HealthChecker: it PINGs Redis (for at most a
// second) and returns an error wrapping sse.ErrTransportUnavailable when
// Redis does not answer, or sse.ErrTransportClosed after Close.
func (t *Transport) Health(ctx context.Context) error {
	if t.closed.Load() {
		return sse.ErrTransportClosed
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if err := t.client.Ping(ctx).Err(); err != nil {
		if st := t.readerErr.Load(); st != nil {
			return fmt.Errorf("%w: redis %s does not answer PING: %w (the reader has been retrying since %s: %v)",
				sse.ErrTransportUnavailable, t.where, err, st.since.Format(time.RFC3339), st.err)
		}
		return fmt.Errorf("%w: redis %s does not answer PING: %w", sse.ErrTransportUnavailable, t.where, err)
	}
	return nil
}

// Close implements sse.Transport: it stops the reader (interrupting its
// blocking read with CLIENT UNBLOCK) and waits for it, so no listener runs
// after Close returns, then closes the client when the transport made it.
// Later calls return nil.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		t.cancel()
		t.stopReader()
		t.lmu.Lock()
		t.listeners = nil
		t.lmu.Unlock()
		if t.ownClient {
			err = t.client.Close()
		}
	})
	return err
}

// stopReader waits for the reader to return after t.cancel, unblocking its
// XREAD until it does. A reader that is not blocked in Redis returns on its
// own once it sees the canceled context.
func (t *Transport) stopReader() {
	tick := time.NewTicker(unblockEvery)
	defer tick.Stop()
	for {
		if id := t.readerID.Load(); id != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*unblockEvery)
			_ = t.client.ClientUnblock(ctx, id).Err()
			cancel()
		}
		select {
		case <-t.done:
			return
		case <-tick.C:
		}
	}
}

// String describes the transport for logs and the health endpoint, without
// credentials: "redis (127.0.0.1:6379/0, stream valksor-sse:stream)".
func (t *Transport) String() string {
	return "redis (" + t.where + ", stream " + t.key + ")"
}

// minID is the smallest stream id MaxAge keeps now.
func (t *Transport) minID() string {
	ms := time.Now().Add(-t.maxAge).UnixMilli()
	return strconv.FormatInt(max(ms, 0), 10) + "-0"
}

// unavailable wraps a Redis or network error of an operation.
func (t *Transport) unavailable(op string, err error) error {
	return fmt.Errorf("%w: redis %s (stream %s): %s: %w", sse.ErrTransportUnavailable, t.where, t.key, op, err)
}

// unavailableError is an error with its own message that wraps both
// sse.ErrTransportUnavailable and its cause.
type unavailableError struct {
	msg string
	err error
}

func (e *unavailableError) Error() string   { return e.msg }
func (e *unavailableError) Unwrap() []error { return []error{sse.ErrTransportUnavailable, e.err} }

// maybeStored reports whether a failed command may still have run: true
// unless the connection was never made, no connection was free, or Redis
// answered with an error.
func maybeStored(err error) bool {
	var op *net.OpError
	var reply goredis.Error
	switch {
	case errors.As(err, &op) && op.Op == "dial",
		errors.Is(err, goredis.ErrPoolTimeout), errors.Is(err, goredis.ErrPoolExhausted),
		errors.Is(err, goredis.ErrClosed), errors.As(err, &reply):
		return false
	}
	return true
}

func isWrongType(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE") }

func isNoSuchKey(err error) bool { return err != nil && strings.Contains(err.Error(), "no such key") }
