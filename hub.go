package sse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valksor/go-sse/internal/cors"
	"github.com/valksor/go-sse/internal/wire"
)

// Broadcaster publishes events. The Hub implements it in-process; the
// client package's Publisher implements it over HTTP, so application code
// need not care where the hub runs.
type Broadcaster interface {
	// Broadcast publishes e. When it returns nil the event is in the history
	// and on its way to every matching subscriber.
	Broadcast(ctx context.Context, e Event) error
}

var _ Broadcaster = (*Hub)(nil)

// Hub holds the open streams and fans events out to them. Create it with New;
// it is safe for concurrent use. After Shutdown it refuses new streams and
// publishes.
type Hub struct {
	opts          options
	log           *slog.Logger
	transport     Transport
	ownsTransport bool
	stopListen    func()

	mu      sync.RWMutex
	byTopic map[string]*topicSubs
	byID    map[string]*subscriber
	matched map[*subscriber]struct{} // streams with a Match function

	gen     uint32 // fan-out generation, never 0; used only by the delivering goroutine
	conns   atomic.Int64
	started time.Time

	published atomic.Uint64
	delivered atomic.Uint64
	slow      atomic.Uint64
	takenOver atomic.Uint64          // TLS streams whose records the hub writes
	degraded  atomic.Bool            // the last health check found the transport failing
	lastID    atomic.Pointer[string] // id of the newest message delivered
	// pos is where live delivery stands: the cursor of the newest message
	// queued to every stream (or the transport's position at New), nil when
	// unknown. Written under mu's read lock after the fan-out, read under
	// its write lock, so a stream registered sees exactly what follows it.
	pos atomic.Pointer[Cursor]

	done        chan struct{}
	closeOnce   sync.Once
	streams     sync.WaitGroup
	workers     sync.WaitGroup
	work        chan *subscriber // hijacked streams with frames to write
	stopWriters chan struct{}
	closes      *closeWatcher // notices hijacked streams whose client left
	lifetimes   lifetimes     // ends streams at their maximum lifetime
	cors        *cors.Policy
}

// topicSubs are the streams listening to one topic. Streams keep its name
// as their copy of the topic: a topic parsed from a request would keep the
// whole request line alive for as long as the stream is open.
//
// Its streams are kept in the order they opened, which is close to the
// order of their connections' memory in the process and in the kernel: a
// fan-out that walks them so (rather than in a map's random order) makes
// its writes with far fewer cache and TLB misses, which at 10,000 streams
// is a fifth of the fan-out's time. A stream's place is subscriber.slot
// for the first of its topics, and in more for its other topics; a stream
// that ends leaves a hole (nil), and the list is compacted, in order, when
// holes are half of it.
type topicSubs struct {
	name  string
	one   []string              // []string{name}: the topic list of every stream on this topic alone
	subs  []*subscriber         // in the order they opened; nil where a stream ended
	live  int                   // non-nil entries of subs
	more  map[*subscriber]int32 // places of the streams whose first topic this is not
	holes int                   // nil entries of subs
}

// place returns where s is in ts.subs. i is ts's index in s.topics.
func (ts *topicSubs) place(s *subscriber, i int) int {
	if i == 0 {
		return int(s.slot)
	}
	return int(ts.more[s])
}

// setPlace records that s is at j in ts.subs.
func (ts *topicSubs) setPlace(s *subscriber, i, j int) {
	if i == 0 {
		s.slot = int32(j)
		return
	}
	if ts.more == nil {
		ts.more = make(map[*subscriber]int32)
	}
	ts.more[s] = int32(j)
}

// append adds s, whose topic number i ts is.
func (ts *topicSubs) append(s *subscriber, i int) {
	ts.setPlace(s, i, len(ts.subs))
	ts.subs = append(ts.subs, s)
	ts.live++
}

// drop removes s, whose topic number i ts is, and compacts the list
// when holes are half of it.
func (ts *topicSubs) drop(s *subscriber, i int) {
	j := ts.place(s, i)
	if j >= len(ts.subs) || ts.subs[j] != s {
		return
	}
	ts.subs[j] = nil
	if i > 0 {
		delete(ts.more, s)
	}
	ts.live--
	ts.holes++
	if ts.holes <= len(ts.subs)/2 {
		return
	}
	k := 0
	for _, o := range ts.subs {
		if o == nil {
			continue
		}
		ts.subs[k] = o
		ts.setPlace(o, topicIndex(o, ts.name), k)
		k++
	}
	clear(ts.subs[k:])
	ts.subs = ts.subs[:k]
	ts.holes = 0
}

// topicIndex returns the index of the topic name in s.topics.
func topicIndex(s *subscriber, name string) int {
	return slices.Index(s.topics, name)
}

// writeQueue is how many hijacked streams may wait for a writer before
// further ones get a goroutine of their own. The buffer's pages are touched
// only as far as it fills.
const writeQueue = 1 << 16

// frame is an encoded event shared by every subscriber that receives it.
// cursor is zero for frames outside the history (ping, pong, connected).
type frame struct {
	cursor Cursor
	b      []byte
}

// New creates a hub. It starts the heartbeat; call Shutdown to stop it.
func New(opts ...Option) (*Hub, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	h := &Hub{
		opts:        o,
		log:         o.logger,
		transport:   o.transport,
		byTopic:     make(map[string]*topicSubs),
		byID:        make(map[string]*subscriber),
		matched:     make(map[*subscriber]struct{}),
		started:     time.Now(),
		done:        make(chan struct{}),
		work:        make(chan *subscriber, writeQueue),
		stopWriters: make(chan struct{}),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.lifetimes.expire = h.expire
	h.cors = &cors.Policy{Origins: o.origins, Expose: "X-Valksor-History-Gap", Setting: "cors_origins", Logger: h.log}
	if h.transport == nil {
		h.transport = NewMemoryTransport(o.historySize)
		h.ownsTransport = true
	}
	stop, err := h.transport.Listen(h.deliver)
	if err != nil {
		return nil, fmt.Errorf("sse: listen on transport: %w", err)
	}
	h.stopListen = stop
	if p, ok := h.transport.(Positioner); ok {
		c := p.Position()
		h.pos.CompareAndSwap(nil, &c)
	}
	if o.pingInterval > 0 {
		h.workers.Add(1)
		go h.heartbeat(o.pingInterval)
	}
	if o.hijack {
		if h.closes, err = newCloseWatcher(); err != nil {
			h.log.Warn("cannot watch for closed connections; streams are served from their handlers", "err", err)
			h.opts.hijack = false
		} else {
			h.workers.Add(1)
			go func() {
				defer h.workers.Done()
				h.closes.run(func(s *subscriber) { h.end(s, nil) })
			}()
		}
	}
	for range max(2, runtime.GOMAXPROCS(0)) {
		h.workers.Add(1)
		go h.writer()
	}
	return h, nil
}

// Broadcast publishes e to the streams subscribed to its topics (the public
// channel, DefaultTopic, when it names none). When it returns nil the event
// is in the transport's history, with its id, and on its way to every
// matching stream of every hub sharing the transport; a stream that is too
// slow for it is dropped and resumes later. The errors wrap ErrInvalidEvent
// or ErrInvalidTopic for an event that cannot be published as given (a
// reserved type, an id or type too long, too many topics),
// ErrDuplicateID for an id still in the history, ErrTransportUnavailable
// when the transport cannot store it now, and ErrHubClosed after Shutdown;
// nothing is published then. It is safe for concurrent use.
func (h *Hub) Broadcast(ctx context.Context, e Event) error {
	_, err := h.Publish(ctx, e)
	return err
}

// Publish is Broadcast that also returns the event's id: e.ID when the
// publisher chose one, else the id the transport assigned.
func (h *Hub) Publish(ctx context.Context, e Event) (string, error) {
	if h.closed() {
		return "", ErrHubClosed
	}
	m, err := h.message(e)
	if err != nil {
		return "", err
	}
	if err := h.transport.Publish(ctx, m); err != nil {
		return "", fmt.Errorf("sse: publish %q: %w", m.Type, err)
	}
	h.published.Add(1)
	if h.log.Enabled(ctx, slog.LevelDebug) {
		h.log.Debug("event published", "id", m.ID, "type", m.Type, "topics", m.Topics, "bytes", len(m.Data))
	}
	return m.ID, nil
}

// deliver is the transport listener: it encodes m once and queues the same
// bytes on every matching stream. A css-update is also encoded once as a
// reload, when the first stream that asked for that form (CSSAsReload)
// matches it.
func (h *Hub) deliver(m *Message) {
	b, err := wire.AppendEvent(nil, wire.Event{ID: m.ID, Type: m.Type, Data: m.Data, Retry: m.Retry})
	if err != nil {
		h.log.Error("dropping message that cannot be encoded", "id", m.ID, "err", err)
		return
	}
	f := &frame{cursor: m.Cursor, b: b}
	css := m.Type == TypeCSSUpdate
	var asReload *frame // f as a reload, for css-update only
	h.lastID.Store(&m.ID)
	h.mu.RLock()
	h.gen++
	if h.gen == 0 { // wrapped: no stream may keep a generation of before
		for _, s := range h.byID {
			s.gen = 0
		}
		h.gen = 1
	}
	gen := h.gen
	var n uint64
	for _, t := range m.Topics {
		ts := h.byTopic[t]
		if ts == nil {
			continue
		}
		for _, s := range ts.subs {
			if s == nil || s.gen == gen || (m.Private && !s.grant().sees(m)) {
				continue
			}
			s.gen = gen
			g := f
			if css && s.asReload {
				g = reloadForm(m, f, &asReload)
			}
			if h.enqueue(s, g) {
				n++
			}
		}
	}
	for s := range h.matched {
		if s.gen == gen || (m.Private && !s.grant().sees(m)) || !s.wants(m.Topics) {
			continue
		}
		s.gen = gen
		g := f
		if css && s.asReload {
			g = reloadForm(m, f, &asReload)
		}
		if h.enqueue(s, g) {
			n++
		}
	}
	h.pos.Store(&m.Cursor)
	h.mu.RUnlock()
	h.delivered.Add(n)
	if h.opts.onDeliver != nil {
		h.opts.onDeliver(Delivery{Message: m, Bytes: len(b), Receivers: int(n)})
	}
}

// reloadForm returns css-update message m (encoded as f) as a reload frame
// with the same id, data and place in the history, encoding it into *cache
// the first time. It returns f should that encoding fail, which it cannot
// when f's did not.
func reloadForm(m *Message, f *frame, cache **frame) *frame {
	if *cache == nil {
		b, err := wire.AppendEvent(nil, wire.Event{ID: m.ID, Type: TypeReload, Data: m.Data, Retry: m.Retry})
		if err != nil {
			return f
		}
		*cache = &frame{cursor: f.cursor, b: b}
	}
	return *cache
}

// heartbeat queues a ping on every stream each interval until Shutdown.
func (h *Hub) heartbeat(every time.Duration) {
	defer h.workers.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case now := <-t.C:
			var data any = map[string]int64{"timestamp": now.UnixMilli()}
			if h.opts.pingData != nil {
				data = h.opts.pingData()
			}
			f, err := h.localFrame(TypePing, data)
			if err != nil {
				h.log.Error("ping payload cannot be encoded", "err", err)
				continue
			}
			h.mu.RLock()
			for _, s := range h.byID {
				if s.bare {
					h.enqueue(s, commentFrame)
				} else {
					h.enqueue(s, f)
				}
			}
			h.mu.RUnlock()
		}
	}
}

// commentFrame is the heartbeat of bare streams: an SSE comment line, which
// clients ignore and which dispatches nothing.
var commentFrame = &frame{b: []byte(":\n")}

// localFrame encodes an event that is not part of the history.
func (h *Hub) localFrame(typ string, data any) (*frame, error) {
	d, err := encodeData(data)
	if err != nil {
		return nil, err
	}
	b, err := wire.AppendEvent(nil, wire.Event{Type: typ, Data: d})
	if err != nil {
		return nil, err
	}
	return &frame{b: b}, nil
}

// Pong queues a pong event on the stream with the given connection id. It
// returns an error wrapping ErrUnknownConnection when no such stream is open.
func (h *Hub) Pong(connID, nonce string) error {
	h.mu.RLock()
	s := h.byID[connID]
	h.mu.RUnlock()
	if s == nil {
		return fmt.Errorf("%w: no open stream has id %q; it may have reconnected with a new id", ErrUnknownConnection, connID)
	}
	data := map[string]any{"timestamp": time.Now().UnixMilli()}
	if nonce != "" {
		data["nonce"] = nonce
	}
	f, err := h.localFrame(TypePong, data)
	if err != nil {
		return err
	}
	h.enqueue(s, f)
	return nil
}

// add registers s; after Shutdown began it refuses with ErrHubClosed. It
// replaces the topics of s, which must be its own slice, with the hub's
// copies of the same strings. The
// registration is counted so that Shutdown can wait for the stream. It
// returns the position live delivery to s starts after (nil when unknown).
func (h *Hub) add(s *subscriber) (*Cursor, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed() {
		return nil, ErrHubClosed
	}
	h.streams.Add(1)
	h.byID[s.id] = s
	if s.opts != nil && s.opts.match != nil {
		h.matched[s] = struct{}{}
	}
	// The stream's topic names become the hub's copies of them: a stream
	// on one topic shares that topic's one-element list, several topics
	// get a list of their own. The caller's list is left as it was.
	names := s.topics
	if len(names) > 1 {
		s.topics = make([]string, len(names))
	}
	for i, t := range names {
		if j := slices.Index(names[:i], t); j >= 0 {
			s.topics[i] = s.topics[j] // listed twice: it is on the list once
			continue
		}
		ts := h.byTopic[t]
		if ts == nil {
			name := strings.Clone(t)
			ts = &topicSubs{name: name, one: []string{name}}
			h.byTopic[name] = ts
		}
		if len(names) == 1 {
			s.topics = ts.one
		} else {
			s.topics[i] = ts.name
		}
		ts.append(s, i)
	}
	return h.pos.Load(), nil
}

func (h *Hub) remove(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.streams.Done()
	delete(h.byID, s.id)
	delete(h.matched, s)
	for i, t := range s.topics {
		if i > 0 && slices.Contains(s.topics[:i], t) {
			continue
		}
		if ts := h.byTopic[t]; ts != nil {
			ts.drop(s, i)
			if ts.live == 0 {
				delete(h.byTopic, t)
			}
		}
	}
}

// acquire reserves a connection slot.
func (h *Hub) acquire() bool {
	n := h.conns.Add(1)
	if max := h.opts.maxConnections; max > 0 && n > int64(max) {
		h.conns.Add(-1)
		return false
	}
	return true
}

func (h *Hub) release() { h.conns.Add(-1) }

func (h *Hub) closed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	// Connections is the number of open streams.
	Connections int
	// MaxConnections is the configured cap (0 = none).
	MaxConnections int
	// Published counts events accepted by Broadcast and the publish endpoint.
	Published uint64
	// Delivered counts events queued to streams (one per stream per event).
	Delivered uint64
	// SlowDisconnects counts streams dropped because they could not keep up.
	SlowDisconnects uint64
	// TLSTakenOver counts TLS streams whose records the hub wrote itself,
	// their *tls.Conn dropped (see TLSConfig).
	TLSTakenOver uint64
	// Uptime is the time since New.
	Uptime time.Duration
}

// Stats returns a snapshot of the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Connections:     int(h.conns.Load()),
		MaxConnections:  h.opts.maxConnections,
		Published:       h.published.Load(),
		Delivered:       h.delivered.Load(),
		SlowDisconnects: h.slow.Load(),
		TLSTakenOver:    h.takenOver.Load(),
		Uptime:          time.Since(h.started),
	}
}

// LastEventID returns the id of the newest event the hub has handed to its
// streams, whether it was published on this hub or, with a transport shared
// by several servers, on another one; "" before the first. A subscriber
// that resumes from it misses nothing published afterwards.
func (h *Hub) LastEventID() string {
	if id := h.lastID.Load(); id != nil {
		return *id
	}
	return ""
}

// MaxTopics returns the most topics one stream may listen to and one event
// may be published to (WithMaxTopics). Handlers that parse their own
// requests, such as a Mercure endpoint, apply it to what they hand the hub.
func (h *Hub) MaxTopics() int { return h.opts.maxTopics }

// WriteTimeout returns how long one write to a stream may wait
// (WithWriteTimeout; 0 for no bound), for servers that write the hub's
// streams themselves, such as package h2's.
func (h *Hub) WriteTimeout() time.Duration { return h.opts.writeTimeout }

// ClientInfo describes one open stream.
type ClientInfo struct {
	// ID is the connection id sent in the connected event.
	ID string
	// Topics are the topics the stream listens to.
	Topics []string
	// RemoteAddr is the peer's address.
	RemoteAddr string
	// Since is when the stream opened.
	Since time.Time
	// Queued is how many events wait to be written to it.
	Queued int
	// HandedOff is true for streams written by the hub's writers: HTTP/1.1
	// ones (plain or TLS) and HTTP/2 ones detached from their handler (see
	// Detacher); false for streams served from their handler (HTTP/2 under
	// net/http's own server, or with WithHijack(false)).
	HandedOff bool
}

// Clients returns a snapshot of the open streams, in no particular order.
func (h *Hub) Clients() []ClientInfo {
	h.mu.RLock()
	subs := make([]*subscriber, 0, len(h.byID))
	for _, s := range h.byID {
		subs = append(subs, s)
	}
	h.mu.RUnlock()
	out := make([]ClientInfo, 0, len(subs))
	for _, s := range subs {
		s.mu.Lock()
		queued, handedOff := len(s.pending), s.conn != nil
		s.mu.Unlock()
		out = append(out, ClientInfo{ID: s.id, Topics: slices.Clone(s.topics), RemoteAddr: s.remoteAddr(), Since: s.since(), Queued: queued, HandedOff: handedOff})
	}
	return out
}

// TopicCounts returns how many open streams listen to each topic.
func (h *Hub) TopicCounts() map[string]int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(map[string]int, len(h.byTopic))
	for t, ts := range h.byTopic {
		out[t] = ts.live
	}
	return out
}

// HistoryLen reports how many events the transport retains, when it can
// tell.
func (h *Hub) HistoryLen(ctx context.Context) (int, bool) {
	hl, ok := h.transport.(HistoryLener)
	if !ok {
		return 0, false
	}
	n, err := hl.HistoryLen(ctx)
	return n, err == nil
}

// BasePath returns the path under which Handler serves the endpoints.
func (h *Hub) BasePath() string {
	if h.opts.basePath == "" {
		return "/"
	}
	return h.opts.basePath
}

// Shutdown stops the hub: new streams and publishes are refused, every open
// stream is told to reconnect soon and closed, and the heartbeat stops.
// Shutdown waits for the streams to finish or ctx to end. It may be called
// more than once; later calls wait the same way.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		close(h.done)
		hijacked := make([]*subscriber, 0, len(h.byID))
		for _, s := range h.byID {
			hijacked = append(hijacked, s)
		}
		h.mu.Unlock()
		h.stopListen()
		// Handler-owned streams see h.done; hijacked ones are told here.
		for _, s := range hijacked {
			s.mu.Lock()
			conn := s.conn != nil
			s.mu.Unlock()
			if conn {
				h.closeAfterFlush(s, errShutdown, true)
			}
		}
		go func() {
			h.streams.Wait()
			h.lifetimes.stop()
			close(h.stopWriters)
			if h.closes != nil {
				h.closes.stop()
			}
		}()
	})
	finished := make(chan struct{})
	go func() {
		h.streams.Wait()
		h.workers.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		// Close what is left; the writers stop once every stream is gone.
		h.mu.RLock()
		for _, s := range h.byID {
			go h.end(s, errShutdown)
		}
		h.mu.RUnlock()
		return fmt.Errorf("sse: shutdown: %w (%d streams still open)", ctx.Err(), h.conns.Load())
	}
	if h.ownsTransport {
		if err := h.transport.Close(); err != nil && !errors.Is(err, ErrTransportClosed) {
			return err
		}
	}
	return nil
}

func newConnID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Handler returns the HTTP surface of the hub under its base path:
//
//	GET|HEAD base          the event stream
//	GET      base/healthz  health as JSON
//	POST     base/publish  publish an event (bearer token)
//	POST     base/ping     queue a pong on a stream
//
// with CORS for the allowed origins. Other paths get 404.
func (h *Hub) Handler() http.Handler {
	return http.HandlerFunc(h.route)
}

// Register mounts Handler on mux at the base path and below it.
func (h *Hub) Register(mux *http.ServeMux) {
	handler := h.Handler()
	if h.opts.basePath == "" {
		mux.Handle("/", handler)
		return
	}
	mux.Handle(h.opts.basePath, handler)
	mux.Handle(h.opts.basePath+"/", handler)
}

func (h *Hub) route(w http.ResponseWriter, r *http.Request) {
	if !h.cors.Apply(w, r, func(w http.ResponseWriter, msg string) { http.Error(w, msg, http.StatusForbidden) }) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, h.opts.basePath)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case "", "/":
		h.ServeHTTP(w, r)
	case "/healthz":
		h.serveHealth(w, r)
	case "/publish":
		h.servePublish(w, r)
	case "/ping":
		h.servePing(w, r)
	default:
		http.NotFound(w, r)
	}
}
