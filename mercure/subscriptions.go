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

// jsonLDContext is the @context of the subscription documents.
const jsonLDContext = "https://mercure.rocks/"

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

// SubscriptionDoc is the JSON-LD document describing a subscription, in
// subscription updates and the subscriptions API. Topic is set for
// subscriptions made with the topic parameter (the widely deployed draft),
// MatchType and Match for the newer draft's.
type SubscriptionDoc struct {
	Context     string          `json:"@context,omitempty"`
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Topic       string          `json:"topic,omitempty"`
	MatchType   MatchType       `json:"matchType,omitempty"`
	Match       string          `json:"match,omitempty"`
	Subscriber  string          `json:"subscriber"`
	Active      bool            `json:"active"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	LastEventID string          `json:"lastEventID,omitempty"`
}

// SubscriptionsDoc is the JSON-LD document of a collection of
// subscriptions.
type SubscriptionsDoc struct {
	Context       string            `json:"@context"`
	ID            string            `json:"id"`
	Type          string            `json:"type"`
	LastEventID   string            `json:"lastEventID"`
	Subscriptions []SubscriptionDoc `json:"subscriptions"`
}

func (a *activeSub) doc(active bool) SubscriptionDoc {
	d := SubscriptionDoc{ID: a.id, Type: "Subscription", Subscriber: a.subscriber, Active: active, Payload: a.payload}
	if a.legacy {
		d.Topic = a.match
	} else {
		d.MatchType, d.Match = a.matchType, a.match
	}
	return d
}

// subscriptionPath returns the path of a subscription:
// /.well-known/mercure/subscriptions/{topic}/{subscriber} for the widely
// deployed draft, .../{matchType}/{match}/{subscriber} for the newer one,
// each variable percent-encoded once.
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
// own topic.
func (h *Handler) announce(a *activeSub, active bool) {
	d := a.doc(active)
	d.Context = jsonLDContext
	data, err := json.Marshal(d)
	if err != nil {
		h.log.Error("mercure: cannot encode a subscription update", "subscription", a.id, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	_, err = h.hub.Publish(ctx, sse.Event{Topics: []string{a.id}, Data: string(data), Private: true})
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
//	GET /.well-known/mercure/subscriptions                            every active subscription
//	GET /.well-known/mercure/subscriptions/{topic}                    those with this topic selector
//	GET /.well-known/mercure/subscriptions/{topic}/{subscriber}       one
//	GET /.well-known/mercure/subscriptions/{matchType}/{match}        those with this matcher (newer draft)
//	GET /.well-known/mercure/subscriptions/{matchType}/{match}/{subscriber}
//
// A segment equal to a matcher type (Exact, URLPattern) starts the newer
// draft's form. The request needs a subscriber token allowing the requested
// path as a topic.
func (h *Handler) serveSubscriptions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		h.fail(w, http.StatusMethodNotAllowed, "", "the subscriptions API answers GET")
		return
	}
	if h.subs == nil {
		h.fail(w, http.StatusNotFound, "", "the subscriptions API is off; enable the active subscriptions (mercure.subscriptions: true)")
		return
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.EscapedPath(), Path+"/subscriptions"), "/")
	var segs []string
	if rest != "" {
		for _, s := range strings.Split(rest, "/") {
			v, err := url.PathUnescape(s)
			if err != nil || v == "" {
				h.fail(w, http.StatusBadRequest, "invalid_request", "malformed subscriptions path: each segment is one percent-encoded value")
				return
			}
			segs = append(segs, v)
		}
	}
	id := Path + "/subscriptions"
	for _, s := range segs {
		id += "/" + escapeVar(s)
	}
	tok, _ := requestToken(r)
	if tok == "" {
		h.refuse(w, &sse.AuthError{Err: sse.ErrUnauthorized, Description: "the subscriptions API needs a subscriber token"})
		return
	}
	acc, err := h.check(r.Context(), tok, jwt.Subscriber, h.hubURL(r).String())
	if err != nil {
		h.refuse(w, err)
		return
	}
	if !acc.maySubscribe(id) {
		h.refuse(w, &sse.AuthError{Err: sse.ErrForbidden, Code: "insufficient_scope", Description: fmt.Sprintf("the token does not allow subscribing to %s", quote(id))})
		return
	}
	last := h.lastEventID() // before the snapshot: resuming from it misses nothing
	modern := len(segs) >= 2 && (segs[0] == string(MatchExact) || segs[0] == string(MatchURLPattern))
	var keep func(*activeSub) bool
	single := false
	switch {
	case len(segs) == 0:
		keep = func(*activeSub) bool { return true }
	case len(segs) == 1:
		keep = func(s *activeSub) bool { return s.legacy && s.match == segs[0] }
	case modern && len(segs) == 2:
		keep = func(s *activeSub) bool { return !s.legacy && string(s.matchType) == segs[0] && s.match == segs[1] }
	case modern && len(segs) == 3, !modern && len(segs) == 2:
		want := subscriptionPath(!modern, MatchType(segs[0]), segs[len(segs)-2], segs[len(segs)-1])
		keep = func(s *activeSub) bool { return s.id == want }
		single = true
	default:
		h.fail(w, http.StatusNotFound, "", "no such subscriptions resource")
		return
	}
	found := h.subs.list(keep)
	hd := w.Header()
	hd.Set("Content-Type", "application/ld+json")
	hd.Set("Cache-Control", "must-revalidate")
	var body any
	if single {
		if len(found) == 0 {
			h.fail(w, http.StatusNotFound, "", "no active subscription "+quote(id))
			return
		}
		d := found[0].doc(true)
		d.Context, d.LastEventID = jsonLDContext, last
		body = d
	} else {
		docs := make([]SubscriptionDoc, 0, len(found))
		for _, s := range found {
			docs = append(docs, s.doc(true))
		}
		body = SubscriptionsDoc{Context: jsonLDContext, ID: id, Type: "Subscriptions", LastEventID: last, Subscriptions: docs}
	}
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(body)
}
