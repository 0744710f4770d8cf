package mercure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/jwt"
)

// jsonLDContext is the @context of the widely deployed draft's
// subscription documents.
const jsonLDContext = "https://mercure.rocks/"

// subscriptionEventType is the SSE event type of the current protocol's
// subscription events, reserved for the hub.
const subscriptionEventType = "mercure"

// announceTimeout bounds the publication of one subscription update.
const announceTimeout = 5 * time.Second

// activeSub is an active subscription: one selector of one stream.
type activeSub struct {
	id         string // its URL path, also the topic of its updates
	legacy     bool   // from the topic parameter: the widely deployed draft's shape
	matchType  MatchType
	match      string
	subscriber string
	payload    json.RawMessage
}

// SubscriptionDoc is the document describing a subscription, in
// subscription updates and the subscriptions API. A subscription made with
// the topic parameter is described as the widely deployed draft does
// (JSON-LD: Context, Type "Subscription", Topic); one made with a matcher
// parameter as the current protocol does (Type "subscription", MatchType,
// Match).
type SubscriptionDoc struct {
	Context     string          `json:"@context,omitempty"`
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Topic       string          `json:"topic,omitempty"`
	MatchType   MatchType       `json:"match_type,omitempty"`
	Match       string          `json:"match,omitempty"`
	Subscriber  string          `json:"subscriber"`
	Active      bool            `json:"active"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	LastEventID string          `json:"lastEventID,omitempty"`
}

// SubscriptionsDoc is the document of a collection of subscriptions: the
// widely deployed draft's (JSON-LD, Type "Subscriptions") for
// /subscriptions/{topic}, the current protocol's (Type "subscriptions")
// for the others. LastEventID is in both: the current protocol moved it to
// the Link header's last-event-id, and clients of the widely deployed
// draft read it here.
type SubscriptionsDoc struct {
	Context       string            `json:"@context,omitempty"`
	ID            string            `json:"id"`
	Type          string            `json:"type"`
	LastEventID   string            `json:"lastEventID"`
	Subscriptions []SubscriptionDoc `json:"subscriptions"`
}

func (a *activeSub) doc(active bool) SubscriptionDoc {
	d := SubscriptionDoc{ID: a.id, Subscriber: a.subscriber, Active: active, Payload: a.payload}
	if a.legacy {
		d.Type, d.Topic = "Subscription", a.match
	} else {
		d.Type, d.MatchType, d.Match = "subscription", a.matchType, a.match
	}
	return d
}

// subscriptionPath returns the path of a subscription:
// /.well-known/mercure/subscriptions/{topic}/{subscriber} for the widely
// deployed draft, .../{match_type}/{match}/{subscriber} for the current
// protocol, each variable percent-encoded once.
func subscriptionPath(legacy bool, t MatchType, match, subscriber string) string {
	p := Path + "/subscriptions/"
	if !legacy {
		p += string(t) + "/"
	}
	return p + escapeVar(match) + "/" + escapeVar(subscriber)
}

// registry holds the active subscriptions of this handler's streams.
type registry struct {
	mu   sync.Mutex
	subs map[string]*activeSub
}

func newRegistry() *registry { return &registry{subs: make(map[string]*activeSub)} }

func (g *registry) add(subs []*activeSub) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range subs {
		g.subs[s.id] = s
	}
}

func (g *registry) remove(subs []*activeSub) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range subs {
		delete(g.subs, s.id)
	}
}

// list returns the subscriptions keep accepts, ordered by id.
func (g *registry) list(keep func(*activeSub) bool) []*activeSub {
	g.mu.Lock()
	out := make([]*activeSub, 0, len(g.subs))
	for _, s := range g.subs {
		if keep(s) {
			out = append(out, s)
		}
	}
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// subscribed registers the subscriptions of a stream that opened and
// announces them.
func (h *Handler) subscribed(subs []subscription, acc *access) []*activeSub {
	subscriber := "urn:uuid:" + newUUID()
	out := make([]*activeSub, 0, len(subs))
	for _, s := range subs {
		a := &activeSub{legacy: s.legacy, matchType: s.sel.Type, match: s.sel.Value, subscriber: subscriber, payload: acc.payloadFor(s.sel.Value)}
		a.id = subscriptionPath(a.legacy, a.matchType, a.match, subscriber)
		out = append(out, a)
	}
	h.subs.add(out)
	for _, a := range out {
		h.announce(a, true)
	}
	return out
}

// unsubscribed removes the subscriptions of a stream that ended and
// announces it.
func (h *Handler) unsubscribed(subs []*activeSub) {
	h.subs.remove(subs)
	for _, a := range subs {
		h.announce(a, false)
	}
}

// announce publishes a subscription update: private, on the subscription's
// own topic; with the event type mercure for the current protocol's
// subscriptions.
func (h *Handler) announce(a *activeSub, active bool) {
	d := a.doc(active)
	typ := subscriptionEventType
	if a.legacy {
		d.Context, typ = jsonLDContext, ""
	}
	data, err := json.Marshal(d)
	if err != nil {
		h.log.Error("mercure: cannot encode a subscription update", "subscription", a.id, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	_, err = h.hub.Publish(ctx, sse.Event{Topics: []string{a.id}, Type: typ, Data: string(data), Private: true})
	if err != nil {
		level := h.log.Warn
		if errors.Is(err, sse.ErrHubClosed) {
			level = h.log.Debug
		}
		level("mercure: subscription update not published", "subscription", a.id, "active", active, "err", err)
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// serveSubscriptions serves the subscriptions API:
//
//	GET /.well-known/mercure/subscriptions                              every active subscription
//	GET /.well-known/mercure/subscriptions/{match_type}/{match}         those with this matcher
//	GET /.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber}
//	GET /.well-known/mercure/subscriptions/{topic}                      those with this topic selector (widely deployed draft)
//	GET /.well-known/mercure/subscriptions/{topic}/{subscriber}
//
// A first segment naming a matcher type (exact, urlpattern, or the July
// 2026 draft's Exact, URLPattern) starts the current protocol's form. The
// request needs a subscriber token allowing the requested path as a topic.
// The current protocol's answers are application/json and carry the hub's
// newest event id in the Link header (last-event-id) and the ETag; a
// request whose If-None-Match is that ETag is answered 304. q is the
// request's query.
func (h *Handler) serveSubscriptions(w http.ResponseWriter, r *http.Request, q url.Values) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		h.fail(w, http.StatusMethodNotAllowed, "", "the subscriptions API answers GET")
		return
	}
	if h.subs == nil {
		h.fail(w, http.StatusNotFound, "", "the subscriptions API is off; enable the active subscriptions (mercure.subscriptions: true)")
		return
	}
	sq, err := parseSubscriptionsPath(r.URL.EscapedPath())
	if err != nil {
		h.reject(w, err)
		return
	}
	if err := h.authorizeSubscriptions(r, q, sq.id); err != nil {
		h.reject(w, err)
		return
	}
	last := h.lastEventID() // before the snapshot: resuming from it misses nothing
	keep, single, err := sq.filter()
	if err != nil {
		h.reject(w, err)
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", "must-revalidate")
	if sq.legacy {
		hd.Set("Content-Type", "application/ld+json")
	} else {
		etag := `"` + etagValue(last) + `"`
		hd.Set("ETag", etag)
		hd.Set("Link", LinkHeader(h.hubURL(r).String(), last)+`; type="`+subscriptionEventType+`"; content-type="application/json"`)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		hd.Set("Content-Type", "application/json")
	}
	body, err := sq.body(h.subs.list(keep), single, last)
	if err != nil {
		h.reject(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(body)
}

// subscriptionsQuery is a request of the subscriptions API, read from its
// path: the segments after /subscriptions, percent-decoded.
type subscriptionsQuery struct {
	segs      []string
	matchType MatchType // the current protocol's match type segment
	modern    bool      // the path names a match type (the current protocol)
	legacy    bool      // the path has segments but no match type
	id        string    // the resource's IRI, as a topic for authorization
}

// parseSubscriptionsPath reads the request path (escaped) of the
// subscriptions API.
func parseSubscriptionsPath(escaped string) (subscriptionsQuery, error) {
	var sq subscriptionsQuery
	rest := strings.TrimPrefix(strings.TrimPrefix(escaped, Path+"/subscriptions"), "/")
	if rest != "" {
		for _, s := range strings.Split(rest, "/") {
			v, err := url.PathUnescape(s)
			if err != nil || v == "" {
				return sq, fails(http.StatusBadRequest, "", "malformed subscriptions path: each segment is one percent-encoded value")
			}
			sq.segs = append(sq.segs, v)
		}
	}
	if len(sq.segs) >= 2 {
		sq.matchType, sq.modern = matchTypeNamed(sq.segs[0], true)
		if sq.modern {
			sq.segs[0] = string(sq.matchType)
		}
	}
	sq.legacy = !sq.modern && len(sq.segs) > 0
	sq.id = Path + "/subscriptions"
	for _, s := range sq.segs {
		sq.id += "/" + escapeVar(s)
	}
	return sq, nil
}

// authorizeSubscriptions checks that the request's subscriber token
// allows id as a topic.
func (h *Handler) authorizeSubscriptions(r *http.Request, q url.Values, id string) error {
	tok, _ := requestToken(r, q)
	if tok == "" {
		return &sse.AuthError{Err: sse.ErrUnauthorized, Description: "the subscriptions API needs a subscriber token"}
	}
	acc, err := h.check(r.Context(), tok, jwt.Subscriber, h.hubURL(r).String())
	if err != nil {
		return err
	}
	if !acc.maySubscribe(id) {
		return &sse.AuthError{Err: sse.ErrForbidden, Code: "insufficient_scope", Description: fmt.Sprintf("the token does not allow subscribing to %s", quote(id))}
	}
	return nil
}

// filter returns which active subscriptions the request lists, and
// whether it names a single one.
func (sq subscriptionsQuery) filter() (keep func(*activeSub) bool, single bool, err error) {
	segs, n := sq.segs, len(sq.segs)
	switch {
	case n == 0:
		return func(*activeSub) bool { return true }, false, nil
	case sq.legacy && n == 1:
		return func(s *activeSub) bool { return s.legacy && s.match == segs[0] }, false, nil
	case sq.modern && n == 2:
		return func(s *activeSub) bool { return !s.legacy && s.matchType == sq.matchType && s.match == segs[1] }, false, nil
	case sq.modern && n == 3, sq.legacy && n == 2:
		want := subscriptionPath(sq.legacy, sq.matchType, segs[n-2], segs[n-1])
		return func(s *activeSub) bool { return s.id == want }, true, nil
	}
	return nil, false, fails(http.StatusNotFound, "", "no such subscriptions resource")
}

// body is the answer's document: the one subscription found when the
// request names one, else the collection.
func (sq subscriptionsQuery) body(found []*activeSub, single bool, last string) (any, error) {
	if single {
		if len(found) == 0 {
			return nil, fails(http.StatusNotFound, "", "no active subscription "+quote(sq.id))
		}
		d := found[0].doc(true)
		if sq.legacy {
			d.Context, d.LastEventID = jsonLDContext, last
		}
		return d, nil
	}
	docs := make([]SubscriptionDoc, 0, len(found))
	for _, s := range found {
		docs = append(docs, s.doc(true))
	}
	c := SubscriptionsDoc{ID: sq.id, Type: "subscriptions", LastEventID: last, Subscriptions: docs}
	if sq.legacy {
		c.Context, c.Type = jsonLDContext, "Subscriptions"
	}
	return c, nil
}

// etagValue turns an event id into the content of an entity tag: bytes
// outside etagc (RFC 9110 section 8.8.3), and %, are percent-encoded.
func etagValue(id string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < 0x21 || c == '"' || c == '%' || c == 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
