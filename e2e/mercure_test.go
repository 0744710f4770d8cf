package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
)

// mercureSecret is the Symfony recipe's MERCURE_JWT_SECRET.
const mercureSecret = "!ChangeThisMercureHubJWTSecretKey!"

// startMercure runs the binary with the Mercure hub enabled (anonymous
// subscribers allowed) through valksor.yaml, as a Symfony project would.
func startMercure(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	yaml := "valksor:\n  sse:\n    mercure:\n      enabled: true\n      publisher_key: '" + mercureSecret + "'\n      anonymous: true\n      audience: https://hub.example\n"
	if err := os.WriteFile(filepath.Join(dir, "valksor.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return startServer(t, dir, 0)
}

// mercureJS is the page's side: EventSources on the hub that log what
// they receive, and a fetch that publishes the way Mercure clients do.
const mercureJS = `
window.logs = {};
window.sources = {};
window.subscribe = (name, params) => new Promise((resolve, reject) => {
  const u = new URL('/.well-known/mercure', location.origin);
  for (const [k, v] of params) u.searchParams.append(k, v);
  const es = window.sources[name] = new EventSource(u);
  const log = window.logs[name] = [];
  const record = (e) => log.push({id: e.lastEventId, type: e.type, data: e.data});
  es.onmessage = record;
  es.addEventListener('book', record);
  // The hub's own events must not reach a Mercure subscriber.
  for (const type of ['connected', 'ping', 'history-gap']) es.addEventListener(type, record);
  // The hub registers a stream before it answers.
  es.onopen = () => resolve();
  es.onerror = () => { if (es.readyState === EventSource.CLOSED) reject(new Error(name + ': the hub refused the stream')); };
});
// Browsers open at most 6 connections to a host over HTTP/1.1: streams
// are closed between rounds, and a round opens at most 5.
window.closeAll = () => { for (const es of Object.values(window.sources)) es.close(); window.sources = {}; };
window.publish = async (token, fields) => {
  const body = new URLSearchParams();
  for (const [k, v] of fields) body.append(k, v);
  const r = await fetch('/.well-known/mercure', {method: 'POST', headers: {Authorization: 'Bearer ' + token}, body});
  return {status: r.status, body: await r.text(), link: r.headers.get('Link') || ''};
};
`

// received is an update as the page's EventSource saw it.
type received struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// published is the answer to the page's publish.
type published struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Link   string `json:"link"`
}

// js renders v as a JavaScript literal.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestMercureBrowser opens EventSources with each kind of selector and
// token in Chromium, publishes with fetch and a bearer token, and checks
// what each stream received: the matching updates, with their ids and
// multi-line data, and the private ones only where the token allows. A
// last update on a fence topic every stream listens to shows that nothing
// else is on its way.
func TestMercureBrowser(t *testing.T) {
	srv := startMercure(t)
	tb := newTab(t)
	tb.navigate(srv.url("/sse/healthz"))
	tb.eval(mercureJS)

	signer, err := jwt.NewSigner("HS256", []byte(mercureSecret))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(s jwt.Scopes) string {
		tok, err := signer.Sign(jwt.Claims{Mercure: &s})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	publisher := sign(jwt.Scopes{Publish: jwt.Patterns{"*"}})
	readsBooks := sign(jwt.Scopes{Subscribe: jwt.Patterns{"https://example.com/books/{id}"}})
	readsAuthors := sign(jwt.Scopes{Subscribe: jwt.Patterns{"https://example.com/authors/{id}"}})
	at := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{
		"aud": "https://hub.example", "sub": "reader", "exp": time.Now().Add(time.Hour).Unix(),
		// The July 2026 draft's form; TestMercureBrowserCurrentProtocol uses the current one.
		"authorization_details": []map[string]any{{"type": "mercure", "actions": []string{"subscribe"}, "topics": []map[string]string{{"match": "https://example.com/books/:id", "matchType": "URLPattern"}}}},
	})
	at.Header["typ"] = "at+jwt"
	accessToken, err := at.SignedString([]byte(mercureSecret))
	if err != nil {
		t.Fatal(err)
	}

	const fence = "urn:test:fence"
	multiLine := "{\"title\": \"Dune\",\n \"year\": 1965}\n\nlast line"
	updates := []struct {
		name   string
		fields [][2]string
	}{
		{"book 1", [][2]string{{"topic", "https://example.com/books/1"}, {"data", multiLine}, {"type", "book"}}},
		{"reviews", [][2]string{{"topic", "https://example.com/books/1/reviews"}, {"data", "reviews"}}},
		{"author", [][2]string{{"topic", "https://example.com/authors/1"}, {"data", "author"}, {"id", "urn:uuid:5f0c8a9e-8d43-4c1e-9d8e-2a8f0c1b7e1"}}},
		{"private book", [][2]string{{"topic", "https://example.com/books/2"}, {"data", "private"}, {"private", "on"}}},
		{"private author", [][2]string{{"topic", "https://example.com/authors/2"}, {"data", "private author"}, {"private", ""}}},
		{"fence", [][2]string{{"topic", fence}, {"data", "fence"}}},
	}
	type subscriber struct {
		name   string
		params [][2]string
		want   []string // the updates it receives, in order
	}
	// round opens the subscribers, publishes every update, and checks what
	// each subscriber received.
	round := func(n int, subscribers []subscriber, cookie string) {
		t.Helper()
		for _, s := range subscribers {
			if s.name == "cookie" {
				// The cookie goes with every request to the hub while it is
				// set: it is set for this stream only.
				tb.eval(fmt.Sprintf(`document.cookie = %s; subscribe('cookie', %s).then(() => { document.cookie = %s })`,
					js(mercure.CookieName+"="+cookie+"; path=/.well-known/mercure; SameSite=Strict"), js(s.params),
					js(mercure.CookieName+"=; path=/.well-known/mercure; max-age=0")))
				continue
			}
			tb.eval(fmt.Sprintf(`subscribe(%s, %s)`, js(s.name), js(s.params)))
		}
		ids := map[string]received{}
		for _, u := range updates {
			fields := u.fields
			if u.name == "author" { // a publisher-supplied id, unique per round
				fields = append([][2]string{}, fields...)
				fields[2][1] += fmt.Sprint(n)
			}
			r := evalInto[published](tb, fmt.Sprintf(`publish(%s, %s)`, js(publisher), js(fields)))
			if r.Status != 200 || r.Body == "" {
				t.Fatalf("publish %s: %d %s", u.name, r.Status, r.Body)
			}
			if want := "<" + srv.url(mercure.Path) + `>; rel="mercure"`; r.Link != want {
				t.Errorf("publish Link = %q, want %q", r.Link, want)
			}
			ev := received{ID: r.Body, Type: "message"}
			for _, f := range fields {
				switch f[0] {
				case "data":
					ev.Data = f[1]
				case "type":
					ev.Type = f[1]
				case "id":
					if f[1] != r.Body {
						t.Errorf("the publisher's id %q became %q", f[1], r.Body)
					}
				}
			}
			ids[u.name] = ev
		}
		for _, s := range subscribers {
			tb.waitFor(s.name+" to receive the fence", fmt.Sprintf(`logs[%s].some((e) => e.data === 'fence')`, js(s.name)), 10*time.Second)
			got := evalInto[[]received](tb, fmt.Sprintf(`logs[%s]`, js(s.name)))
			var want []received
			for _, n := range s.want {
				want = append(want, ids[n])
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s received\n%+v\nwant\n%+v", s.name, got, want)
			}
		}
		tb.eval(`closeAll()`)
	}

	round(1, []subscriber{
		{"exact", [][2]string{{"topic", "https://example.com/books/1"}, {"topic", fence}}, []string{"book 1", "fence"}},
		{"template", [][2]string{{"topic", "https://example.com/books/{id}"}, {"topic", fence}}, []string{"book 1", "fence"}},
		{"star", [][2]string{{"topic", "*"}}, []string{"book 1", "reviews", "author", "fence"}},
		{"match", [][2]string{{"match", "https://example.com/books/1"}, {"match", fence}}, []string{"book 1", "fence"}},
		{"urlpattern", [][2]string{{"match_urlpattern", "https://example.com/books/*"}, {"match", fence}}, []string{"book 1", "reviews", "fence"}},
	}, "")
	round(2, []subscriber{
		{"query token", [][2]string{{"topic", "*"}, {"authorization", readsAuthors}}, []string{"book 1", "reviews", "author", "private author", "fence"}},
		{"access token", [][2]string{{"match", "*"}, {"access_token", accessToken}}, []string{"book 1", "reviews", "author", "private book", "fence"}},
		{"cookie", [][2]string{{"topic", "*"}}, []string{"book 1", "reviews", "author", "private book", "fence"}},
		{"anonymous", [][2]string{{"match_urlpattern", "https://example.com/:kind/:id"}, {"match", fence}}, []string{"book 1", "author", "fence"}},
	}, readsBooks)
}

// TestMercureBrowserRefusals: the browser sees the hub's refusals as
// Mercure clients expect them (RFC 6750).
func TestMercureBrowserRefusals(t *testing.T) {
	srv := startMercure(t)
	tb := newTab(t)
	tb.navigate(srv.url("/sse/healthz"))
	tb.eval(mercureJS)
	s, err := jwt.NewSigner("HS256", []byte(mercureSecret))
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := s.Sign(jwt.Claims{Mercure: &jwt.Scopes{Publish: jwt.Patterns{"https://example.com/books/{id}"}}})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		Status    int    `json:"status"`
		Challenge string `json:"challenge"`
	}
	post := func(token, topic string) answer {
		return evalInto[answer](tb, fmt.Sprintf(`fetch('/.well-known/mercure', {method: 'POST', headers: {Authorization: 'Bearer ' + %s}, body: new URLSearchParams([['topic', %s]])})
			.then((r) => ({status: r.status, challenge: r.headers.get('WWW-Authenticate') || ''}))`, js(token), js(topic)))
	}
	if a := post(narrow, "https://example.com/authors/1"); a.Status != 403 || a.Challenge == "" {
		t.Errorf("under-scoped publish: %+v", a)
	}
	if a := post(narrow+"x", "https://example.com/books/1"); a.Status != 401 || a.Challenge == "" {
		t.Errorf("forged token: %+v", a)
	}
	if a := post(narrow, "https://example.com/books/1"); a.Status != 200 {
		t.Errorf("publish in scope: %+v", a)
	}
}

// TestMercureURLPatternConformance compares the hub's URL pattern matching
// with Chromium's URLPattern on the same patterns and topics.
func TestMercureURLPatternConformance(t *testing.T) {
	srv := startMercure(t)
	tb := newTab(t)
	tb.navigate(srv.url("/sse/healthz"))
	cases := [][2]string{
		{"https://example.com/books/:id", "https://example.com/books/7"},
		{"https://example.com/books/:id", "https://example.com/books/7/reviews"},
		{"https://example.com/books/:id", "https://example.com/books/"},
		{"https://example.com/books/:id", "https://EXAMPLE.com/books/7"},
		{"https://example.com/books/:id", "https://example.com:443/books/7"},
		{"https://example.com/books/:id", "https://example.com/books/7?x=1"},
		{"https://example.com/books/:id", "https://example.com/books/7#top"},
		{"https://example.com/books/:id?", "https://example.com/books"},
		{"https://example.com/books/:id(\\d+)", "https://example.com/books/x"},
		{"https://example.com/books/:id(\\d+)", "https://example.com/books/12"},
		{"https://example.com/books/*", "https://example.com/books/7/reviews/2"},
		{"https://example.com/books/:id*", "https://example.com/books"},
		{"https://example.com/books/:id+", "https://example.com/books/1/2"},
		{"https://example.com/books{/:id}?", "https://example.com/books"},
		{"https://example.com/books/:id.json", "https://example.com/books/7.json"},
		{"https://:tenant.example.com/feed", "https://acme.example.com/feed"},
		{"https://:tenant.example.com/feed", "https://a.b.example.com/feed"},
		{"https://*.example.com/feed", "https://a.b.example.com/feed"},
		{"http{s}?://example.com/feed", "http://example.com/feed"},
		{"https://example.com/search?q=:q", "https://example.com/search?q=go"},
		{"https://example.com/search?*", "https://example.com/search?a=1&b=2"},
		{"https://example.com/books/:id#*", "https://example.com/books/7#top"},
		{"https://example.com/books/1?", "https://example.com/books/1?x=1"},
		{"https://example.com/books/1?", "https://example.com/books/1"},
		{"https://example.com:8080/x", "https://example.com/x"},
		{"https://example.com", "https://example.com/"},
		{"https://example.com/a\\:b", "https://example.com/a:b"},
		// Canonicalization: non-ASCII characters, IDNA hosts, dot segments.
		{"https://example.com/café/:id", "https://example.com/caf%C3%A9/1"},
		{"https://example.com/caf%C3%A9/:id", "https://example.com/café/1"},
		{"https://bücher.example/:id", "https://xn--bcher-kva.example/1"},
		{"https://example.com/books/:id", "https://example.com/a/../books/1"},
		{"https://example.com/a/../books/:id", "https://example.com/books/1"},
		{"https://example.com/books/:id", "https://example.com/books/./1"},
		{"https://[\\:\\:1]/:id", "https://[::1]/7"},
		// Opaque topics.
		{"urn:example:*", "urn:example:42"},
		{"urn\\:example\\:*", "urn:example:42"},
		// Relative patterns and topics, against the hub's URL.
		{"/books/:id", "/books/7"},
		{"/books/:id", "books/7"},
		{"/.well-known/mercure/subscriptions/exact/:match/:sub", "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa/urn%3Auuid%3A1"},
	}
	type verdict struct {
		Match bool   `json:"match"`
		Error string `json:"error"`
	}
	base := srv.url(mercure.Path)
	got := evalInto[[]verdict](tb, fmt.Sprintf(`%s.map(([p, t]) => { try { return {match: new URLPattern(p, %s).test(t, %s), error: ''} } catch (e) { return {match: false, error: String(e)} } })`, js(cases), js(base), js(base)))
	for i, c := range cases {
		p, err := mercure.CompileURLPattern(c[0], base)
		if err != nil || got[i].Error != "" {
			t.Errorf("%q: hub error %v, Chromium error %q", c[0], err, got[i].Error)
			continue
		}
		if m := p.Match(c[1]); m != got[i].Match {
			t.Errorf("%q matches %q: hub %v, Chromium %v", c[0], c[1], m, got[i].Match)
		}
	}
}

// TestMercureBrowserCurrentProtocol: in Chromium, EventSources subscribed
// with a URL pattern selector receive the updates published with a token
// of the current protocol (an at+jwt access token whose authorization
// details have the type https://mercure.rocks/authorization-detail and
// {match, match_type} topics); the private update reaches only the one
// whose token grants it, and neither receives any event of the hub's own.
func TestMercureBrowserCurrentProtocol(t *testing.T) {
	srv := startMercure(t)
	tb := newTab(t)
	tb.navigate(srv.url("/sse/healthz"))
	tb.eval(mercureJS)
	signer, err := jwt.NewSigner("HS256", []byte(mercureSecret))
	if err != nil {
		t.Fatal(err)
	}
	accessToken := func(action string, topics ...map[string]string) string {
		now := time.Now()
		tok, err := signer.SignAccessToken(map[string]any{
			"iss": "https://app.example", "aud": "https://hub.example", "sub": "e2e", "client_id": "e2e", "jti": fmt.Sprint(now.UnixNano()),
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"authorization_details": []map[string]any{{"type": mercure.DetailType, "actions": []string{action}, "topics": topics}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	books := map[string]string{"match": "https://example.com/books/:id", "match_type": "urlpattern"}
	publisher := accessToken("publish", map[string]string{"match": "https://example.com/books/*", "match_type": "urlpattern"}, map[string]string{"match": "urn:test:fence"})
	reader := accessToken("subscribe", books)

	params := [][2]string{{"match_urlpattern", "https://example.com/books/:id"}, {"match", "urn:test:fence"}}
	tb.eval(`window.opened = []`)
	tb.eval(fmt.Sprintf(`subscribe('anonymous', %s).then(() => opened.push('anonymous'))`, js(params)))
	tb.eval(fmt.Sprintf(`document.cookie = %s; subscribe('reader', %s).then(() => { document.cookie = %s; opened.push('reader') })`,
		js(mercure.CookieName+"="+reader+"; path=/.well-known/mercure; SameSite=Strict"), js(params),
		js(mercure.CookieName+"=; path=/.well-known/mercure; max-age=0")))
	tb.waitFor("both streams to open", `opened.length === 2`, 10*time.Second)

	ids := map[string]string{}
	for _, u := range []struct {
		name   string
		fields [][2]string
	}{
		{"public", [][2]string{{"topic", "https://example.com/books/1"}, {"data", "public"}}},
		{"private", [][2]string{{"topic", "https://example.com/books/2"}, {"data", "private"}, {"private", "on"}}},
		{"other", [][2]string{{"topic", "https://example.com/books/1/reviews"}, {"data", "not a book"}}},
		{"fence", [][2]string{{"topic", "urn:test:fence"}, {"data", "fence"}}},
	} {
		r := evalInto[published](tb, fmt.Sprintf(`publish(%s, %s)`, js(publisher), js(u.fields)))
		if r.Status != 200 {
			t.Fatalf("publish %s with a current-format token: %d %s", u.name, r.Status, r.Body)
		}
		ids[u.name] = r.Body
	}
	for name, want := range map[string][]string{"anonymous": {"public", "fence"}, "reader": {"public", "private", "fence"}} {
		tb.waitFor(name+" to receive the fence", fmt.Sprintf(`logs[%s].some((e) => e.data === 'fence')`, js(name)), 10*time.Second)
		got := evalInto[[]received](tb, fmt.Sprintf(`logs[%s]`, js(name)))
		var wantEvents []received
		for _, n := range want {
			wantEvents = append(wantEvents, received{ID: ids[n], Type: "message", Data: map[string]string{"public": "public", "private": "private", "fence": "fence"}[n]})
		}
		if !reflect.DeepEqual(got, wantEvents) {
			t.Errorf("%s received\n%+v\nwant\n%+v", name, got, wantEvents)
		}
	}
}
