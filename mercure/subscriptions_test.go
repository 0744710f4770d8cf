package mercure_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gojwt "github.com/golang-jwt/jwt/v5"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/mercure"
)

// subscriptionUpdate decodes the data of a subscription update.
func subscriptionUpdate(t *testing.T, data string) mercure.SubscriptionDoc {
	t.Helper()
	var d mercure.SubscriptionDoc
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatalf("subscription update %q: %v", data, err)
	}
	return d
}

// TestMercureSubscriptionEvents: a subscriber allowed to see the subscriptions
// namespace receives an update when a subscription starts and when it
// ends, in the shape of the draft the subscription was made with.
func TestMercureSubscriptionEvents(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true, Subscriptions: true})
	watcher := legacyToken(t, map[string]any{"subscribe": []string{"/.well-known/mercure/subscriptions/{topic}/{subscriber}"}})
	w := e.subscribe(e.hubURL(url.Values{"topic": {"/.well-known/mercure/subscriptions/{topic}/{subscriber}"}}), bearer(watcher))
	if own := subscriptionUpdate(t, w.next().Data); own.Topic != "/.well-known/mercure/subscriptions/{topic}/{subscriber}" {
		t.Fatalf("the watcher's own subscription: %+v", own)
	}
	newWatcher := accessToken(t, []map[string]any{detail([]string{"subscribe"}, map[string]string{"match": "/.well-known/mercure/subscriptions/urlpattern/:match/:subscriber", "match_type": "urlpattern"})}, nil)
	nw := e.subscribe(e.hubURL(url.Values{"match_urlpattern": {"/.well-known/mercure/subscriptions/urlpattern/:match/:subscriber"}}), bearer(newWatcher))
	ev := nw.next()
	if own := subscriptionUpdate(t, ev.Data); own.MatchType != mercure.MatchURLPattern || ev.Type != "mercure" {
		t.Fatalf("the new watcher's own subscription: %+v (event type %q, want mercure)", own, ev.Type)
	}

	// A subscriber of the widely deployed draft, with a payload.
	sub := legacyToken(t, map[string]any{"subscribe": []string{"https://example.com/books/{id}"}, "payload": map[string]string{"user": "alice"}})
	s := e.subscribe(e.hubURL(url.Values{"topic": {"https://example.com/books/{id}"}}), bearer(sub))
	ev = w.next()
	if ev.Type != "message" {
		t.Errorf("event type %q of a subscription update of the widely deployed draft, want none (message)", ev.Type)
	}
	on := subscriptionUpdate(t, ev.Data)
	if on.Type != "Subscription" || !on.Active || on.Topic != "https://example.com/books/{id}" || on.Context != "https://mercure.rocks/" ||
		!strings.HasPrefix(on.Subscriber, "urn:uuid:") || string(on.Payload) != `{"user":"alice"}` ||
		on.ID != "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D/"+strings.ReplaceAll(on.Subscriber, ":", "%3A") {
		t.Fatalf("subscription update %+v", on)
	}
	s.resp.Body.Close()
	off := subscriptionUpdate(t, w.next().Data)
	if off.Active || off.ID != on.ID || off.Subscriber != on.Subscriber {
		t.Fatalf("end of subscription %+v, want %s inactive", off, on.ID)
	}

	// A subscriber of the current protocol: payload of the first
	// subscribe detail matching its matcher.
	sub2 := accessToken(t, []map[string]any{
		{"type": mercure.DetailType, "actions": []string{"subscribe"}, "topics": []map[string]string{{"match": "https://example.com/authors/:id", "match_type": "urlpattern"}}, "payload": map[string]string{"which": "authors"}},
		{"type": mercure.DetailType, "actions": []string{"subscribe"}, "topics": []map[string]string{{"match": "*"}}, "payload": map[string]string{"which": "default"}},
	}, nil)
	s2 := e.subscribe(e.hubURL(url.Values{"match_urlpattern": {"https://example.com/books/:id"}}), bearer(sub2))
	ev = nw.next()
	on2 := subscriptionUpdate(t, ev.Data)
	if ev.Type != "mercure" || on2.Type != "subscription" || on2.Context != "" ||
		on2.MatchType != mercure.MatchURLPattern || on2.Match != "https://example.com/books/:id" || on2.Topic != "" || !on2.Active ||
		string(on2.Payload) != `{"which":"default"}` ||
		on2.ID != "/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2Fbooks%2F%3Aid/"+strings.ReplaceAll(on2.Subscriber, ":", "%3A") {
		t.Fatalf("subscription update %+v (event type %q)", on2, ev.Type)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &fields); err != nil || fields["match_type"] != "urlpattern" {
		t.Fatalf("subscription update %s: want the member match_type", ev.Data)
	}
	s2.resp.Body.Close()
	if off2 := subscriptionUpdate(t, nw.next().Data); off2.Active || off2.ID != on2.ID {
		t.Fatalf("end of subscription %+v", off2)
	}

	// Subscription updates are private: an anonymous watcher sees none of
	// those published once it is connected (for its own subscriptions and
	// the next subscriber's), only the public marker published after.
	anon := e.subscribe(e.hubURL(url.Values{"topic": {"/.well-known/mercure/subscriptions/{topic}/{subscriber}", "marker"}}), nil)
	e.subscribe(e.hubURL(url.Values{"topic": {"https://example.com/x"}}), nil)
	if d := subscriptionUpdate(t, w.next().Data); d.Subscriber == "" {
		t.Fatal("the authorized watcher got no subscription update")
	}
	id := e.mustPublish(publisher(t), form("topic", "marker"))
	if ev := anon.next(); ev.ID != id {
		t.Fatalf("anonymous watcher got %+v", ev)
	}
}

// TestMercureSubscriptionsAPI lists the active subscriptions.
func TestMercureSubscriptionsAPI(t *testing.T) {
	e := newEnv(t, mercure.Config{Anonymous: true, Subscriptions: true})
	reader := legacyToken(t, map[string]any{"subscribe": []string{"/.well-known/mercure/subscriptions{/segments*}"}})
	api := func(path, token string) response {
		h := http.Header{}
		if token != "" {
			h = bearer(token)
		}
		return e.do(http.MethodGet, e.srv.URL+path, nil, h)
	}
	// decode reads an answer of the current protocol (application/json,
	// the newest event id in the Link header and the ETag) or, with
	// jsonLD, of the widely deployed draft.
	decode := func(r response, jsonLD bool, v any) {
		t.Helper()
		ct := "application/json"
		if jsonLD {
			ct = "application/ld+json"
		}
		if r.status != http.StatusOK || r.header.Get("Content-Type") != ct {
			t.Fatalf("%d %q %s, want 200 %s", r.status, r.header.Get("Content-Type"), r.body, ct)
		}
		if err := json.Unmarshal([]byte(r.body), v); err != nil {
			t.Fatal(err)
		}
	}
	// cursor is the last-event-id of the Link header, checking its other
	// attributes and the ETag.
	cursor := func(r response) string {
		t.Helper()
		link := r.header.Get("Link")
		prefix := "<" + e.srv.URL + mercure.Path + `>; rel="mercure"; last-event-id="`
		suffix := `"; type="mercure"; content-type="application/json"`
		if !strings.HasPrefix(link, prefix) || !strings.HasSuffix(link, suffix) {
			t.Fatalf("Link %q, want %s...%s", link, prefix, suffix)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(link, prefix), suffix)
		if etag := r.header.Get("ETag"); etag != `"`+id+`"` {
			t.Fatalf("ETag %q, want the quoted cursor %q", etag, id)
		}
		return id
	}

	var empty mercure.SubscriptionsDoc
	r := api("/.well-known/mercure/subscriptions", reader)
	decode(r, false, &empty)
	if empty.Type != "subscriptions" || empty.ID != "/.well-known/mercure/subscriptions" || len(empty.Subscriptions) != 0 || empty.Context != "" || cursor(r) != "earliest" {
		t.Fatalf("empty collection %+v", empty)
	}

	e.subscribe(e.hubURL(url.Values{"topic": {"https://example.com/a", "https://example.com/{b}"}}), nil)
	e.subscribe(e.hubURL(url.Values{"match": {"https://example.com/a"}}), nil)
	var all mercure.SubscriptionsDoc
	r = api("/.well-known/mercure/subscriptions", reader)
	decode(r, false, &all)
	if len(all.Subscriptions) != 3 || cursor(r) == "earliest" || all.LastEventID != cursor(r) {
		t.Fatalf("collection %+v, want 3 subscriptions and the last update's id", all)
	}
	// Unchanged since: 304 to a request with the ETag.
	if r := e.do(http.MethodGet, e.srv.URL+"/.well-known/mercure/subscriptions", nil, http.Header{"Authorization": {"Bearer " + reader}, "If-None-Match": {r.header.Get("ETag")}}); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d", r.status)
	}
	// An event published on the native endpoint is an update of the hub
	// too: the cursor is its id.
	native, err := e.hub.Publish(context.Background(), sse.Event{Type: "note", Data: "from /sse/publish"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cursor(api("/.well-known/mercure/subscriptions", reader)); got != native {
		t.Fatalf("cursor %q after a native publish, want its id %q", got, native)
	}

	var byTopic mercure.SubscriptionsDoc
	decode(api("/.well-known/mercure/subscriptions/"+url.PathEscape("https://example.com/{b}"), reader), true, &byTopic)
	if len(byTopic.Subscriptions) != 1 || byTopic.Subscriptions[0].Topic != "https://example.com/{b}" || byTopic.Type != "Subscriptions" ||
		byTopic.Context != "https://mercure.rocks/" || byTopic.LastEventID != native || byTopic.ID != "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bb%7D" {
		t.Fatalf("by topic %+v", byTopic)
	}
	one := byTopic.Subscriptions[0]
	var single mercure.SubscriptionDoc
	decode(api(one.ID, reader), true, &single)
	if single.ID != one.ID || !single.Active || single.LastEventID == "" || single.Context == "" || single.Type != "Subscription" {
		t.Fatalf("single %+v", single)
	}

	for _, matchType := range []string{"exact", "Exact"} { // the July 2026 draft's spelling too
		var byMatcher mercure.SubscriptionsDoc
		r := api("/.well-known/mercure/subscriptions/"+matchType+"/"+url.PathEscape("https://example.com/a"), reader)
		decode(r, false, &byMatcher)
		if len(byMatcher.Subscriptions) != 1 || byMatcher.Subscriptions[0].MatchType != mercure.MatchExact || cursor(r) != native ||
			byMatcher.ID != "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa" {
			t.Fatalf("by matcher %s: %+v", matchType, byMatcher)
		}
		var single mercure.SubscriptionDoc
		decode(api(byMatcher.Subscriptions[0].ID, reader), false, &single)
		if single.Match != "https://example.com/a" || single.Type != "subscription" || single.LastEventID != "" {
			t.Fatalf("single of the current protocol %+v", single)
		}
	}

	if r := api("/.well-known/mercure/subscriptions/x/urn%3Auuid%3Anobody", reader); r.status != http.StatusNotFound {
		t.Errorf("unknown subscription: %d", r.status)
	}
	if r := api("/.well-known/mercure/subscriptions", ""); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.status)
	}
	narrow := legacyToken(t, map[string]any{"subscribe": []string{"/.well-known/mercure/subscriptions/{topic}/{subscriber}"}})
	r = api("/.well-known/mercure/subscriptions", narrow)
	if r.status != http.StatusForbidden {
		t.Errorf("a token for single subscriptions reading the collection: %d", r.status)
	}
	mustContain(t, "WWW-Authenticate", r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	if r := api(one.ID, narrow); r.status != http.StatusOK {
		t.Errorf("a token for single subscriptions reading one: %d %s", r.status, r.body)
	}
	modern := accessToken(t, []map[string]any{detail([]string{"subscribe"}, map[string]string{"match": "/.well-known/mercure/subscriptions{/*}?", "match_type": "urlpattern"})}, gojwt.MapClaims{"aud": "x"})
	if r := api("/.well-known/mercure/subscriptions", modern); r.status != http.StatusOK {
		t.Errorf("an access token with a URL pattern: %d %s", r.status, r.body)
	}

	off := newEnv(t, mercure.Config{Anonymous: true})
	if r := off.do(http.MethodGet, off.srv.URL+"/.well-known/mercure/subscriptions", nil, bearer(reader)); r.status != http.StatusNotFound {
		t.Errorf("disabled API: %d", r.status)
	}
}
