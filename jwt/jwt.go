// Package jwt authorizes valksor-sse streams and publishers with JSON Web
// Tokens. Its Authorizer implements sse.Authorizer:
//
//   - Publisher tokens are verified with the publisher keys, subscriber
//     tokens with the subscriber keys, and either with the keys of a JWKS
//     document. Every key accepts exactly one algorithm: "none", another
//     algorithm, a bad signature, an expired token (exp) and a token not yet
//     valid (nbf) are refused with 401 and an RFC 6750 challenge
//     (error="invalid_token" and a description of the defect).
//   - The claim {"valksor": {"publish": [...], "subscribe": [...]}} (or
//     Mercure's {"mercure": {...}}, so Mercure tokens work) lists topic
//     patterns: "*" for every topic, "orders/*" for a prefix, "orders/7"
//     for one topic. A publisher may publish only to topics its publish
//     patterns cover (private events likewise); a stream receives private
//     events only for topics its subscribe patterns cover. A valid token
//     without the needed pattern is refused with 403 insufficient_scope.
//   - Tokens come from "Authorization: Bearer", then a cookie (Config.Cookie,
//     and "mercureAuthorization"), then the "authorization" query parameter.
//   - A stream's grant expires with its token, so the hub closes the stream
//     then and the client reconnects with a fresh token.
//   - Config.RequireExp refuses tokens without exp, and Config.MaxTTL tokens
//     that expire too far ahead; both are off by default, for tokens minted
//     the Mercure way, and recommended in production.
//
// Wiring it into a hub:
//
//	key, err := jwt.LoadKey(os.Getenv("SSE_JWT_SECRET"), "") // a secret, or "file:public.pem"
//	if err != nil { ... }
//	auth, err := jwt.New(jwt.Config{PublisherKeys: []jwt.Key{key}, AnonymousSubscribe: true, RequireExp: true})
//	if err != nil { ... }
//	hub, err := sse.New(sse.WithAuthorizer(auth))
//
// [Signer] mints tokens with the same claims, as the valksor-sse token
// command does. The repository's docs/production.md describes the claims
// and the answers from a user's side.
package jwt

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	sse "github.com/valksor/go-sse"
)

// DefaultCookie is the cookie read for a token when Config.Cookie is empty.
const DefaultCookie = "valksorSSEAuthorization"

// MercureCookie is the cookie Mercure clients use; it is always accepted.
const MercureCookie = "mercureAuthorization"

// QueryParam is the query parameter read for a token (EventSource cannot
// send headers).
const QueryParam = "authorization"

// MaxTokenBytes bounds the length of a token: room for a Mercure access
// token at the reference hub's limits (100 authorization details holding
// 100 topic matchers), well under net/http's limit on request headers.
const MaxTokenBytes = 64 << 10

// Role selects the keys that verify a token.
type Role int

// The roles: publisher tokens are checked against Config.PublisherKeys,
// subscriber tokens against Config.SubscriberKeys; JWKS keys serve both.
const (
	// Publisher tokens publish; Config.PublisherKeys verify them.
	Publisher Role = iota + 1
	// Subscriber tokens open streams; Config.SubscriberKeys verify them.
	Subscriber
)

// String returns "publisher" or "subscriber".
func (r Role) String() string {
	if r == Publisher {
		return "publisher"
	}
	return "subscriber"
}

// Source tells where a request carried its token.
type Source int

// Token sources, in the order they are looked at.
const (
	// NoToken means the request carries no token.
	NoToken Source = iota
	// FromHeader is the Authorization header (Bearer scheme).
	FromHeader
	// FromCookie is one of the auth cookies, which browsers send on their
	// own: a publish authenticated this way needs an origin check (CSRF).
	FromCookie
	// FromQuery is the authorization query parameter.
	FromQuery
)

// Config configures an Authorizer.
type Config struct {
	// PublisherKeys verify publisher tokens.
	PublisherKeys []Key
	// SubscriberKeys verify subscriber tokens.
	SubscriberKeys []Key
	// JWKSURL, when set, names a JWKS document whose keys verify tokens of
	// both roles. It is fetched on first use (or by Refresh), cached for
	// JWKSMaxAge and fetched again for an unknown kid, at most once per
	// JWKSMinInterval.
	JWKSURL string
	// JWKSMinInterval is the shortest time between two fetches of the
	// JWKS document (default 10s).
	JWKSMinInterval time.Duration
	// JWKSMaxAge is how long fetched keys are used before the document is
	// fetched again (default 1h).
	JWKSMaxAge time.Duration
	// HTTPClient fetches the JWKS document (default: a client with a 10s
	// timeout).
	HTTPClient *http.Client
	// Cookie names the cookie holding a token (default DefaultCookie).
	// MercureCookie is read as well.
	Cookie string
	// AnonymousSubscribe lets a stream without a token open: it receives
	// public events only. When false, every stream needs a subscriber token
	// whose subscribe patterns cover each of its topics.
	AnonymousSubscribe bool
	// RequireExp refuses tokens without an expiry (no exp claim, or
	// "exp": null), which would otherwise never expire. Off by default, for
	// tokens minted the Mercure way without one; recommended in production.
	RequireExp bool
	// MaxTTL, when positive, refuses tokens that expire more than MaxTTL
	// from now, and tokens without exp: a leaked token is then useful for
	// at most MaxTTL.
	MaxTTL time.Duration
	// Now returns the current time (default time.Now), for tests.
	Now func() time.Time
	// Logger receives warnings such as a failed JWKS fetch (default
	// slog.Default()).
	Logger *slog.Logger
}

// Authorizer checks stream and publish requests against JWTs. It implements
// sse.Authorizer and is safe for concurrent use.
type Authorizer struct {
	pub, sub []Key
	jwks     *jwks
	cookies  []string
	anon     bool
	needExp  bool
	maxTTL   time.Duration
	now      func() time.Time
	log      *slog.Logger
}

var _ sse.Authorizer = (*Authorizer)(nil)

// New returns an Authorizer for c. It needs at least one key or a JWKS URL.
func New(c Config) (*Authorizer, error) {
	if len(c.PublisherKeys) == 0 && len(c.SubscriberKeys) == 0 && c.JWKSURL == "" {
		return nil, errors.New("jwt: no keys: give publisher keys, subscriber keys or a JWKS URL")
	}
	for _, k := range append(append([]Key(nil), c.PublisherKeys...), c.SubscriberKeys...) {
		if k.material == nil || k.Algorithm == "" {
			return nil, errors.New("jwt: a key was not made with NewKey or LoadKey")
		}
	}
	a := &Authorizer{
		pub:     c.PublisherKeys,
		sub:     c.SubscriberKeys,
		anon:    c.AnonymousSubscribe,
		now:     c.Now,
		maxTTL:  c.MaxTTL,
		needExp: c.RequireExp || c.MaxTTL > 0,
		log:     c.Logger,
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	cookie := c.Cookie
	if cookie == "" {
		cookie = DefaultCookie
	}
	a.cookies = []string{cookie}
	if cookie != MercureCookie {
		a.cookies = append(a.cookies, MercureCookie)
	}
	if c.JWKSURL != "" {
		if !strings.HasPrefix(c.JWKSURL, "https://") && !strings.HasPrefix(c.JWKSURL, "http://") {
			return nil, fmt.Errorf("jwt: JWKS URL %q must be http:// or https://", c.JWKSURL)
		}
		j := &jwks{url: c.JWKSURL, client: c.HTTPClient, minInterval: c.JWKSMinInterval, maxAge: c.JWKSMaxAge, now: a.now}
		if j.client == nil {
			j.client = &http.Client{Timeout: 10 * time.Second}
		}
		if j.minInterval <= 0 {
			j.minInterval = 10 * time.Second
		}
		if j.maxAge <= 0 {
			j.maxAge = time.Hour
		}
		a.jwks = j
	}
	return a, nil
}

// Refresh fetches the JWKS document now (a no-op without one). A server
// calls it at start to learn early that the URL works; a failure is not
// fatal, as lookups fetch again later.
func (a *Authorizer) Refresh(ctx context.Context) error {
	if a.jwks == nil {
		return nil
	}
	return a.jwks.refresh(ctx, true)
}

// Token returns the token of r and where it was found: the Authorization
// header with the Bearer scheme, else the first configured cookie present,
// else the authorization query parameter. An Authorization header with
// another scheme is ignored.
func (a *Authorizer) Token(r *http.Request) (string, Source) {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			return tok, FromHeader
		}
	}
	for _, name := range a.cookies {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value, FromCookie
		}
	}
	if tok := r.URL.Query().Get(QueryParam); tok != "" {
		return tok, FromQuery
	}
	return "", NoToken
}

// Cookies returns the names of the cookies read for a token.
func (a *Authorizer) Cookies() []string { return append([]string(nil), a.cookies...) }

// AuthorizeSubscribe implements sse.Authorizer. Without a token the stream
// opens for public events when anonymous subscribers are allowed; with one,
// the token must be a valid subscriber token, and its subscribe patterns
// decide which private events the stream receives (and, when anonymous
// subscribers are not allowed, which topics it may listen to at all).
func (a *Authorizer) AuthorizeSubscribe(r *http.Request, topics []string) (sse.Grant, error) {
	tok, _ := a.Token(r)
	if tok == "" {
		if a.anon {
			return sse.Grant{}, nil
		}
		return sse.Grant{}, &sse.AuthError{Err: sse.ErrUnauthorized, Description: "this server needs a token to subscribe; send Authorization: Bearer <token>, the " + a.cookies[0] + " cookie or ?" + QueryParam + "=<token>"}
	}
	c, err := a.Parse(r.Context(), tok, Subscriber)
	if err != nil {
		return sse.Grant{}, err
	}
	patterns := c.Scopes().Subscribe
	if !a.anon {
		for _, t := range topics {
			if !MatchAny(patterns, t) {
				return sse.Grant{}, &sse.AuthError{Err: sse.ErrForbidden, Code: "insufficient_scope", Description: fmt.Sprintf("the token's subscribe claim does not cover topic %s", quote(t))}
			}
		}
	}
	g := sse.Grant{}
	if len(patterns) > 0 {
		g.Private = func(topic string) bool { return MatchAny(patterns, topic) }
	}
	if c.ExpiresAt != nil {
		g.Expires = c.ExpiresAt.Time
	}
	return g, nil
}

// AuthorizePublish implements sse.Authorizer: the request needs a valid
// publisher token whose publish patterns cover every topic of e (the
// public channel sse.DefaultTopic when e has none), private or not.
func (a *Authorizer) AuthorizePublish(r *http.Request, e sse.Event) error {
	tok, _ := a.Token(r)
	if tok == "" {
		return &sse.AuthError{Err: sse.ErrUnauthorized, Description: "publishing needs a token; send Authorization: Bearer <token>"}
	}
	c, err := a.Parse(r.Context(), tok, Publisher)
	if err != nil {
		return err
	}
	patterns := c.Scopes().Publish
	if len(patterns) == 0 {
		return &sse.AuthError{Err: sse.ErrForbidden, Code: "insufficient_scope", Description: "the token has no publish claim"}
	}
	topics := e.Topics
	if len(topics) == 0 {
		topics = []string{sse.DefaultTopic}
	}
	for _, t := range topics {
		if !MatchAny(patterns, t) {
			return &sse.AuthError{Err: sse.ErrForbidden, Code: "insufficient_scope", Description: fmt.Sprintf("the token's publish claim does not cover topic %s", quote(t))}
		}
	}
	return nil
}

// header is the part of a JOSE header this package reads before verifying.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// Parse verifies token as a token of role and returns its claims. Every
// error is an *sse.AuthError wrapping sse.ErrUnauthorized, with code
// invalid_token and a description of the defect.
func (a *Authorizer) Parse(ctx context.Context, token string, role Role) (*Claims, error) {
	var c Claims
	if err := a.parse(ctx, token, role, &c, &c.RegisteredClaims); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseRegistered is Parse for callers that read the token's other claims
// themselves (Mercure's, whose shapes Claims does not know): it verifies
// token the same way and returns its registered claims only.
func (a *Authorizer) ParseRegistered(ctx context.Context, token string, role Role) (*gojwt.RegisteredClaims, error) {
	var c gojwt.RegisteredClaims
	if err := a.parse(ctx, token, role, &c, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// parse verifies token and decodes its claims into dst, whose registered
// claims are reg.
func (a *Authorizer) parse(ctx context.Context, token string, role Role, dst gojwt.Claims, reg *gojwt.RegisteredClaims) error {
	if len(token) > MaxTokenBytes {
		return invalid("the token is longer than %d bytes", MaxTokenBytes)
	}
	h, err := peekHeader(token)
	if err != nil {
		return err
	}
	if h.Alg == "" || strings.EqualFold(h.Alg, "none") {
		return invalid("unsigned tokens (alg none) are refused")
	}
	keys, err := a.keysFor(ctx, role, h)
	if err != nil {
		return err
	}
	material := make([]gojwt.VerificationKey, len(keys))
	for i, k := range keys {
		material[i] = k.material
	}
	if err := checkExp(token); err != nil {
		return err
	}
	p := gojwt.NewParser(gojwt.WithValidMethods([]string{h.Alg}), gojwt.WithTimeFunc(a.now))
	_, err = p.ParseWithClaims(token, dst, func(*gojwt.Token) (any, error) {
		return gojwt.VerificationKeySet{Keys: material}, nil
	})
	if err != nil {
		return describe(err, reg, role)
	}
	return a.checkLifetime(reg)
}

// maxExp is the largest exp accepted: 9999-12-31T23:59:59Z. Beyond it a
// date cannot be written, and far beyond it seconds overflow.
const maxExp = 253402300799

// checkExp refuses an exp claim that is not a time at all (1e30, -5),
// before the JWT library turns it into a nonsense date.
func checkExp(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil // the parser says what is wrong
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims struct {
		Exp json.RawMessage `json:"exp"`
	}
	if json.Unmarshal(b, &claims) != nil || len(claims.Exp) == 0 || string(claims.Exp) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(claims.Exp), 64)
	if err != nil || f < 0 || f > maxExp {
		return invalid("the token's exp %s is not a time: exp is a number of seconds since 1970 (RFC 7519), at most %d (year 9999)", quote(string(claims.Exp)), maxExp)
	}
	return nil
}

// checkLifetime applies RequireExp and MaxTTL to verified claims.
func (a *Authorizer) checkLifetime(c *gojwt.RegisteredClaims) error {
	if c.ExpiresAt == nil {
		if a.needExp {
			return invalid("the token has no expiry (exp) and this server requires one (auth.require_exp or auth.max_ttl); mint tokens with exp")
		}
		return nil
	}
	if left := c.ExpiresAt.Sub(a.now()); a.maxTTL > 0 && left > a.maxTTL {
		return invalid("the token expires in %s, later than this server accepts (auth.max_ttl %s); mint shorter-lived tokens", left.Round(time.Second), a.maxTTL)
	}
	return nil
}

// keysFor returns the keys of role that accept h's algorithm (and kid, for
// JWKS keys).
func (a *Authorizer) keysFor(ctx context.Context, role Role, h header) ([]Key, error) {
	configured := a.pub
	if role == Subscriber {
		configured = a.sub
	}
	var out []Key
	accepted := map[string]bool{}
	for _, k := range configured {
		accepted[k.Algorithm] = true
		if k.Algorithm == h.Alg {
			out = append(out, k)
		}
	}
	if a.jwks != nil {
		fromJWKS, err := a.jwks.lookup(ctx, h.Kid, h.Alg)
		if err != nil && !errors.Is(err, errThrottled) {
			a.log.Warn("JWKS unavailable; using the keys fetched before, if any", "err", err)
		}
		out = append(out, fromJWKS...)
		if len(out) == 0 {
			if h.Kid != "" {
				return nil, invalid("no key with id %s and algorithm %s is known (JWKS and %s keys)", quote(h.Kid), quote(h.Alg), role)
			}
			return nil, invalid("no %s key accepts algorithm %s", role, quote(h.Alg))
		}
		return out, nil
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(configured) == 0 {
		return nil, invalid("this server accepts no %s tokens (no %s key is configured)", role, role)
	}
	algs := make([]string, 0, len(accepted))
	for alg := range accepted {
		algs = append(algs, alg)
	}
	return nil, invalid("algorithm %s is not accepted for %s tokens; sign them with %s", quote(h.Alg), role, strings.Join(algs, " or "))
}

// peekHeader decodes the header of token without verifying anything.
func peekHeader(token string) (header, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return header{}, invalid("the token is malformed: a JWT has three dot-separated parts, this one has %d", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return header{}, invalid("the token is malformed: its header is not base64url")
	}
	var h header
	if err := json.Unmarshal(b, &h); err != nil {
		return header{}, invalid("the token is malformed: its header is not a JSON object with a string alg")
	}
	return h, nil
}

// describe turns a parse error into the refusal the client sees.
func describe(err error, c *gojwt.RegisteredClaims, role Role) error {
	switch {
	case errors.Is(err, gojwt.ErrTokenSignatureInvalid):
		return invalid("the token's signature does not verify with the %s key", role)
	case errors.Is(err, gojwt.ErrTokenExpired):
		if c.ExpiresAt != nil {
			return invalid("the token expired at %s; get a fresh one", c.ExpiresAt.UTC().Format(time.RFC3339))
		}
		return invalid("the token has expired; get a fresh one")
	case errors.Is(err, gojwt.ErrTokenNotValidYet):
		if c.NotBefore != nil {
			return invalid("the token is not valid before %s (nbf)", c.NotBefore.UTC().Format(time.RFC3339))
		}
		return invalid("the token is not valid yet (nbf)")
	case errors.Is(err, gojwt.ErrTokenMalformed):
		return invalid("the token is malformed: %s", plain(err))
	}
	return invalid("the token is invalid: %s", plain(err))
}

// plain renders err for a header value: printable ASCII without quotes or
// backslashes, at most 200 bytes.
func plain(err error) string {
	var b strings.Builder
	for _, r := range err.Error() {
		if b.Len() >= 200 {
			break
		}
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// quote renders a value from a request for a description, as plain does.
func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return "'" + plain(errors.New(s)) + "'"
}

// invalid returns a 401 invalid_token refusal.
func invalid(format string, args ...any) error {
	return &sse.AuthError{Err: sse.ErrUnauthorized, Code: "invalid_token", Description: fmt.Sprintf(format, args...)}
}
