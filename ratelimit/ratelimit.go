// Package ratelimit is HTTP middleware that limits, per client, how fast
// new event streams open, how many stay open at once, and how fast events
// are published. A request over a limit is answered 429 Too Many Requests
// with Retry-After and a plain-text reason; the handler behind it never
// sees it.
//
// The client is the peer's IP address, or, when the peer is a trusted proxy,
// the rightmost address of X-Forwarded-For that is not a trusted proxy
// (addresses further left could have been written by the client itself).
// IPv6 clients are grouped by their /64 prefix, the usual size of one
// subscriber's network. Publishes are counted per credential (the bearer
// token, cookie or query token) and per client without one.
//
// Memory is bounded: rate buckets of clients idle longer than the time
// their bucket takes to refill are forgotten, and at most MaxClients buckets
// are kept per limit (the least recently used go first).
//
// A stream the handler keeps after returning (a hijacked connection) keeps
// its concurrency slot: the handler calls Keep with the request's context
// and the release function it gets back when the stream ends (or KeepSlot,
// and the Release method of the Slot it gets back, which allocates
// nothing).
package ratelimit

import (
	"container/list"
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limit names a limit, for Config.OnLimit and messages.
type Limit string

// The limits.
const (
	// StreamRate limits new streams per second per client.
	StreamRate Limit = "streams_per_second"
	// StreamsPerIP caps the streams one client holds open.
	StreamsPerIP Limit = "streams_per_ip"
	// PublishRate limits publishes per second per credential or client.
	PublishRate Limit = "publishes_per_second"
)

// defaultMaxClients is the default of Config.MaxClients.
const defaultMaxClients = 100_000

// Config configures a Limiter. A zero limit is off.
type Config struct {
	// StreamsPerSecond is the rate of new streams per client.
	StreamsPerSecond float64
	// StreamBurst is how many streams a client may open at once before
	// the rate applies (default: twice the rate, at least 1).
	StreamBurst int
	// StreamsPerClient caps the streams one client holds open.
	StreamsPerClient int
	// PublishesPerSecond is the rate of publishes per credential or client.
	PublishesPerSecond float64
	// PublishBurst is as StreamBurst for publishes.
	PublishBurst int
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// IsStream reports whether r opens a stream (required when a stream
	// limit is set).
	IsStream func(r *http.Request) bool
	// IsPublish reports whether r publishes (required when the publish
	// limit is set).
	IsPublish func(r *http.Request) bool
	// Credential returns the credential r publishes with, "" for none
	// (default: the bearer token of the Authorization header).
	Credential func(r *http.Request) string
	// MaxClients bounds the rate buckets kept per limit (default 100000).
	MaxClients int
	// OnLimit, when set, is called for every refused request.
	OnLimit func(r *http.Request, l Limit)
	// Now returns the current time (default time.Now), for tests.
	Now func() time.Time
}

// Limiter enforces a Config. It is safe for concurrent use.
type Limiter struct {
	cfg     Config
	streams *buckets
	pubs    *buckets

	mu   sync.Mutex
	open map[string]*holder // the clients holding streams
}

// holder counts the streams one client holds; its slots share it.
type holder struct {
	l      *Limiter
	client string
	n      int // under l.mu
}

// New returns a Limiter for c.
func New(c Config) (*Limiter, error) {
	switch {
	case c.StreamsPerSecond < 0 || c.PublishesPerSecond < 0 || c.StreamsPerClient < 0 || c.StreamBurst < 0 || c.PublishBurst < 0:
		return nil, fmt.Errorf("ratelimit: limits must not be negative")
	case (c.StreamsPerSecond > 0 || c.StreamsPerClient > 0) && c.IsStream == nil:
		return nil, fmt.Errorf("ratelimit: a stream limit needs Config.IsStream")
	case c.PublishesPerSecond > 0 && c.IsPublish == nil:
		return nil, fmt.Errorf("ratelimit: a publish limit needs Config.IsPublish")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxClients <= 0 {
		c.MaxClients = defaultMaxClients
	}
	if c.Credential == nil {
		c.Credential = bearer
	}
	l := &Limiter{cfg: c, open: make(map[string]*holder)}
	if c.StreamsPerSecond > 0 {
		l.streams = newBuckets(c.StreamsPerSecond, burst(c.StreamBurst, c.StreamsPerSecond), c.MaxClients)
	}
	if c.PublishesPerSecond > 0 {
		l.pubs = newBuckets(c.PublishesPerSecond, burst(c.PublishBurst, c.PublishesPerSecond), c.MaxClients)
	}
	return l, nil
}

// burst is the configured burst, or twice the rate.
func burst(b int, perSecond float64) int {
	if b > 0 {
		return b
	}
	return max(1, int(math.Ceil(2*perSecond)))
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// ParseTrustedProxies parses IP addresses and CIDRs ("10.0.0.0/8",
// "192.0.2.7", "::1").
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: trusted proxy %q is neither an IP address nor a CIDR", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// trusted reports whether a is a trusted proxy.
func (l *Limiter) trusted(a netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client that sent r: the peer, or,
// when the peer is a trusted proxy, the rightmost X-Forwarded-For address
// that is not a trusted proxy (the leftmost when all are). An entry that is
// not an IP address ends the walk at the last trusted hop. It returns the
// zero Addr when RemoteAddr is not an IP address (as for a Unix socket).
func (l *Limiter) ClientIP(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !l.trusted(peer) {
		return peer
	}
	client := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a := parseHop(parts[j])
			if !a.IsValid() {
				return client
			}
			client = a
			if !l.trusted(a) {
				return a
			}
		}
	}
	return client
}

// peerAddr parses RemoteAddr ("ip:port", or a bare ip).
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// parseHop parses one X-Forwarded-For entry: an address, possibly with a
// port or in brackets.
func parseHop(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(h); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// clientKey is the key of r's client: its IPv4 address or IPv6 /64 (the
// peer's RemoteAddr when it is not an IP address).
func (l *Limiter) clientKey(r *http.Request) string {
	a := l.ClientIP(r)
	switch {
	case !a.IsValid():
		return "peer " + r.RemoteAddr
	case a.Is6():
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ctxKey keys the stream slot in a request context.
type ctxKey struct{}

// slot is a concurrent-stream slot held by one request. A stream that
// keeps its slot holds it for its whole life, so it is small: the count of
// its client, shared with the client's other slots, and an atomic state
// rather than a lock.
type slot struct {
	h     *holder
	state atomic.Uint32 // slotKept | slotFreed
}

// The bits of slot.state.
const (
	slotKept  = 1 << iota // taken over with Keep or KeepSlot
	slotFreed             // given back
)

// release gives the slot back; only the first call counts.
func (s *slot) release() {
	if s.state.Or(slotFreed)&slotFreed != 0 {
		return
	}
	h := s.h
	h.l.mu.Lock()
	if h.n--; h.n == 0 {
		delete(h.l.open, h.client)
	}
	h.l.mu.Unlock()
}

// Slot is a concurrent-stream slot taken over with KeepSlot. It is one
// pointer, and the zero Slot holds no slot.
type Slot struct{ s *slot }

// Release gives the slot back; only the first call counts. Release of the
// zero Slot does nothing.
func (s Slot) Release() {
	if s.s != nil {
		s.s.release()
	}
}

// Keep takes over the stream slot of the request whose context is ctx: the
// middleware no longer releases it when the handler returns, and the caller
// must call the returned function when the stream ends. It returns a no-op
// function when ctx holds no slot. The function it returns is allocated
// for the slot; KeepSlot does the same without allocating.
func Keep(ctx context.Context) (release func()) {
	return KeepSlot(ctx).Release
}

// KeepSlot is Keep for a caller that holds many streams: it takes over the
// stream slot of the request whose context is ctx and returns it, and the
// caller must call its Release method when the stream ends. It returns the
// zero Slot when ctx holds no slot. It allocates nothing.
func KeepSlot(ctx context.Context) Slot {
	s, _ := ctx.Value(ctxKey{}).(*slot)
	if s == nil {
		return Slot{}
	}
	s.state.Or(slotKept)
	return Slot{s}
}

// Handler returns next behind the limits.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case l.cfg.IsStream != nil && (l.streams != nil || l.cfg.StreamsPerClient > 0) && l.cfg.IsStream(r):
			client := l.clientKey(r)
			if l.streams != nil {
				if wait := l.streams.take(client, l.cfg.Now()); wait > 0 {
					l.refuse(w, r, StreamRate, wait, fmt.Sprintf("too many new streams from %s: the limit is %s per second; retry in %s", display(client), formatRate(l.cfg.StreamsPerSecond), wait.Round(time.Millisecond)))
					return
				}
			}
			if l.cfg.StreamsPerClient > 0 {
				s, ok := l.acquire(client)
				if !ok {
					l.refuse(w, r, StreamsPerIP, 5*time.Second, fmt.Sprintf("too many open streams from %s: the limit is %d; close one (a tab) or retry later", display(client), l.cfg.StreamsPerClient))
					return
				}
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
				defer func() {
					if s.state.Load()&slotKept == 0 {
						s.release()
					}
				}()
			}
		case l.pubs != nil && l.cfg.IsPublish(r):
			key, who := l.clientKey(r), ""
			if cred := l.cfg.Credential(r); cred != "" {
				sum := sha256.Sum256([]byte(cred))
				key, who = fmt.Sprintf("credential %x", sum[:12]), "this token"
			} else {
				who = display(key)
			}
			if wait := l.pubs.take(key, l.cfg.Now()); wait > 0 {
				l.refuse(w, r, PublishRate, wait, fmt.Sprintf("too many publishes from %s: the limit is %s per second; retry in %s", who, formatRate(l.cfg.PublishesPerSecond), wait.Round(time.Millisecond)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// display names a client key in a message.
func display(client string) string { return strings.TrimPrefix(client, "peer ") }

// formatRate renders a rate without needless decimals.
func formatRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// acquire takes a stream slot for client if it holds fewer than the cap.
func (l *Limiter) acquire(client string) (*slot, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.open[client]
	if h == nil {
		h = &holder{l: l, client: client}
		l.open[client] = h
	}
	if h.n >= l.cfg.StreamsPerClient {
		return nil, false
	}
	h.n++
	return &slot{h: h}, true
}

// refuse answers 429 with Retry-After (whole seconds, at least 1).
func (l *Limiter) refuse(w http.ResponseWriter, r *http.Request, lim Limit, wait time.Duration, msg string) {
	if l.cfg.OnLimit != nil {
		l.cfg.OnLimit(r, lim)
	}
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = fmt.Fprintf(w, "%s (limits.%s)\n", msg, lim)
}

// Stats counts what a Limiter remembers.
type Stats struct {
	// StreamBuckets and PublishBuckets are the rate buckets kept.
	StreamBuckets, PublishBuckets int
	// Clients is the number of clients holding streams; Streams the
	// streams they hold.
	Clients, Streams int
}

// Stats returns what l remembers now.
func (l *Limiter) Stats() Stats {
	var s Stats
	if l.streams != nil {
		s.StreamBuckets = l.streams.len()
	}
	if l.pubs != nil {
		s.PublishBuckets = l.pubs.len()
	}
	l.mu.Lock()
	s.Clients = len(l.open)
	for _, h := range l.open {
		s.Streams += h.n
	}
	l.mu.Unlock()
	return s
}

// buckets holds one token bucket per key, least recently used first out.
type buckets struct {
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration // a bucket unused this long is full again

	mu    sync.Mutex
	byKey map[string]*list.Element
	lru   list.List // of *bucket, most recently used at the front
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	used time.Time
}

func newBuckets(perSecond float64, burst, maxKeys int) *buckets {
	refill := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &buckets{
		limit: rate.Limit(perSecond),
		burst: burst,
		max:   maxKeys,
		idle:  max(refill, time.Second),
		byKey: make(map[string]*list.Element),
	}
}

// take takes one token from key's bucket. It returns 0, or how long until
// a token is available (nothing is taken then).
func (b *buckets) take(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Forget buckets that have been idle long enough to be full again:
	// a new bucket for them would behave the same.
	for e := b.lru.Back(); e != nil; e = b.lru.Back() {
		old := e.Value.(*bucket)
		if now.Sub(old.used) < b.idle {
			break
		}
		b.lru.Remove(e)
		delete(b.byKey, old.key)
	}
	var bk *bucket
	if e, ok := b.byKey[key]; ok {
		bk = e.Value.(*bucket)
		b.lru.MoveToFront(e)
	} else {
		if b.lru.Len() >= b.max {
			last := b.lru.Back()
			b.lru.Remove(last)
			delete(b.byKey, last.Value.(*bucket).key)
		}
		bk = &bucket{key: key, lim: rate.NewLimiter(b.limit, b.burst)}
		b.byKey[key] = b.lru.PushFront(bk)
	}
	bk.used = now
	res := bk.lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

func (b *buckets) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}
