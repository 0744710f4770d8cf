package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/valksor/go-sse/internal/jsonlist"
)

// Claims are the claims of a valksor-sse token: the registered claims (exp,
// nbf, sub, ...) and the topic patterns under "valksor" or, for Mercure
// tokens, "mercure".
type Claims struct {
	gojwt.RegisteredClaims
	// Valksor holds the patterns of a valksor-sse token.
	Valksor *Scopes `json:"valksor,omitempty"`
	// Mercure holds the patterns of a Mercure token; it is used when
	// Valksor is absent.
	Mercure *Scopes `json:"mercure,omitempty"`
}

// Scopes are the topic patterns a token allows.
type Scopes struct {
	// Publish lists the topics the token may publish to.
	Publish Patterns `json:"publish,omitempty"`
	// Subscribe lists the topics whose private events the token may
	// receive.
	Subscribe Patterns `json:"subscribe,omitempty"`
}

// Scopes returns the patterns of c: its valksor claim, else its mercure
// claim, else none.
func (c *Claims) Scopes() Scopes {
	switch {
	case c.Valksor != nil:
		return *c.Valksor
	case c.Mercure != nil:
		return *c.Mercure
	}
	return Scopes{}
}

// Patterns is a list of topic patterns. In JSON it is an array of strings;
// a single string is accepted as a list of one.
type Patterns []string

// UnmarshalJSON accepts a string or an array of strings.
func (p *Patterns) UnmarshalJSON(b []byte) error {
	list, ok := jsonlist.Decode(b)
	if !ok {
		return errors.New("topic patterns must be a string or an array of strings")
	}
	*p = list
	return nil
}

// Match reports whether pattern covers topic: "*" covers every topic, a
// pattern ending in "*" every topic with that prefix ("orders/*" covers
// "orders/7"), any other pattern only itself. The empty pattern covers
// nothing.
func Match(pattern, topic string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(topic, prefix)
	}
	return pattern != "" && pattern == topic
}

// MatchAny reports whether one of patterns covers topic.
func MatchAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if Match(p, topic) {
			return true
		}
	}
	return false
}

// Signer mints tokens, for the valksor-sse token command and tests.
type Signer struct {
	// Algorithm is the JWT algorithm.
	Algorithm string
	key       any
}

// NewSigner returns a Signer for key: an HMAC secret ([]byte of at least
// MinSecretLen bytes) or a private key (*rsa.PrivateKey, *ecdsa.PrivateKey,
// ed25519.PrivateKey). alg "" picks the algorithm as NewKey does.
func NewSigner(alg string, key any) (*Signer, error) {
	var pub any
	switch k := key.(type) {
	case []byte:
		pub = k
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	case ed25519.PrivateKey:
		pub = k.Public()
	default:
		return nil, fmt.Errorf("jwt: unsupported signing key type %T", key)
	}
	v, err := NewKey(alg, pub)
	if err != nil {
		return nil, err
	}
	return &Signer{Algorithm: v.Algorithm, key: key}, nil
}

// Sign returns c as a signed compact JWT.
func (s *Signer) Sign(c Claims) (string, error) {
	return s.sign(c, "")
}

// SignAccessToken signs claims as an RFC 9068 access token, whose header's
// typ is at+jwt (what the current Mercure protocol requires).
func (s *Signer) SignAccessToken(claims map[string]any) (string, error) {
	return s.sign(gojwt.MapClaims(claims), "at+jwt")
}

func (s *Signer) sign(c gojwt.Claims, typ string) (string, error) {
	m := gojwt.GetSigningMethod(s.Algorithm)
	if m == nil {
		return "", fmt.Errorf("jwt: unknown algorithm %s", s.Algorithm)
	}
	tok := gojwt.NewWithClaims(m, c)
	if typ != "" {
		tok.Header["typ"] = typ
	}
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("jwt: sign: %w", err)
	}
	return signed, nil
}
