package mercure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/cors"
	"github.com/valksor/go-sse/jwt"
)

// Path is the hub's URL path, fixed by the protocol.
const Path = "/.well-known/mercure"

// Config configures a Handler.
type Config struct {
	// PublisherKeys verify publisher tokens (jwt.LoadKey reads an HMAC
	// secret or a "file:" PEM public key). Without one nobody can publish
	// over HTTP; Go code can still publish with the hub.
	PublisherKeys []jwt.Key
	// SubscriberKeys verify subscriber tokens; empty means PublisherKeys,
	// as with the reference hub's single JWT key.
	SubscriberKeys []jwt.Key
	// Anonymous lets subscribers without a token in; they receive public
	// updates only. The reference hub's default, false, answers them 401.
	Anonymous bool
	// Subscriptions enables the active subscriptions: an update on
	// /.well-known/mercure/subscriptions/... when a subscription starts and
	// ends, and the subscriptions API.
	Subscriptions bool
	// Issuer, when set, is the iss that at+jwt access tokens (the current
	// protocol) must carry.
	Issuer string
	// Audience, when set, must be in the aud of at+jwt access tokens: the
	// hub's resource identifier, usually its URL.
	Audience string
	// PublicURL is the hub's URL as clients reach it, such as
	// https://example.com/.well-known/mercure: it goes in Link headers and
	// resolves relative URL patterns and topics. Empty: the scheme and host
	// of each request, and Path.
	PublicURL string
	// AllowedOrigins are the origins whose pages may use the hub from
	// another origin (CORS), in the forms of sse.WithAllowedOrigins: an
	// exact origin, "https://*.example.com", "http://localhost:*" or "*".
	// Cookies (EventSource withCredentials) need an origin other than "*".
	AllowedOrigins []string
	// RequireExp refuses tokens without an expiry (no exp claim, or
	// "exp": null) with 401 invalid_token. Off by default: the reference
	// hub accepts them and many Mercure setups mint tokens without one;
	// recommended in production (see jwt.Config.RequireExp).
	RequireExp bool
	// MaxTTL, when positive, refuses tokens that expire more than MaxTTL
	// from now, and tokens without exp, with 401 invalid_token: a leaked
	// token is then useful for at most MaxTTL (see jwt.Config.MaxTTL).
	MaxTTL time.Duration
	// MaxBodyBytes bounds a publish request body (default
	// sse.DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Logger receives failures to publish subscription updates (default
	// slog.Default()).
	Logger *slog.Logger
	// Now returns the current time (default time.Now), for tests.
	Now func() time.Time
}

// Handler serves the Mercure protocol on an sse.Hub: GET subscribes, POST
// publishes, and GET below /subscriptions lists active subscriptions. It
// speaks the widely deployed draft (hub 0.x: topic selectors, the mercure
// claim, lastEventID) and the current protocol (match and
// match_urlpattern, at+jwt access tokens with authorization_details,
// last_event_id), as the package documentation details. Updates go through the hub, so Mercure subscribers and
// the hub's own streams share one history, transport and set of limits,
// and see each other's events where the topics match.
//
// Create it with New and mount it with Register. It is safe for concurrent
// use.
type Handler struct {
	hub    *sse.Hub
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	verify *verifier
	public *url.URL // parsed Config.PublicURL; nil: from each request
	subs   *registry
	cors   *cors.Policy
}

// New returns a Handler serving hub.
func New(hub *sse.Hub, c Config) (*Handler, error) {
	if hub == nil {
		return nil, errors.New("mercure: nil hub")
	}
	if len(c.SubscriberKeys) == 0 {
		c.SubscriberKeys = c.PublisherKeys
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = sse.DefaultMaxBodyBytes
	}
	for _, o := range c.AllowedOrigins {
		if o != "*" && !strings.Contains(o, "://") {
			return nil, fmt.Errorf("mercure: allowed origin %q must be \"*\" or look like scheme://host[:port]", o)
		}
	}
	h := &Handler{hub: hub, cfg: c, log: c.Logger, now: c.Now, verify: &verifier{issuer: c.Issuer, audience: c.Audience}}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.cors = &cors.Policy{Origins: c.AllowedOrigins, Expose: "Link, Last-Event-ID, Mercure-Last-Event-ID, WWW-Authenticate, Retry-After", Setting: "the allowed origins (cors_origins)", Logger: h.log}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || !u.IsAbs() || u.Host == "" {
			return nil, fmt.Errorf("mercure: public URL %q must be absolute, such as https://example.com%s", c.PublicURL, Path)
		}
		h.public = u
	}
	if len(c.PublisherKeys) > 0 || len(c.SubscriberKeys) > 0 {
		a, err := jwt.New(jwt.Config{PublisherKeys: c.PublisherKeys, SubscriberKeys: c.SubscriberKeys, RequireExp: c.RequireExp, MaxTTL: c.MaxTTL, Now: h.now, Logger: h.log})
		if err != nil {
			return nil, fmt.Errorf("mercure: %w", err)
		}
		h.verify.auth = a
	}
	if c.Subscriptions {
		h.subs = newRegistry()
	}
	return h, nil
}

// Register mounts the handler on mux at Path and below it.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle(Path, h)
	mux.Handle(Path+"/", h)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Add("Link", LinkHeader(h.hubURL(r).String(), ""))
	if !h.cors.Apply(w, r, func(w http.ResponseWriter, msg string) { h.fail(w, http.StatusForbidden, "", msg) }) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Path)
	if !ok || rest != "" && rest != "/" && rest != "/subscriptions" && !strings.HasPrefix(rest, "/subscriptions/") {
		http.NotFound(w, r)
		return
	}
	// A query is read whole or refused: a selector, a last event id or a
	// token lost to a malformed pair would silently change the request.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("the query string cannot be parsed (%v); URL-encode each value and separate parameters with &", err))
		return
	}
	if rest == "" || rest == "/" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.subscribe(w, r, q)
		case http.MethodPost:
			h.publish(w, r, q)
		default:
			hd.Set("Allow", "GET, HEAD, POST, OPTIONS")
			h.fail(w, http.StatusMethodNotAllowed, "", "the hub answers GET (subscribe) and POST (publish)")
		}
		return
	}
	h.serveSubscriptions(w, r, q)
}

// hubURL returns the hub's URL for r.
func (h *Handler) hubURL(r *http.Request) *url.URL {
	if h.public != nil {
		return h.public
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host, Path: Path}
}

// subscription is one selector of a subscribe request.
type subscription struct {
	sel    *Selector
	legacy bool // from the topic parameter
}

// matcherParams maps the matcher query parameters to matcher types: the
// current protocol's and the July 2026 draft's spellings.
var matcherParams = map[string]MatchType{
	"match":            MatchExact,
	"matchExact":       MatchExact,
	"match_exact":      MatchExact,
	"matchURLPattern":  MatchURLPattern,
	"match_urlpattern": MatchURLPattern,
}

// subscribe serves GET: an event stream of the updates matching the
// request's selectors (q is the request's query).
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request, q url.Values) {
	base := h.hubURL(r).String()
	subs, problem := h.selectors(q, base)
	if problem != "" {
		h.fail(w, http.StatusBadRequest, "invalid_request", problem)
		return
	}
	lastID, askedFrom, problem := requestLastEventID(r, q)
	if problem != "" {
		h.fail(w, http.StatusBadRequest, "invalid_request", problem)
		return
	}
	var acc *access
	tok, src := requestToken(r, q)
	switch {
	case tok != "":
		var err error
		if acc, err = h.check(r.Context(), tok, jwt.Subscriber, base); err != nil {
			h.refuse(w, err)
			return
		}
	case !h.cfg.Anonymous:
		h.refuse(w, &sse.AuthError{Err: sse.ErrUnauthorized, Description: "this hub needs a subscriber token: send Authorization: Bearer, the " + CookieName + " cookie, or ?" + AccessTokenParam + "="})
		return
	}
	sr := streamRequest(subs, acc, lastID)
	if r.Method == http.MethodHead {
		h.hub.ServeStream(w, r, sr)
		return
	}

	// The stream's head carries Last-Event-ID, and its lifetime is an
	// active subscription. The hub may hand the stream off from this
	// handler, so Closed can run on another goroutine; the hub orders it
	// after Opened.
	var active []*activeSub
	sr.Opened = func(hd http.Header, _ string, complete bool) {
		if src == fromQuery {
			hd.Set("Cache-Control", "private, no-cache") // RFC 6750 section 2.3
		}
		if askedFrom {
			// The id of the event before the first one sent: the requested
			// one when the history holds everything since, else earliest
			// (the replay then starts at the oldest retained update; the
			// requested id is older than the history, or unknown). An
			// empty id starts from now, as earliest with nothing retained.
			resumed := lastID
			if !complete || lastID == "" {
				resumed = sse.EarliestID
			}
			hd.Set("Last-Event-ID", resumed)         // the widely deployed draft
			hd.Set("Mercure-Last-Event-ID", resumed) // the current protocol
		}
		if h.subs != nil {
			active = h.subscribed(subs, acc)
		}
	}
	sr.Closed = func(string, error) {
		if len(active) > 0 {
			h.unsubscribed(active)
		}
	}
	h.hub.ServeStream(w, r, sr)
}

// selectors reads the selectors of a subscribe request, in a stable order,
// without duplicates. It returns a description of the problem for a bad
// request. There may be at most as many as the hub's max_topics, counted
// before anything is compiled, as the hub counts a stream's topics.
func (h *Handler) selectors(q url.Values, base string) ([]subscription, string) {
	names := make([]string, 0, len(q))
	count := 0
	for name, values := range q {
		_, isMatch := matcherParams[name]
		switch {
		case isMatch, name == "topic":
			count += len(values)
			names = append(names, name)
		case strings.HasPrefix(strings.ToLower(name), "match"):
			return nil, fmt.Sprintf("unknown matcher parameter %s; use match or match_urlpattern (or topic)", quote(name))
		}
	}
	if max := h.hub.MaxTopics(); count > max {
		return nil, fmt.Sprintf("%d topic selectors; a subscription may have at most %d (max_topics)", count, max)
	}
	slices.Sort(names)
	var subs []subscription
	seen := make(map[string]bool, count)
	for _, name := range names {
		t, legacy := matcherParams[name], name == "topic"
		if legacy {
			t = MatchTopic
		}
		for _, v := range q[name] {
			key := string(t) + "\x00" + v
			if seen[key] {
				continue
			}
			seen[key] = true
			sel, err := h.verify.cache.get(t, v, base)
			if err != nil {
				return nil, err.Error()
			}
			subs = append(subs, subscription{sel: sel, legacy: legacy})
		}
	}
	if len(subs) == 0 {
		return nil, "missing topic selector: add ?topic=<selector> (or ?match=<topic>, ?match_urlpattern=<pattern>)"
	}
	return subs, ""
}

// requestLastEventID returns the id a subscriber resumes after: the
// Last-Event-ID header, else the last_event_id (current protocol),
// lastEventID (widely deployed draft) or Last-Event-ID (older drafts)
// parameter of q, the request's query. asked reports whether the request had one of them, even
// empty: the answer then tells where the replay starts.
func requestLastEventID(r *http.Request, q url.Values) (id string, asked bool, problem string) {
	_, asked = r.Header["Last-Event-Id"]
	id = r.Header.Get("Last-Event-ID")
	for _, p := range []string{"last_event_id", "lastEventID", "Last-Event-ID"} {
		if _, ok := q[p]; ok {
			asked = true
			if id == "" {
				id = q.Get(p)
			}
		}
	}
	if id != "" && (len(id) > 256 || strings.ContainsAny(id, "\r\n\x00") || !utf8.ValidString(id)) {
		return "", asked, "the last event id is over 256 bytes, has a line break or NUL, or is not UTF-8"
	}
	return id, asked, ""
}

// streamRequest is the hub stream of a subscription: exact selectors as
// topics, the others as a match function, and what the token lets it see.
// It is bare: Mercure subscribers receive updates and comment heartbeats,
// as from the reference hub, since clients built on fetch take every event
// for an update.
func streamRequest(subs []subscription, acc *access, lastID string) sse.StreamRequest {
	sr := sse.StreamRequest{LastEventID: lastID, Bare: true}
	var patterns []*Selector
	for _, s := range subs {
		if s.sel.exactOnly() {
			sr.Topics = append(sr.Topics, s.sel.Value)
		} else {
			patterns = append(patterns, s.sel)
		}
	}
	if len(patterns) > 0 {
		sr.Match = func(topic string) bool {
			for _, p := range patterns {
				if p.Match(topic) {
					return true
				}
			}
			return false
		}
	}
	if acc != nil {
		sr.Grant = &sse.Grant{Expires: acc.expires}
		if slices.ContainsFunc(acc.rules, func(r rule) bool { return r.subscribe }) {
			sr.Grant.Private = acc.maySubscribe
		}
	}
	return sr
}

// check verifies a token, refusing every token when no key is configured.
func (h *Handler) check(ctx context.Context, tok string, role jwt.Role, base string) (*access, error) {
	if h.verify.auth == nil {
		return nil, invalidToken("this hub has no %s key: configure mercure.publisher_key", role)
	}
	return h.verify.verify(ctx, tok, role, base)
}

// publish serves POST: a form with topic (repeatable: the first is
// canonical, the others alternates), data, private, id, type and retry
// (q is the request's query). Its steps: authorize the publisher, read the
// form, turn it into an event, check the token allows that event, publish.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request, q url.Values) {
	acc, base, err := h.authorizePublish(r, q)
	if err != nil {
		h.reject(w, err)
		return
	}
	form, err := h.readUpdateForm(w, r)
	if err != nil {
		h.reject(w, err)
		return
	}
	e, err := parseUpdate(form, base, h.hub.MaxTopics())
	if err != nil {
		h.reject(w, err)
		return
	}
	if why := acc.mayPublish(e.Topics, e.Private); why != "" {
		h.refuse(w, &sse.AuthError{Err: sse.ErrForbidden, Code: "insufficient_scope", Description: why})
		return
	}
	id, err := h.hub.Publish(r.Context(), e)
	if err != nil {
		status := publishStatus(err)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "2")
		}
		h.fail(w, status, "", err.Error())
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(id))
}

// failure is a request refused with an HTTP status, an OAuth error code
// (empty for none) and a description for the client.
type failure struct {
	status int
	code   string
	desc   string
}

func (f *failure) Error() string { return f.desc }

// fails returns a failure as an error.
func fails(status int, code, desc string) error {
	return &failure{status: status, code: code, desc: desc}
}

// reject answers err: a failure with its own status, an *sse.AuthError as
// refuse does.
func (h *Handler) reject(w http.ResponseWriter, err error) {
	var f *failure
	if errors.As(err, &f) {
		h.fail(w, f.status, f.code, f.desc)
		return
	}
	h.refuse(w, err)
}

// authorizePublish checks the publisher's token (from the header, the
// query or a cookie, which must come from an allowed origin) and returns
// what it allows and the hub's URL the token's topics are relative to.
func (h *Handler) authorizePublish(r *http.Request, q url.Values) (*access, string, error) {
	tok, src := requestToken(r, q)
	if tok == "" {
		return nil, "", &sse.AuthError{Err: sse.ErrUnauthorized, Description: "publishing needs a publisher token: send Authorization: Bearer <token>"}
	}
	if src == fromCookie && !h.sameOrAllowedOrigin(r) {
		return nil, "", fails(http.StatusForbidden, "", "a publish request authorized by cookie must come from this hub's origin or an allowed origin")
	}
	base := h.hubURL(r).String()
	acc, err := h.check(r.Context(), tok, jwt.Publisher, base)
	return acc, base, err
}

// readUpdateForm reads the body of a publish request, URL-encoded (the
// default when no type is given) or multipart, up to the hub's limit.
func (h *Handler) readUpdateForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	var err error
	switch media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media {
	case "multipart/form-data":
		err = r.ParseMultipartForm(1 << 20)
	case "application/x-www-form-urlencoded", "":
		if media == "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		err = r.ParseForm()
	default:
		return nil, fails(http.StatusUnsupportedMediaType, "invalid_request", fmt.Sprintf("send the update as application/x-www-form-urlencoded, not %s", quote(media)))
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, fails(http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the update is over the limit of %d bytes", tooBig.Limit))
	case err != nil:
		return nil, fails(http.StatusBadRequest, "invalid_request", "malformed form: "+err.Error())
	}
	return r.PostForm, nil
}

// parseUpdate turns a publish form into an event, checking its topics
// (at most maxTopics, none in the hub's reserved namespace under base),
// id, type and retry.
func parseUpdate(f url.Values, base string, maxTopics int) (sse.Event, error) {
	topics := f["topic"]
	if len(topics) == 0 {
		return sse.Event{}, fails(http.StatusBadRequest, "invalid_request", "missing topic field")
	}
	// Counted before any topic is checked or authorized, as the hub
	// counts an event's topics.
	if len(topics) > maxTopics {
		return sse.Event{}, fails(http.StatusBadRequest, "invalid_request", fmt.Sprintf("%d topics; an update may have at most %d (max_topics)", len(topics), maxTopics))
	}
	for _, t := range topics {
		if err := checkPublishedTopic(t, base); err != nil {
			return sse.Event{}, err
		}
	}
	_, private := f["private"] // present: private, whatever the value
	e := sse.Event{ID: f.Get("id"), Type: f.Get("type"), Data: f.Get("data"), Topics: topics, Private: private}
	if problem := checkUpdateFields(e.ID, e.Type); problem != "" {
		return sse.Event{}, fails(http.StatusBadRequest, "", problem)
	}
	if v := f.Get("retry"); v != "" {
		ms, err := strconv.ParseUint(v, 10, 31)
		if err != nil || v[0] == '+' {
			return sse.Event{}, fails(http.StatusBadRequest, "invalid_request", fmt.Sprintf("retry %s must be a number of milliseconds", quote(v)))
		}
		e.Retry = time.Duration(ms) * time.Millisecond
	}
	return e, nil
}

// checkPublishedTopic checks one topic of an update: a valid selector, not
// the bare wildcard, and outside the hub's reserved namespace.
func checkPublishedTopic(t, base string) error {
	if err := checkSelector(t); err != nil {
		return fails(http.StatusBadRequest, "", strings.Replace(err.Error(), "topic selector", "topic", 1))
	}
	if t == "*" {
		return fails(http.StatusBadRequest, "", "the topic * is reserved for the wildcard matcher: no subscriber could select it alone")
	}
	if reserved(t, base) {
		return fails(http.StatusBadRequest, "", fmt.Sprintf("topic %s is in the hub's reserved namespace %s, where only the hub publishes", quote(t), Path))
	}
	return nil
}

// publishStatus is the HTTP status of an error from Hub.Publish.
func publishStatus(err error) int {
	switch {
	case errors.Is(err, sse.ErrInvalidEvent), errors.Is(err, sse.ErrInvalidTopic):
		return http.StatusBadRequest
	case errors.Is(err, sse.ErrDuplicateID):
		return http.StatusConflict
	case errors.Is(err, sse.ErrHubClosed), errors.Is(err, sse.ErrTransportClosed), errors.Is(err, sse.ErrTransportUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// checkUpdateFields checks a published update's id and type: no control
// or invisible format character, an id that neither starts with # (the
// hub's own ids) nor is earliest, and a type other than mercure (the hub's
// subscription events). It returns a description of the problem, or "".
func checkUpdateFields(id, typ string) string {
	switch {
	case !protocolString(id):
		return "the id contains a control or invisible format character"
	case strings.HasPrefix(id, "#"):
		return "an id starting with # is reserved for the ids the hub generates"
	case id == sse.EarliestID:
		return "the id earliest is reserved: it asks for the whole history"
	case !protocolString(typ):
		return "the type contains a control or invisible format character"
	case typ == subscriptionEventType:
		return "the type mercure is reserved for the hub's subscription events"
	}
	return ""
}

// reserved reports whether topic, resolved against the hub's URL, is in
// the hub's namespace, where only the hub publishes (subscription updates).
func reserved(topic, base string) bool {
	u, err := url.Parse(topic)
	if err != nil {
		return strings.HasPrefix(topic, Path)
	}
	if b, err := url.Parse(base); err == nil {
		u = b.ResolveReference(u)
	}
	p := u.Path
	return p == Path || strings.HasPrefix(p, Path+"/")
}

// lastEventID returns the id of the newest update the hub dispatched (from
// this endpoint, the native one or another server sharing the transport),
// or "earliest" before the first.
func (h *Handler) lastEventID() string {
	if id := h.hub.LastEventID(); id != "" {
		return id
	}
	return sse.EarliestID
}

// refuse answers an authorization failure with its status and an RFC 6750
// challenge: 401 without an error code when there was no token, 401
// invalid_token for a bad token, 403 insufficient_scope.
func (h *Handler) refuse(w http.ResponseWriter, err error) {
	var ae *sse.AuthError
	if !errors.As(err, &ae) {
		h.fail(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	status := http.StatusUnauthorized
	if errors.Is(ae.Err, sse.ErrForbidden) {
		status = http.StatusForbidden
	}
	h.fail(w, status, ae.Code, ae.Description)
}

// fail answers status with desc as plain text. Answers 400, 401 and 403
// carry a WWW-Authenticate challenge with the RFC 6750 code, if any.
func (h *Handler) fail(w http.ResponseWriter, status int, code, desc string) {
	hd := w.Header()
	if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusBadRequest && code != "" {
		challenge := `Bearer realm="mercure"`
		if code != "" {
			challenge += fmt.Sprintf(`, error=%q, error_description=%q`, code, headerSafe(desc))
		}
		hd.Set("WWW-Authenticate", challenge)
	}
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(desc + "\n"))
}

// headerSafe keeps the printable ASCII of s, without quotes and
// backslashes, for a quoted header parameter.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}

// sameOrAllowedOrigin reports whether a request comes from the hub's own
// origin or an allowed one, by its Origin header or else its Referer.
func (h *Handler) sameOrAllowedOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		ref, err := url.Parse(r.Header.Get("Referer"))
		if err != nil || ref.Host == "" {
			return false
		}
		origin = ref.Scheme + "://" + ref.Host
	}
	hub := h.hubURL(r)
	if strings.EqualFold(origin, hub.Scheme+"://"+hub.Host) || strings.EqualFold(origin, "http://"+r.Host) || strings.EqualFold(origin, "https://"+r.Host) {
		return true
	}
	ok, wildcard := cors.Allowed(h.cfg.AllowedOrigins, origin)
	return ok && !wildcard
}
