package mercure_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/mercure"
)

// TestMercureMaxTopics: a subscription's selectors of every kind, and an
// update's topics, are capped by the hub's max_topics, counted before any
// selector is compiled or any topic is authorized.
func TestMercureMaxTopics(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true}, sse.WithMaxTopics(3))
	u := func(i int) string { return fmt.Sprint("https://example.com/", i) }
	for name, q := range map[string]url.Values{
		"exact":                {"match": {u(1), u(2), u(3), u(4)}},
		"exact and urlpattern": {"match": {u(1), u(2)}, "match_urlpattern": {"https://example.com/a/:x", "https://example.com/b/:x"}},
		"topic":                {"topic": {u(1), "https://example.com/{x}", u(3)}, "match": {u(4)}},
		// The malformed pattern is never compiled: the count refuses first.
		"over the cap and malformed": {"match": {u(1), u(2), u(3)}, "match_urlpattern": {"https://example.com/("}},
	} {
		if status, body := e.refusal(e.hubURL(q)); status != http.StatusBadRequest || !strings.Contains(body, "at most 3 (max_topics)") {
			t.Errorf("%s: %d %q, want 400 naming max_topics", name, status, body)
		}
	}
	ok := url.Values{"match": {u(1)}, "match_urlpattern": {"https://example.com/a/:x", "https://example.com/b/:x"}}
	if r := e.do(http.MethodHead, e.hubURL(ok), nil, nil); r.status != http.StatusOK {
		t.Errorf("3 selectors: %d %s, want 200", r.status, r.body)
	}

	// The token covers three topics: a fourth is refused for its number,
	// before the token is asked about it.
	pub := legacyToken(t, map[string]any{"publish": []string{u(1), u(2), u(3)}})
	r := e.publish(pub, form("topic", u(1), "topic", u(2), "topic", u(3), "topic", u(4), "data", "x"))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "at most 3 (max_topics)") {
		t.Errorf("4 topics: %d %q, want 400 naming max_topics", r.status, r.body)
	}
	e.mustPublish(pub, form("topic", u(1), "topic", u(2), "topic", u(3), "data", "x"))
}

// TestMercureMalformedQuery: a query string that does not parse is refused
// with 400, not read in part (a dropped pair would change the request).
func TestMercureMalformedQuery(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true, Subscriptions: true})
	hub := e.srv.URL + mercure.Path
	for name, u := range map[string]string{
		"bad escape in a selector":   hub + "?topic=https%3A%2F%2Fexample.com%2Fa&match=%zz",
		"bad escape in a name":       hub + "?topic=https%3A%2F%2Fexample.com%2Fa&%zz=1",
		"semicolon separator":        hub + "?topic=https%3A%2F%2Fexample.com%2Fa;match=b",
		"bad escape in lastEventID":  hub + "?topic=https%3A%2F%2Fexample.com%2Fa&lastEventID=%zz",
		"subscriptions, bad escape":  hub + "/subscriptions?access_token=%zz",
		"subscriptions, semicolon":   hub + "/subscriptions?a=1;b=2",
		"bad escape in access_token": hub + "?topic=https%3A%2F%2Fexample.com%2Fa&access_token=%zz",
	} {
		status, body := e.refusal(u)
		if status != http.StatusBadRequest || !strings.Contains(body, "the query string cannot be parsed") {
			t.Errorf("%s: %d %q, want 400 saying the query cannot be parsed", name, status, body)
			continue
		}
		r := e.do(http.MethodGet, u, nil, nil)
		if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_request"`) {
			t.Errorf("%s: WWW-Authenticate %q, want invalid_request", name, got)
		}
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Authorization": {"Bearer " + publisher(t)}}
	r := e.do(http.MethodPost, hub+"?%zz", strings.NewReader(form("topic", "x", "data", "y").Encode()), h)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "the query string cannot be parsed") {
		t.Errorf("publish with a malformed query: %d %q, want 400", r.status, r.body)
	}
}

// TestMercureDuplicateID: an update whose id an update in the history
// already has is refused with 409, as on the native endpoint.
func TestMercureDuplicateID(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	pub := publisher(t)
	e.mustPublish(pub, form("topic", "x", "id", "urn:uuid:1", "data", "a"))
	r := e.publish(pub, form("topic", "x", "id", "urn:uuid:1", "data", "b"))
	if r.status != http.StatusConflict {
		t.Errorf("duplicate id: %d %q, want 409", r.status, r.body)
	}
}

// TestMercureReservedTypes: the types of the server's own events are
// refused with 400, as on the native endpoint.
func TestMercureReservedTypes(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true})
	pub := publisher(t)
	for _, typ := range []string{"connected", "ping", "pong", "history-gap"} {
		if r := e.publish(pub, form("topic", "x", "type", typ, "data", "a")); r.status != http.StatusBadRequest || !strings.Contains(r.body, "reserved") {
			t.Errorf("type %s: %d %q, want 400", typ, r.status, r.body)
		}
	}
}

// TestMercureTokenLifetime: RequireExp and MaxTTL refuse tokens without
// an expiry, and MaxTTL those that expire too late, with 401
// invalid_token, for subscribers and publishers alike.
func TestMercureTokenLifetime(t *testing.T) {
	sub := func(exp any) string {
		c := gojwt.MapClaims{"mercure": map[string]any{"subscribe": []string{"*"}, "publish": []string{"*"}}}
		if exp != nil {
			c["exp"] = exp
		}
		tok, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	noExp, inHalfAnHour, inTwoHours := sub(nil), sub(now.Add(30*time.Minute).Unix()), sub(now.Add(2*time.Hour).Unix())
	sel := url.Values{"topic": {"https://example.com/a"}}
	tests := []struct {
		name string
		cfg  mercure.Config
		tok  string
		want int
	}{
		{"no exp, default", mercure.Config{}, noExp, http.StatusOK},
		{"no exp, RequireExp", mercure.Config{RequireExp: true}, noExp, http.StatusUnauthorized},
		{"exp, RequireExp", mercure.Config{RequireExp: true}, inTwoHours, http.StatusOK},
		{"no exp, MaxTTL", mercure.Config{MaxTTL: time.Hour}, noExp, http.StatusUnauthorized},
		{"exp beyond MaxTTL", mercure.Config{MaxTTL: time.Hour}, inTwoHours, http.StatusUnauthorized},
		{"exp within MaxTTL", mercure.Config{MaxTTL: time.Hour}, inHalfAnHour, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			r := e.do(http.MethodHead, e.hubURL(sel), nil, bearer(tt.tok))
			if r.status != tt.want {
				t.Errorf("subscribe: %d, want %d", r.status, tt.want)
			}
			p := e.publish(tt.tok, form("topic", "https://example.com/a", "data", "x"))
			if p.status != tt.want {
				t.Errorf("publish: %d %q, want %d", p.status, p.body, tt.want)
			}
			if tt.want == http.StatusUnauthorized {
				mustContain(t, "WWW-Authenticate", p.header.Get("WWW-Authenticate"), `error="invalid_token"`)
			}
		})
	}
}

// refusal sends a GET and returns the status and, for an answer other than
// 200, the body: a stream opened by mistake is left unread rather than
// hanging the test.
func (e *env) refusal(u string) (int, string) {
	e.t.Helper()
	resp := e.open(u, nil)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
