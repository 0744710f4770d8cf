package mercure_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
)

// TestAccessTokenIsAccepted: a token minted from AccessToken publishes to
// the topics its patterns cover, and only those; bad patterns are refused
// before anything is signed.
func TestAccessTokenIsAccepted(t *testing.T) {
	e := newEnv(t, mercure.Config{Audience: "https://hub.example"})
	signer, err := jwt.NewSigner("HS256", []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	mint := func(at mercure.AccessToken) string {
		t.Helper()
		claims, err := at.Claims()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := signer.SignAccessToken(claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := mint(mercure.AccessToken{
		Publish:   []string{"https://example.com/books/:id"},
		MatchType: mercure.MatchURLPattern,
		Issuer:    "https://auth.example", Subject: "user-1", ClientID: "tool", Audience: "https://hub.example",
		IssuedAt: time.Now(), TTL: time.Hour,
	})
	e.mustPublish(tok, form("topic", "https://example.com/books/7", "data", "x"))
	if r := e.publish(tok, form("topic", "https://example.com/authors/7", "data", "x")); r.status != http.StatusForbidden {
		t.Fatalf("publish outside the pattern: %d %s", r.status, r.body)
	}
	for _, at := range []mercure.AccessToken{
		{Publish: []string{"https://example.com/{"}, MatchType: mercure.MatchURLPattern},
		{Publish: []string{"a"}, MatchType: "regex"},
	} {
		if _, err := at.Claims(); err == nil || !strings.HasPrefix(err.Error(), "mercure: ") {
			t.Errorf("Claims of %+v: %v, want an error", at, err)
		}
	}
}
