package config

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Auth is the JWT authorization of publishers and subscribers (the auth
// block).
type Auth struct {
	// PublisherKey verifies publisher JWTs (key auth.publisher_key): an
	// HMAC secret, or "file:PATH" naming a PEM public key (RSA, ECDSA,
	// Ed25519) or a file holding the secret. "" = no JWT publishing.
	PublisherKey string
	// SubscriberKey verifies subscriber JWTs (key auth.subscriber_key),
	// in the same forms; "" = the publisher key.
	SubscriberKey string
	// Algorithm pins the JWT algorithm of both keys (key auth.algorithm);
	// "" = derived from each key.
	Algorithm string
	// JWKSURL is a JWKS document whose keys verify tokens of both roles
	// (key auth.jwks_url).
	JWKSURL string
	// Cookie is the cookie carrying a JWT (key auth.cookie, default
	// "valksorSSEAuthorization"); mercureAuthorization is accepted too.
	Cookie string
	// AnonymousSubscribe lets streams without a token receive public
	// events (key auth.anonymous_subscribe, default true).
	AnonymousSubscribe bool
	// RequireExp refuses JWTs without an expiry (key auth.require_exp,
	// default false).
	RequireExp bool
	// MaxTTL refuses JWTs that expire later than this from now, and those
	// without exp; 0 = no bound (key auth.max_ttl).
	MaxTTL time.Duration
}

// Configured reports whether any key is set (publisher, subscriber or
// JWKS): the server then authorizes with JWTs.
func (a Auth) Configured() bool {
	return a.PublisherKey != "" || a.SubscriberKey != "" || a.JWKSURL != ""
}

// minSecretLen is the shortest HMAC secret accepted: RFC 7518 asks for a
// key at least as long as the hash output (32 bytes for HS256).
const minSecretLen = 32

// checkKeySpec validates auth.publisher_key or auth.subscriber_key: a
// secret long enough, or file: with a path. The file is read at start.
func checkKeySpec(name string, get func(Config) string) func(Config) string {
	return func(c Config) string {
		v := get(c)
		switch path, isFile := strings.CutPrefix(v, "file:"); {
		case v == "":
		case isFile && strings.TrimSpace(path) == "":
			return `"file:" needs a path, e.g. file:/etc/valksor-sse/jwt-public.pem`
		case !isFile && len(v) < minSecretLen:
			return fmt.Sprintf("an HMAC secret must be at least %d bytes (got %d); generate one with: openssl rand -base64 32", minSecretLen, len(v))
		case !isFile && strings.IndexFunc(v, unicode.IsControl) >= 0:
			return "must not contain control characters"
		}
		return ""
	}
}

// algorithms are the accepted values of auth.algorithm.
var algorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

func checkAlgorithm(c Config) string {
	if c.Auth.Algorithm == "" {
		return ""
	}
	for _, a := range algorithms {
		if a == c.Auth.Algorithm {
			return ""
		}
	}
	return fmt.Sprintf("want one of %s, got %q", strings.Join(algorithms, ", "), c.Auth.Algorithm)
}

func checkJWKSURL(c Config) string {
	u := c.Auth.JWKSURL
	if u == "" {
		return ""
	}
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") || hasSpaceOrControl(u) {
		return fmt.Sprintf("want an http:// or https:// URL, got %q", u)
	}
	return ""
}

// checkCookie validates auth.cookie as an RFC 6265 cookie name.
func checkCookie(c Config) string {
	if c.Auth.Cookie == "" {
		return "must not be empty"
	}
	for _, r := range c.Auth.Cookie {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return fmt.Sprintf("want a cookie name (letters, digits and !#$%%&'*+-.^_`|~), got %q", c.Auth.Cookie)
		}
	}
	return ""
}

// checkAnonymous refuses a server that nobody could subscribe to.
func checkAnonymous(c Config) string {
	if !c.Auth.AnonymousSubscribe && !c.Auth.Configured() {
		return "false needs auth.subscriber_key, auth.publisher_key or auth.jwks_url: without keys no stream could open"
	}
	return ""
}
