package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
)

// tokenFlags are the flags of token.
type tokenFlags struct {
	common    configFlags
	publish   stringList
	subscribe stringList
	ttl       time.Duration
	subject   string
	key       string
	mercure   mercureFormat
	audience  string
	issuer    string
	matchType string
}

func (f *tokenFlags) register(fs *flagSet) {
	f.common.register(fs, roleConfig)
	f.common.warnUnknownEnv = true // it only reads the keys
	fs.Var(&f.publish, "publish", "topic `pattern` the token may publish to (repeatable)")
	fs.Var(&f.subscribe, "subscribe", "topic `pattern` whose private events the token may receive (repeatable)")
	fs.DurationVar(&f.ttl, "ttl", time.Hour, "lifetime of the token; it carries exp = now + ttl")
	fs.StringVar(&f.subject, "sub", "", "subject claim (sub), e.g. a user id")
	fs.StringVar(&f.key, "key", "", "signing `key`: a secret, or file:PATH with a secret or a PEM private key (default: auth.publisher_key or auth.subscriber_key)")
	fs.Var(&f.mercure, "mercure", "mint a token for a Mercure hub, in `FORMAT` legacy (the default: a \"mercure\" claim, for hub 0.x and Symfony's Mercure component) or current (an at+jwt access token with authorization_details)")
	fs.StringVar(&f.audience, "aud", "", "with --mercure=current: the hub's resource identifier, usually its URL (default: mercure.audience)")
	fs.StringVar(&f.issuer, "iss", "", "with --mercure=current: the token's issuer (default: mercure.issuer, else valksor-sse)")
	fs.StringVar(&f.matchType, "match-type", "exact", "with --mercure=current: how the patterns match topics, exact or urlpattern ('*' matches every topic either way)")
}

// tokenAbout is the help text of token.
const tokenAbout = `Prints a JWT for the configured auth keys. Patterns: '*' (every topic), 'orders/*' (a prefix), 'orders/7'.

A token with --publish patterns is a publisher token, signed with
auth.publisher_key; a token with only --subscribe patterns is a subscriber
token, signed with auth.subscriber_key (or the publisher key when that is
unset). One token with both claims works for both roles when the two keys
are the same. --key signs with another key: a secret, or file:PATH with a
secret or a PEM private key (for RSA, ECDSA and Ed25519 public keys in the
config).

Examples:
  valksor-sse token --publish '*' --ttl 1h
  valksor-sse token --subscribe 'orders/*' --ttl 15m
  valksor-sse token --mercure=current --match-type urlpattern --subscribe 'https://example.com/books/:id' --aud https://example.com/.well-known/mercure
  valksor-sse publish order-shipped --topic orders/7 --token "$(valksor-sse token --publish 'orders/*')"`

// token mints a JWT for scripts and tests.
func (m *Main) token(_ context.Context, args []string) error {
	var f tokenFlags
	fs := m.newFlagSet("token", "token [--publish PATTERN]... [--subscribe PATTERN]... [--ttl 1h] [flags]", tokenAbout)
	f.register(fs)
	if err := fs.parse(args, -1); err != nil {
		return err
	}
	if err := f.check(fs.arguments()); err != nil {
		return err
	}
	cfg, err := m.load(f.common)
	if err != nil {
		return err
	}
	signer, err := m.tokenSigner(cfg, f.key, len(f.publish) > 0, len(f.subscribe) > 0)
	if err != nil {
		return err
	}
	now := time.Now()
	if f.mercure == mercureCurrent {
		claims, err := mercure.AccessToken{
			Publish: f.publish, Subscribe: f.subscribe, MatchType: mercure.MatchType(f.matchType),
			Issuer:   cmp.Or(f.issuer, cfg.Mercure.Issuer, "valksor-sse"),
			Subject:  cmp.Or(f.subject, "valksor-sse"),
			ClientID: "valksor-sse",
			Audience: cmp.Or(f.audience, cfg.Mercure.Audience),
			IssuedAt: now, TTL: f.ttl,
		}.Claims()
		if err != nil {
			return usageError{err.Error()}
		}
		tok, err := signer.SignAccessToken(claims)
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, tok)
		return nil
	}
	claims := jwt.Claims{RegisteredClaims: gojwt.RegisteredClaims{
		Subject:   f.subject,
		IssuedAt:  gojwt.NewNumericDate(now),
		ExpiresAt: gojwt.NewNumericDate(now.Add(f.ttl)),
	}}
	scopes := &jwt.Scopes{Publish: jwt.Patterns(f.publish), Subscribe: jwt.Patterns(f.subscribe)}
	if f.mercure == mercureLegacy {
		claims.Mercure = scopes
	} else {
		claims.Valksor = scopes
	}
	tok, err := signer.Sign(claims)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, tok)
	return nil
}

// check checks the flags and arguments of token.
func (f *tokenFlags) check(args []string) error {
	switch {
	case len(args) > 0:
		return usageError{fmt.Sprintf("token takes no arguments, got %q; give patterns with --publish and --subscribe", args)}
	case len(f.publish) == 0 && len(f.subscribe) == 0:
		return usageError{"token needs at least one --publish or --subscribe pattern, e.g. --publish '*'"}
	case f.ttl <= 0:
		return usageError{fmt.Sprintf("--ttl %v: want a positive duration such as 1h", f.ttl)}
	}
	for _, p := range append(append([]string(nil), f.publish...), f.subscribe...) {
		if f.mercure == mercureCurrent {
			continue // mercure.AccessToken checks them
		}
		if p == "" || strings.Contains(strings.TrimSuffix(p, "*"), "*") {
			return usageError{fmt.Sprintf("pattern %q: want '*', a prefix ending in '*' such as 'orders/*', or a topic", p)}
		}
	}
	return nil
}

// tokenSigner picks the key that signs a token with the given claims.
func (m *Main) tokenSigner(cfg config.Config, keyFlag string, publish, subscribe bool) (*jwt.Signer, error) {
	spec, name := keyFlag, "--key"
	if spec == "" {
		pub, sub := cfg.Auth.PublisherKey, cfg.Auth.SubscriberKey
		if sub == "" {
			sub = pub
		}
		switch {
		case publish && subscribe && pub != sub:
			return nil, fmt.Errorf("auth.subscriber_key differs from auth.publisher_key, so one token cannot both publish and subscribe: mint a publisher token (--publish) and a subscriber token (--subscribe) separately")
		case publish:
			spec, name = pub, "auth.publisher_key"
		default:
			spec, name = sub, "auth.subscriber_key"
			if cfg.Auth.SubscriberKey == "" {
				name = "auth.publisher_key"
			}
		}
		if spec == "" {
			return nil, fmt.Errorf("%s is not set: configure the JWT keys (auth.publisher_key, auth.subscriber_key), or sign with --key", name)
		}
	}
	key, err := jwt.LoadSigningKey(m.keySpec(spec))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s, err := jwt.NewSigner(cfg.Auth.Algorithm, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// publishJWTTTL is the lifetime of the publisher JWT publish signs for
// itself: long enough for one request, short enough to be worthless later.
const publishJWTTTL = time.Minute

// publisherJWT signs the short-lived publisher JWT the publish command
// sends when the config has JWT publisher keys and no static token: its
// publish claim covers topics, or every topic when there are none. It fails,
// saying why and what to do instead, when the config holds no key that can
// sign: a public key or a JWKS URL only.
func (m *Main) publisherJWT(cfg config.Config, topics []string) (string, error) {
	const mint = "valksor-sse publish TYPE --token \"$(valksor-sse token --publish '*' --key file:/path/to/private.pem)\""
	if cfg.Auth.PublisherKey == "" {
		return "", fmt.Errorf("publish cannot sign a publisher JWT: the config has only auth.jwks_url, whose keys verify tokens but cannot sign them; pass a publisher JWT with --token, one from your identity provider or one minted with the private key: %s", mint)
	}
	signer, err := m.tokenSigner(cfg, "", true, false)
	if err != nil {
		if errors.Is(err, jwt.ErrPublicKey) {
			return "", fmt.Errorf("publish cannot sign a publisher JWT: auth.publisher_key (%s) is a public key, which only verifies tokens; pass a publisher JWT minted with the private key: %s", strings.TrimPrefix(cfg.Auth.PublisherKey, "file:"), mint)
		}
		return "", fmt.Errorf("publish cannot sign a publisher JWT: %w; fix the key, or pass a publisher JWT with --token", err)
	}
	patterns := jwt.Patterns(topics)
	if len(patterns) == 0 {
		patterns = jwt.Patterns{"*"}
	}
	now := time.Now()
	return signer.Sign(jwt.Claims{
		RegisteredClaims: gojwt.RegisteredClaims{
			Subject:   "valksor-sse publish",
			IssuedAt:  gojwt.NewNumericDate(now),
			ExpiresAt: gojwt.NewNumericDate(now.Add(publishJWTTTL)),
		},
		Valksor: &jwt.Scopes{Publish: patterns},
	})
}

// mercureFormat is the value of token --mercure: "" (a valksor-sse token),
// mercureLegacy or mercureCurrent. --mercure alone means mercureLegacy.
type mercureFormat string

const (
	mercureLegacy  mercureFormat = "legacy"
	mercureCurrent mercureFormat = "current"
)

func (f *mercureFormat) String() string { return string(*f) }

// Set implements flag.Value.
func (f *mercureFormat) Set(v string) error {
	switch v {
	case "true", string(mercureLegacy):
		*f = mercureLegacy
	case "false":
		*f = ""
	case string(mercureCurrent):
		*f = mercureCurrent
	default:
		return fmt.Errorf("%q: want legacy (the mercure claim) or current (an at+jwt access token)", v)
	}
	return nil
}

// IsBoolFlag lets --mercure be given without a value.
func (f *mercureFormat) IsBoolFlag() bool { return true }
