package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/jwt"
)

const (
	pubSecret   = "publisher-secret-0123456789abcdef"
	subSecret   = "subscriber-secret-0123456789abcdef"
	otherSecret = "another-secret-0123456789abcdefghij"
)

// t0 is the fixed "now" of these tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	ecKey = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
	edKey = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

// sign mints a token with alg and key (a secret string or a private key).
func sign(t testing.TB, alg string, key any, c jwt.Claims) string {
	t.Helper()
	if s, ok := key.(string); ok {
		key = []byte(s)
	}
	tok, err := gojwt.NewWithClaims(gojwt.GetSigningMethod(alg), c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claims returns claims valid at t0 for an hour with the given patterns.
func claims(publish, subscribe []string) jwt.Claims {
	return jwt.Claims{
		RegisteredClaims: gojwt.RegisteredClaims{ExpiresAt: gojwt.NewNumericDate(t0.Add(time.Hour))},
		Valksor:          &jwt.Scopes{Publish: publish, Subscribe: subscribe},
	}
}

func mustKey(t testing.TB, alg string, material any) jwt.Key {
	t.Helper()
	k, err := jwt.NewKey(alg, material)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// hmacAuthorizer has different publisher and subscriber secrets.
func hmacAuthorizer(t testing.TB, anonymous bool) *jwt.Authorizer {
	t.Helper()
	a, err := jwt.New(jwt.Config{
		PublisherKeys:      []jwt.Key{mustKey(t, "", []byte(pubSecret))},
		SubscriberKeys:     []jwt.Key{mustKey(t, "", []byte(subSecret))},
		AnonymousSubscribe: anonymous,
		Now:                func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// unsigned builds an alg-none token with c.
func unsigned(t testing.TB, alg string, c jwt.Claims) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	p, _ := json.Marshal(c)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "."
}

// refusal checks that err is a 401 invalid_token (or the given code and
// sentinel) whose description contains says.
func refusal(t *testing.T, err error, sentinel error, code, says string) {
	t.Helper()
	var ae *sse.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *sse.AuthError", err, err)
	}
	if !errors.Is(err, sentinel) || ae.Code != code || !strings.Contains(ae.Description, says) {
		t.Fatalf("refusal %+v, want %v, code %q, description containing %q", ae, sentinel, code, says)
	}
	for _, r := range ae.Description {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			t.Fatalf("description %q has a character unfit for a header", ae.Description)
		}
	}
}

func TestAuthParseDefects(t *testing.T) {
	a := hmacAuthorizer(t, true)
	ctx := context.Background()
	good := claims([]string{"*"}, []string{"*"})
	expired := good
	expired.ExpiresAt = gojwt.NewNumericDate(t0.Add(-time.Minute))
	early := good
	early.NotBefore = gojwt.NewNumericDate(t0.Add(time.Hour))
	early.ExpiresAt = gojwt.NewNumericDate(t0.Add(2 * time.Hour))

	if c, err := a.Parse(ctx, sign(t, "HS256", pubSecret, good), jwt.Publisher); err != nil || c.Scopes().Publish[0] != "*" {
		t.Fatalf("valid publisher token: %v %+v", err, c)
	}
	if _, err := a.Parse(ctx, sign(t, "HS256", subSecret, good), jwt.Subscriber); err != nil {
		t.Fatalf("valid subscriber token: %v", err)
	}
	tests := []struct {
		name  string
		token string
		role  jwt.Role
		says  string
	}{
		{"alg none", unsigned(t, "none", good), jwt.Publisher, "alg none"},
		{"alg NONE", unsigned(t, "NONE", good), jwt.Publisher, "alg none"},
		{"alg missing", unsigned(t, "", good), jwt.Subscriber, "alg none"},
		{"wrong algorithm", sign(t, "HS512", pubSecret, good), jwt.Publisher, "algorithm 'HS512' is not accepted for publisher tokens; sign them with HS256"},
		{"bad signature", sign(t, "HS256", otherSecret, good), jwt.Publisher, "signature does not verify with the publisher key"},
		{"subscriber key used to publish", sign(t, "HS256", subSecret, good), jwt.Publisher, "signature does not verify"},
		{"publisher key used to subscribe", sign(t, "HS256", pubSecret, good), jwt.Subscriber, "signature does not verify with the subscriber key"},
		{"expired", sign(t, "HS256", pubSecret, expired), jwt.Publisher, "the token expired at 2026-03-01T11:59:00Z"},
		{"not yet valid", sign(t, "HS256", pubSecret, early), jwt.Publisher, "not valid before 2026-03-01T13:00:00Z (nbf)"},
		{"two parts", "abc.def", jwt.Publisher, "three dot-separated parts"},
		{"static token", "0123456789abcdef", jwt.Publisher, "malformed"},
		{"header not base64", "!!!.e30.sig", jwt.Publisher, "header is not base64url"},
		{"header not json", base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".e30.x", jwt.Publisher, "header is not a JSON object"},
		{"claims not json", strings.Join([]string{base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)), "bm9wZQ", "x"}, "."), jwt.Publisher, "malformed"},
		{"unknown algorithm", unsigned(t, "XX999", good) + "c2ln", jwt.Publisher, "algorithm 'XX999' is not accepted"},
		{"too long", strings.Repeat("a", jwt.MaxTokenBytes+1), jwt.Publisher, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Parse(ctx, tt.token, tt.role)
			refusal(t, err, sse.ErrUnauthorized, "invalid_token", tt.says)
		})
	}
	// A claim of the wrong type is malformed, not a panic or a pass.
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p := base64.RawURLEncoding.EncodeToString([]byte(`{"valksor":{"publish":7}}`))
	tok, err := gojwt.SigningMethodHS256.Sign(h+"."+p, []byte(pubSecret))
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Parse(ctx, h+"."+p+"."+base64.RawURLEncoding.EncodeToString(tok), jwt.Publisher)
	refusal(t, err, sse.ErrUnauthorized, "invalid_token", "malformed")
}

func TestAuthAsymmetricKeys(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return t0 }
	good := claims([]string{"*"}, nil)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		alg     string // pinned algorithm ("" = derived)
		public  any
		signAlg string
		private any
		says    string // "" = accepted
	}{
		{"RS256", "", &rsaKey().PublicKey, "RS256", rsaKey(), ""},
		{"PS256 pinned", "PS256", &rsaKey().PublicKey, "PS256", rsaKey(), ""},
		{"RS256 refused when PS256 pinned", "PS256", &rsaKey().PublicKey, "RS256", rsaKey(), "algorithm 'RS256' is not accepted"},
		{"ES256", "", &ecKey().PublicKey, "ES256", ecKey(), ""},
		{"EdDSA", "", edKey().Public(), "EdDSA", edKey(), ""},
		{"ES384 on a P-256 key", "", &ecKey().PublicKey, "ES384", p384, "algorithm 'ES384' is not accepted"},
		{"another RSA key", "", &rsaKey().PublicKey, "ES256", ecKey(), "algorithm 'ES256' is not accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := jwt.New(jwt.Config{PublisherKeys: []jwt.Key{mustKey(t, tt.alg, tt.public)}, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Parse(ctx, sign(t, tt.signAlg, tt.private, good), jwt.Publisher)
			if tt.says == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			refusal(t, err, sse.ErrUnauthorized, "invalid_token", tt.says)
		})
	}

	// The classic confusion: an HS256 token "signed" with the RSA public key
	// as the HMAC secret must not pass with an RSA-pinned server.
	der, err := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	dir := t.TempDir()
	path := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(path, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := jwt.LoadKey("file:"+path, "")
	if err != nil || k.Algorithm != "RS256" {
		t.Fatalf("LoadKey: %v %+v", err, k)
	}
	a, err := jwt.New(jwt.Config{PublisherKeys: []jwt.Key{k}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Parse(ctx, sign(t, "HS256", string(pemBytes), good), jwt.Publisher)
	refusal(t, err, sse.ErrUnauthorized, "invalid_token", "algorithm 'HS256' is not accepted for publisher tokens; sign them with RS256")
	if _, err := a.Parse(ctx, sign(t, "RS256", rsaKey(), good), jwt.Publisher); err != nil {
		t.Fatalf("RS256 with the PEM key: %v", err)
	}
	// Without subscriber keys, no subscriber token passes.
	_, err = a.Parse(ctx, sign(t, "RS256", rsaKey(), good), jwt.Subscriber)
	refusal(t, err, sse.ErrUnauthorized, "invalid_token", "accepts no subscriber tokens")
}

func TestAuthLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return "file:" + p
	}
	pkix := func(k any) []byte {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey().PublicKey, ecKey())
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(ecKey())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, spec, alg, want, err string
	}{
		{"secret", pubSecret, "", "HS256", ""},
		{"secret HS512", pubSecret, "HS512", "HS512", ""},
		{"short secret", "secret", "", "", "at least 32 bytes"},
		{"secret with RS256", pubSecret, "RS256", "", "cannot be used with an HMAC secret"},
		{"secret file", write("secret", []byte(pubSecret+"\n")), "", "HS256", ""},
		{"RSA PEM", write("rsa.pem", pkix(&rsaKey().PublicKey)), "", "RS256", ""},
		{"PKCS1 PEM", write("rsa1.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey().PublicKey)})), "RS512", "RS512", ""},
		{"EC PEM", write("ec.pem", pkix(&ecKey().PublicKey)), "", "ES256", ""},
		{"Ed25519 PEM", write("ed.pem", pkix(edKey().Public())), "", "EdDSA", ""},
		{"certificate", write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})), "", "ES256", ""},
		{"private key", write("priv.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "", "", "give the server the public key"},
		{"EC with HS256", write("ec2.pem", pkix(&ecKey().PublicKey)), "HS256", "", "cannot be used with an ECDSA key on P-256"},
		{"missing file", "file:" + filepath.Join(dir, "nope"), "", "", "no such file"},
		{"garbage PEM", write("bad.pem", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")), "", "", "parse public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := jwt.LoadKey(tt.spec, tt.alg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || k.Algorithm != tt.want {
				t.Fatalf("got %+v, %v; want %s", k, err, tt.want)
			}
		})
	}
}

func TestAuthorizePublish(t *testing.T) {
	a := hmacAuthorizer(t, true)
	req := func(tok string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/sse/publish", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	orders := sign(t, "HS256", pubSecret, claims([]string{"orders/*", "news"}, nil))
	mercure := sign(t, "HS256", pubSecret, jwt.Claims{Mercure: &jwt.Scopes{Publish: []string{"*"}}})
	noClaim := sign(t, "HS256", pubSecret, jwt.Claims{})
	tests := []struct {
		name string
		tok  string
		e    sse.Event
		code string // "" = allowed
		says string
	}{
		{"prefix", orders, sse.Event{Topics: []string{"orders/7"}}, "", ""},
		{"prefix private", orders, sse.Event{Topics: []string{"orders/7", "news"}, Private: true}, "", ""},
		{"outside the prefix", orders, sse.Event{Topics: []string{"orders"}}, "insufficient_scope", "does not cover topic 'orders'"},
		{"one topic not covered", orders, sse.Event{Topics: []string{"news", "users/1"}, Private: true}, "insufficient_scope", "'users/1'"},
		{"public channel", orders, sse.Event{}, "insufficient_scope", "'default'"},
		{"mercure claim", mercure, sse.Event{Topics: []string{"anything"}, Private: true}, "", ""},
		{"no claim", noClaim, sse.Event{}, "insufficient_scope", "no publish claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.AuthorizePublish(req(tt.tok), tt.e)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			refusal(t, err, sse.ErrForbidden, tt.code, tt.says)
		})
	}
	refusal(t, a.AuthorizePublish(req(""), sse.Event{}), sse.ErrUnauthorized, "", "needs a token")
}

func TestAuthorizeSubscribe(t *testing.T) {
	open := hmacAuthorizer(t, true)
	closed := hmacAuthorizer(t, false)
	stream := func(tok string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/sse?topic=orders/7", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	g, err := open.AuthorizeSubscribe(stream(""), []string{"orders/7"})
	if err != nil || g.Private != nil || !g.Expires.IsZero() {
		t.Fatalf("anonymous: %+v %v", g, err)
	}
	_, err = closed.AuthorizeSubscribe(stream(""), []string{"orders/7"})
	refusal(t, err, sse.ErrUnauthorized, "", "needs a token to subscribe")

	tok := sign(t, "HS256", subSecret, claims(nil, []string{"orders/*"}))
	for name, a := range map[string]*jwt.Authorizer{"open": open, "closed": closed} {
		g, err := a.AuthorizeSubscribe(stream(tok), []string{"orders/7"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !g.Private("orders/7") || g.Private("users/1") || g.Private("orders") {
			t.Fatalf("%s: grant covers the wrong topics", name)
		}
		if !g.Expires.Equal(t0.Add(time.Hour)) {
			t.Fatalf("%s: grant expires %v, want the token's exp", name, g.Expires)
		}
	}
	// Open: any topic may be listened to (public events stay public).
	if _, err := open.AuthorizeSubscribe(stream(tok), []string{"users/1"}); err != nil {
		t.Fatal(err)
	}
	// Closed: every topic must be covered.
	_, err = closed.AuthorizeSubscribe(stream(tok), []string{"orders/7", "users/1"})
	refusal(t, err, sse.ErrForbidden, "insufficient_scope", "does not cover topic 'users/1'")
	// A bad token is refused even where anonymous streams are allowed.
	_, err = open.AuthorizeSubscribe(stream(sign(t, "HS256", otherSecret, claims(nil, []string{"*"}))), []string{"orders/7"})
	refusal(t, err, sse.ErrUnauthorized, "invalid_token", "signature")
}

func TestTokenSources(t *testing.T) {
	a, err := jwt.New(jwt.Config{PublisherKeys: []jwt.Key{mustKey(t, "", []byte(pubSecret))}, Cookie: "myCookie"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		setup  func(r *http.Request)
		want   string
		source jwt.Source
	}{
		{"none", func(r *http.Request) {}, "", jwt.NoToken},
		{"header", func(r *http.Request) { r.Header.Set("Authorization", "bearer  h ") }, "h", jwt.FromHeader},
		{"header wins", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer h")
			r.AddCookie(&http.Cookie{Name: "myCookie", Value: "c"})
		}, "h", jwt.FromHeader},
		{"basic ignored", func(r *http.Request) {
			r.Header.Set("Authorization", "Basic eDp5")
			r.AddCookie(&http.Cookie{Name: "myCookie", Value: "c"})
		}, "c", jwt.FromCookie},
		{"configured cookie first", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: jwt.MercureCookie, Value: "m"})
			r.AddCookie(&http.Cookie{Name: "myCookie", Value: "c"})
		}, "c", jwt.FromCookie},
		{"mercure cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: jwt.MercureCookie, Value: "m"}) }, "m", jwt.FromCookie},
		{"default cookie not read", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: jwt.DefaultCookie, Value: "d"}) }, "", jwt.NoToken},
		{"query", func(r *http.Request) { r.URL.RawQuery = "topic=a&authorization=q" }, "q", jwt.FromQuery},
		{"cookie before query", func(r *http.Request) {
			r.URL.RawQuery = "authorization=q"
			r.AddCookie(&http.Cookie{Name: "myCookie", Value: "c"})
		}, "c", jwt.FromCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/sse", nil)
			tt.setup(r)
			if tok, src := a.Token(r); tok != tt.want || src != tt.source {
				t.Fatalf("Token = %q, %v; want %q, %v", tok, src, tt.want, tt.source)
			}
		})
	}
}

func TestAuthMatch(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"*", "anything", true},
		{"*", "", true},
		{"orders/*", "orders/7", true},
		{"orders/*", "orders/", true},
		{"orders/*", "orders", false},
		{"orders/*", "ordersX", false},
		{"orders*", "ordersX", true},
		{"orders/7", "orders/7", true},
		{"orders/7", "orders/70", false},
		{"", "", false},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := jwt.Match(tt.pattern, tt.topic); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
	}
}

func TestAuthPatternsAcceptAString(t *testing.T) {
	var s jwt.Scopes
	if err := json.Unmarshal([]byte(`{"publish":"*","subscribe":["a","b"]}`), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Publish) != 1 || s.Publish[0] != "*" || len(s.Subscribe) != 2 {
		t.Fatalf("got %+v", s)
	}
	if err := json.Unmarshal([]byte(`{"publish":{}}`), &s); err == nil {
		t.Fatal("an object was accepted as patterns")
	}
}

// jwksServer serves a JWKS document that the test can replace, counting
// requests.
type jwksServer struct {
	*httptest.Server
	mu    sync.Mutex
	doc   []byte
	count atomic.Int64
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(s.doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(keys ...map[string]string) {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	s.mu.Lock()
	s.doc = b
	s.mu.Unlock()
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]string {
	b, err := k.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	enc := base64.RawURLEncoding
	return map[string]string{"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "x": enc.EncodeToString(b[1:33]), "y": enc.EncodeToString(b[33:])}
}

func rsaJWK(kid string, k *rsa.PublicKey) map[string]string {
	enc := base64.RawURLEncoding
	return map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "n": enc.EncodeToString(k.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func signKid(t *testing.T, alg, kid string, key any, c jwt.Claims) string {
	t.Helper()
	tok := gojwt.NewWithClaims(gojwt.GetSigningMethod(alg), c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthJWKS(t *testing.T) {
	srv := newJWKSServer(t)
	srv.serve(ecJWK("ec-1", &ecKey().PublicKey), map[string]string{"kty": "oct", "kid": "skipped", "k": "c2VjcmV0"})
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	a, err := jwt.New(jwt.Config{JWKSURL: srv.URL, Now: clock, JWKSMinInterval: 10 * time.Second, AnonymousSubscribe: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	good := claims([]string{"*"}, []string{"*"})
	for _, role := range []jwt.Role{jwt.Publisher, jwt.Subscriber} {
		if _, err := a.Parse(ctx, signKid(t, "ES256", "ec-1", ecKey(), good), role); err != nil {
			t.Fatalf("%v token with a JWKS key: %v", role, err)
		}
	}
	if n := srv.count.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1 (cached)", n)
	}
	// An unknown kid fetches again, once per interval.
	for range 3 {
		_, err = a.Parse(ctx, signKid(t, "ES256", "nope", ecKey(), good), jwt.Publisher)
		refusal(t, err, sse.ErrUnauthorized, "invalid_token", "no key with id 'nope'")
	}
	if n := srv.count.Load(); n != 1 {
		t.Fatalf("%d fetches within the interval, want 1", n)
	}
	// Key rotation: the new kid is found after the interval.
	srv.serve(ecJWK("ec-1", &ecKey().PublicKey), rsaJWK("rsa-2", &rsaKey().PublicKey))
	advance(11 * time.Second)
	if _, err := a.Parse(ctx, signKid(t, "RS256", "rsa-2", rsaKey(), good), jwt.Publisher); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n := srv.count.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// The kid's key pins the algorithm: RS256's key does not verify PS256.
	_, err = a.Parse(ctx, signKid(t, "PS256", "rsa-2", rsaKey(), good), jwt.Publisher)
	refusal(t, err, sse.ErrUnauthorized, "invalid_token", "no key with id 'rsa-2' and algorithm 'PS256'")
	// A wrong key under a known kid is a bad signature.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err = a.Parse(ctx, signKid(t, "ES256", "ec-1", other, good), jwt.Subscriber)
	refusal(t, err, sse.ErrUnauthorized, "invalid_token", "signature")
	// A token without kid is tried against every key of its algorithm.
	if _, err := a.Parse(ctx, sign(t, "ES256", ecKey(), good), jwt.Subscriber); err != nil {
		t.Fatalf("token without kid: %v", err)
	}
}

func TestAuthParseJWKS(t *testing.T) {
	for _, bad := range []string{
		`nope`,
		`{"keys":[]}`,
		`{"keys":[{"kty":"oct","k":"abc"}]}`,
		`{"keys":[{"kty":"RSA","n":"","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`,
		`{"keys":[{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}]}`,
		`{"keys":[{"kty":"RSA","alg":"ES256","n":"` + base64.RawURLEncoding.EncodeToString(rsaKey().N.Bytes()) + `","e":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","use":"enc","n":"` + base64.RawURLEncoding.EncodeToString(rsaKey().N.Bytes()) + `","e":"AQAB"}]}`,
	} {
		if keys, err := jwt.ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("ParseJWKS(%.60s) = %+v, want an error", bad, keys)
		}
	}
	pub := edKey().Public().(ed25519.PublicKey)
	keys, err := jwt.ParseJWKS([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}]}`))
	if err != nil || len(keys) != 1 || keys[0].Algorithm != "EdDSA" || keys[0].ID != "ed" {
		t.Fatalf("Ed25519 JWK: %+v %v", keys, err)
	}
}

func TestAuthJWKSUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	a, err := jwt.New(jwt.Config{JWKSURL: srv.URL, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("Refresh = %v, want the 502", err)
	}
	_, err = a.Parse(context.Background(), sign(t, "ES256", ecKey(), claims([]string{"*"}, nil)), jwt.Publisher)
	refusal(t, err, sse.ErrUnauthorized, "invalid_token", "no publisher key accepts algorithm 'ES256'")
}

func TestAuthSigner(t *testing.T) {
	a := hmacAuthorizer(t, true)
	s, err := jwt.NewSigner("", []byte(pubSecret))
	if err != nil || s.Algorithm != "HS256" {
		t.Fatalf("NewSigner: %v %+v", err, s)
	}
	tok, err := s.Sign(claims([]string{"a"}, []string{"b"}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Parse(context.Background(), tok, jwt.Publisher)
	if err != nil || c.Scopes().Publish[0] != "a" || c.Scopes().Subscribe[0] != "b" {
		t.Fatalf("round trip: %v %+v", err, c)
	}
	if _, err := jwt.NewSigner("", []byte("short")); err == nil {
		t.Fatal("short secret accepted")
	}
	for _, key := range []any{rsaKey(), ecKey(), edKey()} {
		s, err := jwt.NewSigner("", key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sign(claims(nil, nil)); err != nil {
			t.Fatalf("%s: %v", s.Algorithm, err)
		}
	}
	if _, err := jwt.New(jwt.Config{}); err == nil {
		t.Fatal("New without keys succeeded")
	}
	if _, err := jwt.New(jwt.Config{PublisherKeys: []jwt.Key{{Algorithm: "HS256"}}}); err == nil {
		t.Fatal("New with a hand-made key succeeded")
	}
}

// signRaw signs a payload written by hand, for claims the Claims type cannot
// express (exp null, exp 1e30).
func signRaw(t *testing.T, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := gojwt.SigningMethodHS256.Sign(h, []byte(pubSecret))
	if err != nil {
		t.Fatal(err)
	}
	return h + "." + enc.EncodeToString(sig)
}

// TestAuthExpiry: tokens without exp are accepted unless RequireExp or
// MaxTTL says otherwise; MaxTTL bounds how far ahead exp may be; an exp that
// is not a time is refused with a message saying so, not a nonsense date.
func TestAuthExpiry(t *testing.T) {
	ctx := context.Background()
	newA := func(requireExp bool, maxTTL time.Duration) *jwt.Authorizer {
		a, err := jwt.New(jwt.Config{
			PublisherKeys: []jwt.Key{mustKey(t, "", []byte(pubSecret))},
			RequireExp:    requireExp,
			MaxTTL:        maxTTL,
			Now:           func() time.Time { return t0 },
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	scopes := `"valksor":{"publish":["*"]}`
	inHour := fmt.Sprint(t0.Add(time.Hour).Unix())
	inWeek := fmt.Sprint(t0.Add(7 * 24 * time.Hour).Unix())
	tests := []struct {
		name       string
		requireExp bool
		maxTTL     time.Duration
		payload    string
		says       string // "" means accepted
	}{
		{"no exp, default", false, 0, `{` + scopes + `}`, ""},
		{"exp null, default", false, 0, `{"exp":null,` + scopes + `}`, ""},
		{"no exp, required", true, 0, `{` + scopes + `}`, "has no expiry (exp) and this server requires one"},
		{"exp null, required", true, 0, `{"exp":null,` + scopes + `}`, "has no expiry (exp)"},
		{"exp, required", true, 0, `{"exp":` + inHour + `,` + scopes + `}`, ""},
		{"no exp, max ttl", false, 24 * time.Hour, `{` + scopes + `}`, "has no expiry (exp)"},
		{"within max ttl", false, 24 * time.Hour, `{"exp":` + inHour + `,` + scopes + `}`, ""},
		{"beyond max ttl", false, 24 * time.Hour, `{"exp":` + inWeek + `,` + scopes + `}`, "expires in 168h0m0s, later than this server accepts (auth.max_ttl 24h0m0s)"},
		{"exp 1e30", false, 0, `{"exp":1e30,` + scopes + `}`, "exp '1e30' is not a time"},
		{"negative exp", false, 0, `{"exp":-5,` + scopes + `}`, "exp '-5' is not a time"},
		{"exp a string", false, 0, `{"exp":"soon",` + scopes + `}`, "exp '\"soon\"'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newA(tt.requireExp, tt.maxTTL).Parse(ctx, signRaw(t, tt.payload), jwt.Publisher)
			if tt.says == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			refusal(t, err, sse.ErrUnauthorized, "invalid_token", strings.ReplaceAll(tt.says, `"`, "?"))
		})
	}
}
