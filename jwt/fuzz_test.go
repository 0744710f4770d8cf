package jwt_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	gojwt "github.com/golang-jwt/jwt/v5"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/jwt"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// checkOutcome fails unless err is nil (with claims) or an *sse.AuthError
// wrapping sse.ErrUnauthorized with code invalid_token.
func checkOutcome(t *testing.T, c *jwt.Claims, err error) {
	t.Helper()
	if err == nil {
		if c == nil {
			t.Fatal("no error and no claims")
		}
		_ = c.Scopes()
		return
	}
	var ae *sse.AuthError
	if !errors.As(err, &ae) || !errors.Is(err, sse.ErrUnauthorized) || ae.Code != "invalid_token" || ae.Description == "" {
		t.Fatalf("error %#v is not a 401 invalid_token refusal", err)
	}
}

// FuzzParse feeds arbitrary token strings to Parse and to the request
// paths: nothing panics, and every outcome is a verified token or a 401.
func FuzzParse(f *testing.F) {
	a := hmacAuthorizer(f, true)
	good := claims([]string{"orders/*"}, []string{"*"})
	for _, seed := range []string{
		"",
		"a.b.c",
		"..",
		sign(f, "HS256", pubSecret, good),
		sign(f, "HS256", subSecret, good),
		sign(f, "HS384", pubSecret, good),
		sign(f, "ES256", ecKey(), good),
		unsigned(f, "none", good),
		"eyJhbGciOiJIUzI1NiJ9.e30.",
		"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiJ4In0.AAAA",
		"eyJhbGciOlsxXX0.e30.AA",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		for _, role := range []jwt.Role{jwt.Publisher, jwt.Subscriber} {
			c, err := a.Parse(ctx, token, role)
			checkOutcome(t, c, err)
		}
		r := httptest.NewRequest(http.MethodGet, "/sse", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		g, err := a.AuthorizeSubscribe(r, []string{"orders/7"})
		if err == nil && g.Private != nil {
			_ = g.Private("orders/7")
		}
		if err != nil && !errors.Is(err, sse.ErrUnauthorized) && !errors.Is(err, sse.ErrForbidden) {
			t.Fatalf("AuthorizeSubscribe error %v wraps neither sentinel", err)
		}
		err = a.AuthorizePublish(r, sse.Event{Topics: []string{"orders/7"}, Private: true})
		if err != nil && !errors.Is(err, sse.ErrUnauthorized) && !errors.Is(err, sse.ErrForbidden) {
			t.Fatalf("AuthorizePublish error %v wraps neither sentinel", err)
		}
	})
}

// FuzzClaims signs arbitrary claim payloads with the publisher secret, so
// that the claims decoding (behind the signature check) is fuzzed too.
func FuzzClaims(f *testing.F) {
	a := hmacAuthorizer(f, true)
	for _, seed := range []string{
		`{}`,
		`{"exp":1}`,
		`{"exp":99999999999,"valksor":{"publish":["*"]}}`,
		`{"exp":"soon"}`,
		`{"exp":1e400}`,
		`{"nbf":-1e300,"exp":1e300}`,
		`{"mercure":{"publish":"*","subscribe":[1]}}`,
		`{"valksor":null,"mercure":{"subscribe":["a*"]}}`,
		`{"aud":["x",1]}`,
		`[]`,
		`null`,
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	f.Fuzz(func(t *testing.T, payload string) {
		text := header + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
		sig, err := gojwt.SigningMethodHS256.Sign(text, []byte(pubSecret))
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Parse(ctx, text+"."+base64.RawURLEncoding.EncodeToString(sig), jwt.Publisher)
		checkOutcome(t, c, err)
		if err == nil {
			for _, p := range c.Scopes().Publish {
				_ = jwt.Match(p, "orders/7")
			}
		}
	})
}
