package sse_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	sse "github.com/valksor/go-sse"
)

// topicAuthorizer grants private topics from the X-Topics header and
// expiry from X-Expires-In; a request with X-Deny is refused. It stands for
// a token-based Authorizer in these hub tests.
type topicAuthorizer struct{}

func (topicAuthorizer) AuthorizeSubscribe(r *http.Request, topics []string) (sse.Grant, error) {
	if r.Header.Get("X-Deny") != "" {
		return sse.Grant{}, &sse.AuthError{Err: sse.ErrUnauthorized, Code: "invalid_token", Description: "the token has expired"}
	}
	allowed := strings.Split(r.Header.Get("X-Topics"), ",")
	g := sse.Grant{Private: func(t string) bool {
		for _, a := range allowed {
			if a == t {
				return true
			}
		}
		return false
	}}
	if d, err := time.ParseDuration(r.Header.Get("X-Expires-In")); err == nil {
		g.Expires = time.Now().Add(d)
	}
	return g, nil
}

func (topicAuthorizer) AuthorizePublish(r *http.Request, e sse.Event) error {
	if r.Header.Get("X-Publisher") == "" {
		return &sse.AuthError{Err: sse.ErrForbidden, Code: "insufficient_scope", Description: "this token may not publish"}
	}
	return nil
}

func TestPrivateEventsReachOnlyGrantedStreams(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		hub, srv := newHub(t, mode, sse.WithAuthorizer(topicAuthorizer{}))
		anon := open(t, srv, "/sse?topic=orders", nil)
		other := open(t, srv, "/sse?topic=orders", http.Header{"X-Topics": {"users"}})
		granted := open(t, srv, "/sse?topic=orders", http.Header{"X-Topics": {"orders"}})
		ctx := context.Background()
		for _, e := range []sse.Event{
			{Type: "secret", Topics: []string{"orders"}, Private: true},
			{Type: "public", Topics: []string{"orders"}},
		} {
			if err := hub.Broadcast(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if e := granted.next(); e.Type != "secret" {
			t.Fatalf("granted stream got %q first, want secret", e.Type)
		}
		for name, s := range map[string]*stream{"anonymous": anon, "other topic": other, "granted": granted} {
			if e := s.next(); e.Type != "public" {
				t.Fatalf("%s stream got %q, want public (and never secret)", name, e.Type)
			}
		}
		// The replay filters the same way.
		late := open(t, srv, "/sse?topic=orders&lastEventID=earliest", nil)
		if e := late.next(); e.Type != "public" {
			t.Fatalf("replay to an anonymous stream starts with %q", e.Type)
		}
	})
}

func TestStreamClosesWhenGrantExpires(t *testing.T) {
	eachMode(t, func(t *testing.T, mode sse.Option) {
		_, srv := newHub(t, mode, sse.WithAuthorizer(topicAuthorizer{}))
		s := open(t, srv, "/sse", http.Header{"X-Expires-In": {"200ms"}})
		if err := s.ended(); err == nil {
			t.Fatal("stream ended without an error")
		}
	})
}

func TestAuthorizerRefusals(t *testing.T) {
	_, srv := newHub(t, sse.WithAuthorizer(topicAuthorizer{}))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/sse", nil)
	req.Header.Set("X-Deny", "1")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("refused stream: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	status, hdr, body := post(t, srv, "/sse/publish", "application/json", `{"type":"x"}`, nil)
	if status != 403 || !strings.Contains(hdr.Get("WWW-Authenticate"), "insufficient_scope") || !strings.Contains(body, "may not publish") {
		t.Fatalf("refused publish: %d %q %s", status, hdr.Get("WWW-Authenticate"), body)
	}
	// The static token still works, and so does the authorizer's approval.
	if status, _, body := post(t, srv, "/sse/publish", "application/json", `{"type":"x"}`, bearer); status != 200 {
		t.Fatalf("static token: %d %s", status, body)
	}
	if status, _, body := post(t, srv, "/sse/publish", "application/json", `{"type":"x","private":true}`, map[string]string{"X-Publisher": "1"}); status != 200 {
		t.Fatalf("authorized publish: %d %s", status, body)
	}
	if _, err := sse.New(sse.WithAuthorizer(nil)); err == nil {
		t.Fatal("nil authorizer accepted")
	}
	if !errors.Is(&sse.AuthError{Err: sse.ErrForbidden}, sse.ErrForbidden) {
		t.Fatal("AuthError does not unwrap")
	}
}
