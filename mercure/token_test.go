package mercure_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/valksor/go-sse/mercure"
)

// TestMercureAccessTokens: an at+jwt access token of each format grants
// what its authorization details say, on both sides: the publisher
// publishes to the topics its URL pattern matches, and the subscriber
// receives the private updates its details allow, not the others.
func TestMercureAccessTokens(t *testing.T) {
	formats := []struct {
		name   string
		detail func(actions []string, topics ...map[string]string) map[string]any
		books  map[string]string
	}{
		{"current", detail, map[string]string{"match": "https://example.com/books/:id", "match_type": "urlpattern"}},
		{"July 2026 draft", detail0713, map[string]string{"match": "https://example.com/books/:id", "matchType": "URLPattern"}},
		{"reference hub's first at+jwt release", detail0713, map[string]string{"match": "https://example.com/books/:id", "match_type": "urlpattern"}},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			e := newEnv(t, mercure.Config{Issuer: "https://auth.example", Audience: "https://hub.example"})
			pub := accessToken(t, []map[string]any{f.detail([]string{"publish"}, f.books)}, nil)
			sub := accessToken(t, []map[string]any{
				{"type": "openid_credential", "format": "whatever", "topics": "any shape"}, // other types are ignored
				f.detail([]string{"subscribe"}, map[string]string{"match": "https://example.com/books/1"}),
			}, gojwt.MapClaims{"aud": []string{"https://other.example", "https://hub.example"}})

			s := e.subscribe(e.hubURL(url.Values{"match_urlpattern": {"https://example.com/books/:id"}}), bearer(sub))
			e.mustPublish(pub, form("topic", "https://example.com/books/2", "data", "private 2", "private", "on"))
			id := e.mustPublish(pub, form("topic", "https://example.com/books/1", "data", "private 1", "private", "on"))
			if ev := s.next(); ev.ID != id {
				t.Fatalf("got %+v, want the update the token allows (%s)", ev, id)
			}
			r := e.publish(pub, form("topic", "https://example.com/authors/1", "data", "x"))
			if r.status != http.StatusForbidden {
				t.Fatalf("publish outside the details: %d %s", r.status, r.body)
			}
			mustContain(t, "WWW-Authenticate", r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
		})
	}
}

// TestMercureTokenValidation publishes to https://example.com/books/1 with
// tokens of each format, valid and not: the answer is 200 when the token
// grants it, 403 insufficient_scope for a valid token that does not, and
// 401 invalid_token for a token the reference hub rejects as a whole.
func TestMercureTokenValidation(t *testing.T) {
	e := newEnv(t, mercure.Config{Issuer: "https://auth.example", Audience: "https://hub.example"})
	const topic = "https://example.com/books/1"
	pattern := map[string]string{"match": "https://example.com/books/:id", "match_type": "urlpattern"}
	at := func(details ...map[string]any) string { return accessToken(t, details, nil) }
	raw := func(d map[string]any) string { return accessToken(t, []map[string]any{d}, nil) }
	pubDetail := func(topics any) map[string]any {
		return map[string]any{"type": mercure.DetailType, "actions": []string{"publish"}, "topics": topics}
	}
	manyTopics := func(n int) []map[string]string {
		var l []map[string]string
		for i := range n - 1 {
			l = append(l, map[string]string{"match": fmt.Sprint("https://example.com/", i)})
		}
		return append(l, pattern)
	}
	manyDetails := func(n int) []map[string]any {
		var l []map[string]any
		for i := range n - 1 {
			l = append(l, detail([]string{"publish"}, map[string]string{"match": fmt.Sprint("https://example.com/", i)}))
		}
		return append(l, detail([]string{"publish"}, pattern))
	}
	tests := []struct {
		name   string
		token  string
		status int
	}{
		// Valid tokens.
		{"current: urlpattern", at(detail([]string{"publish"}, pattern)), http.StatusOK},
		{"current: exact by default", at(detail([]string{"publish"}, map[string]string{"match": topic})), http.StatusOK},
		{"current: explicit exact", at(detail([]string{"publish"}, map[string]string{"match": topic, "match_type": "exact"})), http.StatusOK},
		{"current: * matches every topic", at(detail([]string{"publish"}, map[string]string{"match": "*"})), http.StatusOK},
		{"current: * with a match_type", at(detail([]string{"publish"}, map[string]string{"match": "*", "match_type": "urlpattern"})), http.StatusOK},
		{"current: an unknown action is ignored", at(detail([]string{"delete", "publish"}, pattern)), http.StatusOK},
		{"current: payload of any JSON type", raw(map[string]any{"type": mercure.DetailType, "actions": []string{"publish", "subscribe"}, "topics": []any{pattern}, "payload": "x"}), http.StatusOK},
		{"current: 100 topic matchers", raw(pubDetail(manyTopics(100))), http.StatusOK},
		{"current: 100 details", at(manyDetails(100)...), http.StatusOK},
		{"July 2026 draft", at(detail0713([]string{"publish"}, map[string]string{"match": "https://example.com/books/:id", "matchType": "URLPattern"})), http.StatusOK},
		{"both types in one token", at(detail0713([]string{"publish"}, map[string]string{"match": "https://example.com/authors/:id", "matchType": "URLPattern"}), detail([]string{"publish"}, pattern)), http.StatusOK},
		{"at+jwt with a mercure claim only", sign(t, "at+jwt", gojwt.MapClaims{"aud": "https://hub.example", "iss": "https://auth.example", "mercure": map[string]any{"publish": []string{"*"}}}), http.StatusOK},
		{"plain JWT with authorization_details", sign(t, "", gojwt.MapClaims{"authorization_details": []map[string]any{detail([]string{"publish"}, pattern)}}), http.StatusOK},

		// Valid tokens that do not grant this publish.
		{"wrong type: no Mercure detail", at(map[string]any{"type": "https://mercure.rocks/other", "actions": []string{"publish"}, "topics": []any{pattern}}), http.StatusForbidden},
		{"wrong type: case differs", at(map[string]any{"type": "Mercure", "actions": []string{"publish"}, "topics": []any{pattern}}), http.StatusForbidden},
		{"current: matchType is not a member", at(detail([]string{"publish"}, map[string]string{"match": "https://example.com/books/:id", "matchType": "URLPattern"})), http.StatusForbidden},
		{"current: only an unknown action", at(detail([]string{"delete"}, pattern)), http.StatusForbidden},
		{"current: subscribe only", at(detail([]string{"subscribe"}, pattern)), http.StatusForbidden},
		{"details win over the mercure claim", sign(t, "at+jwt", gojwt.MapClaims{"aud": "https://hub.example", "iss": "https://auth.example", "exp": time.Now().Add(time.Hour).Unix(),
			"authorization_details": []map[string]any{{"type": "openid_credential"}}, "mercure": map[string]any{"publish": []string{"*"}}}), http.StatusForbidden},

		// Invalid tokens: the whole token is refused.
		{"current: string topics", raw(pubDetail([]string{topic})), http.StatusUnauthorized},
		{"July 2026 draft: string topics", raw(map[string]any{"type": "mercure", "actions": []string{"publish"}, "topics": []string{topic}}), http.StatusUnauthorized},
		{"current: a string among the topics", raw(pubDetail([]any{pattern, topic})), http.StatusUnauthorized},
		{"current: topic without match", at(detail([]string{"publish"}, pattern, map[string]string{"match_type": "exact"})), http.StatusUnauthorized},
		{"July 2026 draft: topic without match", at(detail0713([]string{"publish"}, map[string]string{"matchType": "Exact"})), http.StatusUnauthorized},
		{"current: null topic", raw(pubDetail([]any{nil})), http.StatusUnauthorized},
		{"current: empty match", at(detail([]string{"publish"}, map[string]string{"match": ""})), http.StatusUnauthorized},
		{"current: match not a string", raw(pubDetail([]any{map[string]any{"match": 7}})), http.StatusUnauthorized},
		{"current: unknown match_type", at(detail([]string{"publish"}, map[string]string{"match": topic, "match_type": "regexp"})), http.StatusUnauthorized},
		{"current: match_type is case-sensitive", at(detail([]string{"publish"}, map[string]string{"match": topic, "match_type": "URLPattern"})), http.StatusUnauthorized},
		{"July 2026 draft: both matchType and match_type", at(detail0713([]string{"publish"}, map[string]string{"match": topic, "matchType": "Exact", "match_type": "exact"})), http.StatusUnauthorized},
		{"current: malformed URL pattern", at(detail([]string{"publish"}, map[string]string{"match": "https://example.com/(", "match_type": "urlpattern"})), http.StatusUnauthorized},
		{"current: match with a control character", at(detail([]string{"publish"}, map[string]string{"match": "a\x01b"})), http.StatusUnauthorized},
		{"current: match with a format character", at(detail([]string{"publish"}, map[string]string{"match": "https://example.com/\u200bbooks/1"})), http.StatusUnauthorized},
		{"current: match over 4096 bytes", at(detail([]string{"publish"}, pattern, map[string]string{"match": strings.Repeat("a", 4097)})), http.StatusUnauthorized},
		{"current: no actions", at(detail([]string{}, pattern)), http.StatusUnauthorized},
		{"current: action not a string", raw(map[string]any{"type": mercure.DetailType, "actions": []any{"publish", 1}, "topics": []any{pattern}}), http.StatusUnauthorized},
		{"current: no topics", at(detail([]string{"publish"})), http.StatusUnauthorized},
		{"current: topics not an array", raw(pubDetail(pattern)), http.StatusUnauthorized},
		{"oversized: 101 topic matchers", raw(pubDetail(manyTopics(101))), http.StatusUnauthorized},
		{"oversized: 101 topic matchers across details", at(detail([]string{"publish"}, manyTopics(51)...), detail([]string{"subscribe"}, manyTopics(50)...)), http.StatusUnauthorized},
		{"oversized: 101 details", at(manyDetails(101)...), http.StatusUnauthorized},
		{"details not an array", sign(t, "at+jwt", gojwt.MapClaims{"aud": "https://hub.example", "iss": "https://auth.example", "authorization_details": "all"}), http.StatusUnauthorized},
		{"a detail that is a string", sign(t, "at+jwt", gojwt.MapClaims{"aud": "https://hub.example", "iss": "https://auth.example", "authorization_details": []any{"mercure"}}), http.StatusUnauthorized},
		{"a defect among valid details", at(detail([]string{"publish"}, pattern), detail([]string{"publish"}, map[string]string{"match_type": "exact"})), http.StatusUnauthorized},
		{"wrong audience", accessToken(t, []map[string]any{detail([]string{"publish"}, pattern)}, gojwt.MapClaims{"aud": "https://other.example"}), http.StatusUnauthorized},
		{"no audience", accessToken(t, []map[string]any{detail([]string{"publish"}, pattern)}, gojwt.MapClaims{"aud": nil}), http.StatusUnauthorized},
		{"wrong issuer", accessToken(t, []map[string]any{detail([]string{"publish"}, pattern)}, gojwt.MapClaims{"iss": "https://evil.example"}), http.StatusUnauthorized},
		{"mercure claim: object without match", sign(t, "", gojwt.MapClaims{"mercure": map[string]any{"publish": []any{map[string]string{"match_type": "exact"}}}}), http.StatusUnauthorized},
		{"mercure claim: null selector", sign(t, "", gojwt.MapClaims{"mercure": map[string]any{"publish": []any{nil}}}), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.publish(tt.token, form("topic", topic, "data", "x"))
			if r.status != tt.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.status)
			}
			challenge := r.header.Get("WWW-Authenticate")
			switch tt.status {
			case http.StatusUnauthorized:
				mustContain(t, "WWW-Authenticate", challenge, `error="invalid_token"`)
				// The subscriber side refuses it the same way.
				if r := e.do(http.MethodGet, e.hubURL(url.Values{"match": {topic}}), nil, bearer(tt.token)); r.status != http.StatusUnauthorized {
					t.Errorf("subscribe: %d %s, want 401", r.status, r.body)
				}
			case http.StatusForbidden:
				mustContain(t, "WWW-Authenticate", challenge, `error="insufficient_scope"`)
			}
		})
	}

	// An at+jwt token without exp.
	noExp := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{"aud": "https://hub.example", "iss": "https://auth.example", "authorization_details": []map[string]any{detail([]string{"publish"}, pattern)}})
	noExp.Header["typ"] = "at+jwt"
	tok, _ := noExp.SignedString([]byte(secret))
	if r := e.publish(tok, form("topic", topic)); r.status != http.StatusUnauthorized {
		t.Errorf("at+jwt without exp: %d", r.status)
	}
}

// TestMercureClaimObjects: the mercure claim's entries may be objects with
// a matcher type and a payload, as the reference hub reads them, and the
// claim may be spelled https://mercure.rocks/.
func TestMercureClaimObjects(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true, Subscriptions: true})
	pub := sign(t, "", gojwt.MapClaims{"https://mercure.rocks/": map[string]any{"publish": []any{map[string]string{"match": "https://example.com/books/:id", "match_type": "urlpattern"}}}})
	if r := e.publish(pub, form("topic", "https://example.com/authors/1")); r.status != http.StatusForbidden {
		t.Fatalf("publish outside the namespaced claim: %d %s", r.status, r.body)
	}
	watcher := accessToken(t, []map[string]any{detail([]string{"subscribe"}, map[string]string{"match": "/.well-known/mercure/subscriptions/exact/:match/:subscriber", "match_type": "urlpattern"})}, gojwt.MapClaims{"aud": "x"})
	w := e.subscribe(e.hubURL(url.Values{"match_urlpattern": {"/.well-known/mercure/subscriptions/exact/:match/:subscriber"}}), bearer(watcher))
	sub := sign(t, "", gojwt.MapClaims{"mercure": map[string]any{
		"subscribe": []any{
			map[string]any{"match": "https://example.com/books/:id", "match_type": "urlpattern", "payload": map[string]string{"shelf": "books"}},
			"https://example.com/authors/{id}",
		},
		"payload": map[string]string{"shelf": "default"},
	}})
	s := e.subscribe(e.hubURL(url.Values{"match": {"https://example.com/books/1", "https://example.com/authors/1", "https://example.com/secret"}}), bearer(sub))
	payloads := map[string]string{}
	for range 3 {
		d := subscriptionUpdate(t, w.next().Data)
		payloads[d.Match] = string(d.Payload)
	}
	want := map[string]string{
		"https://example.com/books/1":   `{"shelf":"books"}`,   // the object entry's own
		"https://example.com/authors/1": `{"shelf":"default"}`, // a string entry: mercure.payload
		"https://example.com/secret":    `{"shelf":"default"}`, // no entry: mercure.payload
	}
	for k, v := range want {
		if payloads[k] != v {
			t.Errorf("payload of %s = %s, want %s", k, payloads[k], v)
		}
	}
	admin := publisher(t)
	e.mustPublish(admin, form("topic", "https://example.com/secret", "private", "on"))
	for _, topic := range []string{"https://example.com/books/1", "https://example.com/authors/1"} {
		id := e.mustPublish(admin, form("topic", topic, "private", "on"))
		if ev := s.next(); ev.ID != id {
			t.Fatalf("got %+v, want the private update %s on %s", ev, id, topic)
		}
	}
	if id := e.mustPublish(pub, form("topic", "https://example.com/books/3")); id == "" {
		t.Fatal("no id")
	}
}
