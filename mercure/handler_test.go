package mercure_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/mercure"
)

// TestMercureSelectors subscribes with each selector type and publishes an update
// the selector does not match, then one it does: the first update the
// stream receives is the matching one, so the other was not delivered.
func TestMercureSelectors(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	pub := publisher(t)
	tests := []struct {
		name, param, selector, miss, hit string
	}{
		{"exact topic", "topic", "https://example.com/books/1", "https://example.com/books/2", "https://example.com/books/1"},
		{"URI template", "topic", "https://example.com/books/{id}", "https://example.com/books/1/reviews", "https://example.com/books/3"},
		{"URI template reserved", "topic", "https://example.com/{+path}", "https://other.example/x", "https://example.com/a/b"},
		{"topic *", "topic", "*", "", "anything at all"},
		{"match", "match", "https://example.com/books/1", "https://example.com/books/{id}", "https://example.com/books/1"},
		{"match *", "match", "*", "", "urn:isbn:123"},
		{"match_urlpattern", "match_urlpattern", "https://example.com/books/:id", "https://example.com/books/1/reviews", "https://example.com/books/5"},
		{"matchURLPattern", "matchURLPattern", "https://example.com/books/:id(\\d+)", "https://example.com/books/x", "https://example.com/books/6"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.subscribe(e.hubURL(url.Values{tt.param: {tt.selector}}), nil)
			if tt.miss != "" {
				e.mustPublish(pub, form("topic", tt.miss, "data", "miss"))
			}
			data := fmt.Sprintf("line one %d\nline two\n\nline four", i)
			id := e.mustPublish(pub, form("topic", tt.hit, "data", data, "type", "book", "retry", "1500"))
			ev := s.next()
			if ev.ID != id || ev.Data != data || ev.Type != "book" || ev.Retry != 1500*time.Millisecond {
				t.Fatalf("got %+v, want id %q, type book, retry 1.5s and data %q", ev, id, data)
			}
		})
	}
}

// TestMercurePublisherID keeps the publisher's id as the SSE id; alternate topics
// reach subscribers of any of them; a plain update without data is sent
// with empty data.
func TestMercurePublisherID(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	s := e.subscribe(e.hubURL(url.Values{"topic": {"https://example.com/alternate"}}), nil)
	id := e.mustPublish(publisher(t), form("topic", "https://example.com/canonical", "topic", "https://example.com/alternate", "id", "urn:uuid:7b0b9c1c-1d4d-4b8e-8c8f-3f1b0f8e1a11"))
	if id != "urn:uuid:7b0b9c1c-1d4d-4b8e-8c8f-3f1b0f8e1a11" {
		t.Fatalf("publish answered %q, want the publisher's id", id)
	}
	if ev := s.next(); ev.ID != id || ev.Data != "" || ev.Type != "message" {
		t.Fatalf("got %+v", ev)
	}
}

// TestMercureTokenSources reads a subscriber token from each place: a private
// update reaches the stream, a private update on another topic does not.
func TestMercureTokenSources(t *testing.T) {
	e := newEnv(t, mercure.Config{})
	sub := legacyToken(t, map[string]any{"subscribe": []string{"https://example.com/private/{id}"}})
	pub := publisher(t)
	sel := url.Values{"topic": {"https://example.com/private/{id}", "https://example.com/secret"}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for k, v := range sel {
			q[k] = v
		}
		q.Set(k, v)
		return q
	}
	tests := []struct {
		name   string
		url    string
		header http.Header
	}{
		{"header", e.hubURL(sel), bearer(sub)},
		{"mercureAuthorization cookie", e.hubURL(sel), http.Header{"Cookie": {mercure.CookieName + "=" + sub}}},
		{"mercureAccessToken cookie", e.hubURL(sel), http.Header{"Cookie": {mercure.AccessTokenCookie + "=" + sub}}},
		{"authorization query", e.hubURL(with(mercure.QueryParam, sub)), nil},
		{"access_token query", e.hubURL(with(mercure.AccessTokenParam, sub)), nil},
		{"header wins over a bad cookie", e.hubURL(sel), http.Header{"Authorization": {"Bearer " + sub}, "Cookie": {mercure.CookieName + "=bad"}}},
		{"Basic header is not a bearer token", e.hubURL(with(mercure.QueryParam, sub)), http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.subscribe(tt.url, tt.header)
			inQuery := strings.Contains(tt.url, mercure.QueryParam+"=") || strings.Contains(tt.url, mercure.AccessTokenParam+"=")
			if cc := s.resp.Header.Get("Cache-Control"); inQuery != strings.Contains(cc, "private") {
				t.Errorf("Cache-Control = %q; a token in the query needs private", cc)
			}
			e.mustPublish(pub, form("topic", "https://example.com/secret", "data", "not for you", "private", "on"))
			id := e.mustPublish(pub, form("topic", "https://example.com/private/1", "data", "for you", "private", ""))
			if ev := s.next(); ev.ID != id || ev.Data != "for you" {
				t.Fatalf("got %+v, want the private update %s", ev, id)
			}
		})
	}
}

// TestMercureAnonymous: without a token a subscriber is refused unless anonymous
// subscribers are allowed, and then it receives public updates only.
func TestMercureAnonymous(t *testing.T) {
	closed := newEnv(t, mercure.Config{})
	r := closed.do(http.MethodGet, closed.hubURL(url.Values{"topic": {"x"}}), nil, nil)
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer realm="mercure"` {
		t.Fatalf("anonymous subscriber: %d %q, want 401 and a challenge without an error code", r.status, r.header.Get("WWW-Authenticate"))
	}

	e := newEnv(t, mercure.Config{Anonymous: true})
	s := e.subscribe(e.hubURL(url.Values{"topic": {"*"}}), nil)
	e.mustPublish(publisher(t), form("topic", "news", "data", "private", "private", "1"))
	id := e.mustPublish(publisher(t), form("topic", "news", "data", "public"))
	if ev := s.next(); ev.ID != id {
		t.Fatalf("anonymous subscriber got %+v, want the public update only", ev)
	}
}

// TestMercureBadTokens refuses malformed, forged, expired and unsigned tokens
// with 401 invalid_token, on both endpoints.
func TestMercureBadTokens(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	forged, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{"mercure": map[string]any{"publish": []string{"*"}}}).SignedString([]byte("another secret that is long enough!!"))
	unsigned, _ := gojwt.NewWithClaims(gojwt.SigningMethodNone, gojwt.MapClaims{"mercure": map[string]any{"publish": []string{"*"}}}).SignedString(gojwt.UnsafeAllowNoneSignatureType)
	tokens := map[string]string{
		"garbage":   "not.a.jwt",
		"forged":    forged,
		"expired":   sign(t, "", gojwt.MapClaims{"exp": time.Now().Add(-time.Minute).Unix(), "mercure": map[string]any{"publish": []string{"*"}}}),
		"not yet":   sign(t, "", gojwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix(), "mercure": map[string]any{"publish": []string{"*"}}}),
		"alg none":  unsigned,
		"bad claim": sign(t, "", gojwt.MapClaims{"mercure": map[string]any{"publish": 42}}),
	}
	for name, tok := range tokens {
		for _, r := range []response{
			e.publish(tok, form("topic", "x", "data", "y")),
			e.do(http.MethodGet, e.hubURL(url.Values{"topic": {"x"}}), nil, bearer(tok)),
		} {
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s: %d %s, want 401", name, r.status, r.body)
				continue
			}
			mustContain(t, name+": WWW-Authenticate", r.header.Get("WWW-Authenticate"), `Bearer realm="mercure", error="invalid_token", error_description=`)
		}
	}
	// Publishing without any token.
	r := e.publish("", form("topic", "x"))
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer realm="mercure"` {
		t.Errorf("publish without a token: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
}

// TestMercurePublishScope checks the mercure.publish claim: under-scoped publishes
// are refused with 403 and nothing is delivered.
func TestMercurePublishScope(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	s := e.subscribe(e.hubURL(url.Values{"topic": {"*"}}), nil)
	books := legacyToken(t, map[string]any{"publish": []string{"https://example.com/books/{id}"}})
	empty := legacyToken(t, map[string]any{"publish": []string{}})
	none := legacyToken(t, map[string]any{"subscribe": []string{"*"}})
	refusals := []struct {
		name, token string
		form        url.Values
	}{
		{"topic outside the claim", books, form("topic", "https://example.com/authors/1")},
		{"one alternate outside the claim", books, form("topic", "https://example.com/books/1", "topic", "https://example.com/authors/1")},
		{"empty claim, private update", empty, form("topic", "https://example.com/books/1", "private", "on")},
		{"no publish claim", none, form("topic", "https://example.com/books/1")},
	}
	for _, tt := range refusals {
		r := e.publish(tt.token, tt.form)
		if r.status != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", tt.name, r.status, r.body)
			continue
		}
		mustContain(t, tt.name+": WWW-Authenticate", r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	}
	// An empty publish claim allows public updates to any topic.
	id := e.mustPublish(empty, form("topic", "https://example.com/anything", "data", "public"))
	if ev := s.next(); ev.ID != id {
		t.Fatalf("got %+v, want %s: a refused update was delivered", ev, id)
	}
	id = e.mustPublish(books, form("topic", "https://example.com/books/9", "data", "in scope", "private", "on"))
	if id == "" {
		t.Fatal("no id")
	}
}

// TestMercurePublishRequests checks the validation of publish and subscribe
// requests.
func TestMercurePublishRequests(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true, MaxBodyBytes: 1024})
	pub := publisher(t)
	bad := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"no topic", form("data", "x"), http.StatusBadRequest},
		{"retry not a number", form("topic", "x", "retry", "soon"), http.StatusBadRequest},
		{"retry negative", form("topic", "x", "retry", "-1"), http.StatusBadRequest},
		{"id with a line break", form("topic", "x", "id", "a\nb"), http.StatusBadRequest},
		{"type with a line break", form("topic", "x", "type", "a\rb"), http.StatusBadRequest},
		{"topic with a control character", form("topic", "a\x01b"), http.StatusBadRequest},
		{"topic with a zero-width space", form("topic", "https://example.com/a\u200bb"), http.StatusBadRequest},
		{"topic *", form("topic", "*"), http.StatusBadRequest},
		{"reserved namespace", form("topic", "/.well-known/mercure/subscriptions/x/y"), http.StatusBadRequest},
		{"reserved namespace, absolute", form("topic", "https://hub.example/.well-known/mercure/subscriptions/x/y"), http.StatusBadRequest},
		{"reserved namespace, encoded", form("topic", "/.well-known/%6Dercure/subscriptions/x/y"), http.StatusBadRequest},
		{"reserved namespace, dot segments", form("topic", "/.well-known/mercure/../mercure/subscriptions/x"), http.StatusBadRequest},
		{"reserved namespace, alternate topic", form("topic", "x", "topic", "/.well-known/mercure"), http.StatusBadRequest},
		{"type mercure", form("topic", "x", "type", "mercure"), http.StatusBadRequest},
		{"id earliest", form("topic", "x", "id", "earliest"), http.StatusBadRequest},
		{"id starting with #", form("topic", "x", "id", "#42"), http.StatusBadRequest},
		{"id with a bidirectional control", form("topic", "x", "id", "a\u202eb"), http.StatusBadRequest},
		{"too large", form("topic", "x", "data", strings.Repeat("x", 2048)), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range bad {
		if r := e.publish(pub, tt.form); r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.status, r.body, tt.status)
		}
	}
	r := e.do(http.MethodPost, e.hubURL(nil), strings.NewReader(`{"topic":"x"}`), http.Header{"Authorization": {"Bearer " + pub}, "Content-Type": {"application/json"}})
	if r.status != http.StatusUnsupportedMediaType {
		t.Errorf("JSON body: %d", r.status)
	}
	if r := e.do(http.MethodPut, e.hubURL(nil), nil, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", r.status)
	}
	for name, q := range map[string]url.Values{
		"no selector":              {"lastEventID": {"earliest"}},
		"unknown matcher":          {"matchRegexp": {"x"}},
		"unknown matcher, snake":   {"match_regexp": {"x"}},
		"bad URL pattern":          {"match_urlpattern": {"https://example.com/("}},
		"control character":        {"match": {"a\x7fb"}},
		"format character":         {"match": {"a\u200bb"}},
		"selector over 4096 bytes": {"match": {strings.Repeat("a", 4097)}},
		"last event id line break": {"topic": {"x"}, "lastEventID": {"a\nb"}},
	} {
		r := e.do(http.MethodGet, e.hubURL(q), nil, nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	for name, q := range map[string]url.Values{
		"selector of 4096 bytes": {"match": {strings.Repeat("a", 4096)}},
		"100 selectors":          {"match": hundred()},
	} {
		r := e.do(http.MethodHead, e.hubURL(q), nil, nil)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %s, want 200", name, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, e.hubURL(url.Values{"match": append(hundred(), "one more")}), nil, nil); r.status != http.StatusBadRequest {
		t.Errorf("101 selectors: %d %s, want 400", r.status, r.body)
	}
	// A 400 for an unknown matcher carries invalid_request.
	r = e.do(http.MethodGet, e.hubURL(url.Values{"matchFoo": {"x"}}), nil, nil)
	mustContain(t, "WWW-Authenticate", r.header.Get("WWW-Authenticate"), `error="invalid_request"`)
}

// hundred returns 100 distinct selectors.
func hundred() []string {
	var l []string
	for i := range 100 {
		l = append(l, fmt.Sprint("https://example.com/", i))
	}
	return l
}

// TestMercureResume replays the history after Last-Event-ID (header, lastEventID,
// last_event_id) and from earliest, and tells where the replay starts in
// the Last-Event-ID and Mercure-Last-Event-ID response headers: the id of
// the event before the first one sent, or earliest when there is none
// (earliest asked, an unknown or discarded id, an empty id).
func TestMercureResume(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	pub := publisher(t)
	var ids []string
	for i := range 3 {
		ids = append(ids, e.mustPublish(pub, form("topic", "https://example.com/r", "data", fmt.Sprint(i))))
	}
	e.mustPublish(pub, form("topic", "https://example.com/other", "data", "other"))
	sel := url.Values{"topic": {"https://example.com/r"}}
	with := func(k, v string) url.Values {
		q := url.Values{"topic": sel["topic"]}
		q.Set(k, v)
		return q
	}
	const (
		everything = -1 // earliest
		unknown    = -2 // an id the hub never sent: answered like earliest
		fromNow    = -3 // an empty id
	)
	// Each case asks for the updates after ids[after]; the live update of
	// each case joins ids.
	tests := []struct {
		name  string
		after int
		ask   func(id string) (string, http.Header)
	}{
		{"Last-Event-ID header", 0, func(id string) (string, http.Header) { return e.hubURL(sel), http.Header{"Last-Event-Id": {id}} }},
		{"lastEventID", 1, func(id string) (string, http.Header) { return e.hubURL(with("lastEventID", id)), nil }},
		{"last_event_id", 0, func(id string) (string, http.Header) { return e.hubURL(with("last_event_id", id)), nil }},
		{"header wins", 2, func(id string) (string, http.Header) {
			return e.hubURL(with("lastEventID", ids[0])), http.Header{"Last-Event-Id": {id}}
		}},
		{"earliest", everything, func(string) (string, http.Header) { return e.hubURL(with("lastEventID", "earliest")), nil }},
		{"unknown id", unknown, func(string) (string, http.Header) { return e.hubURL(with("last_event_id", "urn:uuid:unknown")), nil }},
		{"empty id", fromNow, func(string) (string, http.Header) { return e.hubURL(with("last_event_id", "")), nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var replay []string
			resume := sse.EarliestID
			switch tt.after {
			case everything, unknown: // an unknown id gets everything retained, as earliest does
				replay = ids
			case fromNow:
			default:
				replay, resume = ids[tt.after+1:], ids[tt.after]
			}
			u, h := tt.ask(resume)
			s := e.subscribe(u, h)
			for _, name := range []string{"Last-Event-ID", "Mercure-Last-Event-ID"} {
				if got := s.resp.Header.Get(name); got != resume {
					t.Errorf("%s = %q, want %q", name, got, resume)
				}
			}
			live := e.mustPublish(pub, form("topic", "https://example.com/r", "data", "live"))
			ids = append(ids, live)
			var got []string
			for ev := s.next(); ev.ID != live; ev = s.next() {
				got = append(got, ev.ID)
			}
			if !slices.Equal(got, replay) {
				t.Fatalf("replayed %v, want %v", got, replay)
			}
		})
	}
	// Without a requested id there is no Last-Event-ID header.
	s := e.subscribe(e.hubURL(sel), nil)
	for _, name := range []string{"Last-Event-Id", "Mercure-Last-Event-Id"} {
		if v, ok := s.resp.Header[name]; ok {
			t.Errorf("%s %q without a requested id", name, v)
		}
	}
}

// TestMercurePrivateReplay re-checks replayed private updates against the token.
func TestMercurePrivateReplay(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	pub := publisher(t)
	e.mustPublish(pub, form("topic", "https://example.com/a", "data", "a", "private", "on"))
	b := e.mustPublish(pub, form("topic", "https://example.com/b", "data", "b", "private", "on"))
	c := e.mustPublish(pub, form("topic", "https://example.com/c", "data", "c"))
	sub := legacyToken(t, map[string]any{"subscribe": []string{"https://example.com/b"}})
	s := e.subscribe(e.hubURL(url.Values{"topic": {"*"}, "lastEventID": {"earliest"}}), bearer(sub))
	for _, want := range []string{b, c} {
		if ev := s.next(); ev.ID != want {
			t.Fatalf("replayed %+v, want %s", ev, want)
		}
	}
	anon := e.subscribe(e.hubURL(url.Values{"topic": {"*"}, "lastEventID": {"earliest"}}), nil)
	if ev := anon.next(); ev.ID != c {
		t.Fatalf("anonymous replay %+v, want %s only", ev, c)
	}
}

// TestMercureTokenExpiry closes a stream when its token expires.
func TestMercureTokenExpiry(t *testing.T) {
	e := newEnv(t, mercure.Config{})
	tok := sign(t, "", gojwt.MapClaims{"exp": time.Now().Add(1500*time.Millisecond).Unix() + 1, "mercure": map[string]any{"subscribe": []string{"*"}}})
	s := e.subscribe(e.hubURL(url.Values{"topic": {"x"}}), bearer(tok))
	s.ended()
}

// TestMercureCrossVisibility publishes on each endpoint and receives on the other.
func TestMercureCrossVisibility(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	native := func(topic string) *stream {
		return e.subscribe(e.srv.URL+"/sse?topic="+url.QueryEscape(topic), nil)
	}
	topic := "https://example.com/books/1"

	// A Mercure update reaches a native subscriber of its topic.
	n := native(topic)
	id := e.mustPublish(publisher(t), form("topic", topic, "data", "from mercure", "type", "book"))
	if ev := n.next(); ev.ID != id || ev.Data != "from mercure" || ev.Type != "book" {
		t.Fatalf("native subscriber got %+v", ev)
	}

	// Native events reach Mercure subscribers whose selectors match.
	m := e.subscribe(e.hubURL(url.Values{"topic": {"https://example.com/books/{id}"}}), nil)
	if err := e.hub.Broadcast(context.Background(), sse.Event{ID: "go-1", Topics: []string{topic}, Data: "from Go"}); err != nil {
		t.Fatal(err)
	}
	if ev := m.next(); ev.ID != "go-1" || ev.Data != "from Go" {
		t.Fatalf("Mercure subscriber got %+v", ev)
	}
	r := e.do(http.MethodPost, e.srv.URL+"/sse/publish", strings.NewReader(`{"topic":"`+topic+`","data":{"n":1}}`), http.Header{"Authorization": {"Bearer native-token"}, "Content-Type": {"application/json"}})
	if r.status != http.StatusOK {
		t.Fatalf("native publish: %d %s", r.status, r.body)
	}
	if ev := m.next(); ev.Data != `{"n":1}` {
		t.Fatalf("Mercure subscriber got %+v", ev)
	}
	// One history: a Mercure subscriber resumes after a native event.
	first := e.mustPublish(publisher(t), form("topic", topic, "data", "after"))
	resumed := e.subscribe(e.hubURL(url.Values{"match": {topic}, "last_event_id": {"go-1"}}), nil)
	if ev := resumed.next(); ev.Data != `{"n":1}` {
		t.Fatalf("resumed at %+v, want the native event after go-1", ev)
	}
	if ev := resumed.next(); ev.ID != first {
		t.Fatalf("resumed at %+v, want %s", ev, first)
	}
}

// TestMercureDiscovery checks the Link header on the hub's answers and the helpers
// for applications.
func TestMercureDiscovery(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	s := e.subscribe(e.hubURL(url.Values{"topic": {"x"}}), nil)
	want := "<" + e.srv.URL + mercure.Path + `>; rel="mercure"`
	if got := s.resp.Header.Get("Link"); got != want {
		t.Errorf("subscribe Link = %q, want %q", got, want)
	}
	if r := e.publish(publisher(t), form("topic", "x")); r.header.Get("Link") != want {
		t.Errorf("publish Link = %q", r.header.Get("Link"))
	}

	if got, want := mercure.LinkHeader("https://example.com/.well-known/mercure", `urn:uuid:1"2`), `<https://example.com/.well-known/mercure>; rel="mercure"; last-event-id="urn:uuid:1\"2"`; got != want {
		t.Errorf("LinkHeader = %q, want %q", got, want)
	}
	// An application's page, on the hub's host: the hub's URL is derived
	// from the request.
	app := mercure.Discover("")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("page")) }))
	e.srv.Config.Handler.(*http.ServeMux).Handle("/books/1", app)
	r := e.do(http.MethodGet, e.srv.URL+"/books/1", nil, nil)
	if r.header.Get("Link") != want || r.body != "page" {
		t.Errorf("Discover: Link %q, body %q", r.header.Get("Link"), r.body)
	}
	c := mercure.AuthorizationCookie("tok", time.Unix(2000000000, 0))
	if c.Name != "mercureAuthorization" || c.Path != mercure.Path || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("AuthorizationCookie = %+v", c)
	}
}

// TestMercureCORS answers preflights for allowed origins and refuses cookie
// publishing from other origins.
func TestMercureCORS(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true, AllowedOrigins: []string{"https://app.example", "http://localhost:*"}})
	r := e.do(http.MethodOptions, e.hubURL(nil), nil, http.Header{"Origin": {"http://localhost:3000"}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"authorization"}})
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	mustContain(t, "Access-Control-Allow-Headers", r.header.Get("Access-Control-Allow-Headers"), "Authorization")
	r = e.do(http.MethodOptions, e.hubURL(nil), nil, http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}})
	if r.status != http.StatusForbidden {
		t.Fatalf("preflight from another origin: %d", r.status)
	}

	cookie := http.Header{"Cookie": {mercure.CookieName + "=" + publisher(t)}, "Content-Type": {"application/x-www-form-urlencoded"}}
	for origin, want := range map[string]int{"": http.StatusForbidden, "https://evil.example": http.StatusForbidden, "https://app.example": http.StatusOK, e.srv.URL: http.StatusOK} {
		h := cookie.Clone()
		if origin != "" {
			h.Set("Origin", origin)
		}
		if r := e.do(http.MethodPost, e.hubURL(nil), strings.NewReader("topic=x"), h); r.status != want {
			t.Errorf("cookie publish from %q: %d %s, want %d", origin, r.status, r.body, want)
		}
	}
}

// TestMercurePublicURL announces the configured URL and resolves relative
// patterns and topics against it.
func TestMercurePublicURL(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true, PublicURL: "https://hub.example/.well-known/mercure"})
	s := e.subscribe(e.hubURL(url.Values{"match_urlpattern": {"/books/:id"}}), nil)
	if got := s.resp.Header.Get("Link"); got != `<https://hub.example/.well-known/mercure>; rel="mercure"` {
		t.Errorf("Link = %q", got)
	}
	e.mustPublish(publisher(t), form("topic", "https://other.example/books/1"))
	id := e.mustPublish(publisher(t), form("topic", "https://hub.example/books/2"))
	if ev := s.next(); ev.ID != id {
		t.Fatalf("got %+v, want %s", ev, id)
	}
	rel := e.mustPublish(publisher(t), form("topic", "/books/3"))
	if ev := s.next(); ev.ID != rel {
		t.Fatalf("got %+v, want the relative topic %s", ev, rel)
	}
	if _, err := mercure.New(e.hub, mercure.Config{PublicURL: "/.well-known/mercure"}); err == nil {
		t.Error("a relative public URL was accepted")
	}
}
