package config

import (
	"fmt"
	"strings"
)

// Mercure is the Mercure hub at /.well-known/mercure on the same hub (the
// mercure block).
type Mercure struct {
	// Enabled serves the Mercure protocol (key mercure.enabled, default
	// false).
	Enabled bool
	// PublisherKey verifies Mercure publisher JWTs (key
	// mercure.publisher_key): an HMAC secret (Symfony's MERCURE_JWT_SECRET)
	// or "file:PATH" naming a PEM public key or a file holding the secret.
	PublisherKey string
	// SubscriberKey verifies Mercure subscriber JWTs (key
	// mercure.subscriber_key), in the same forms; "" = the publisher key.
	SubscriberKey string
	// Algorithm pins the JWT algorithm of both Mercure keys (key
	// mercure.algorithm); "" = derived from each key.
	Algorithm string
	// Anonymous lets Mercure subscribers without a token receive public
	// updates (key mercure.anonymous, default false).
	Anonymous bool
	// Subscriptions publishes subscription updates and serves the
	// subscriptions API (key mercure.subscriptions, default false).
	Subscriptions bool
	// Issuer is the iss required in at+jwt access tokens (key
	// mercure.issuer); "" = not checked.
	Issuer string
	// Audience must be in the aud of at+jwt access tokens (key
	// mercure.audience); "" = not checked.
	Audience string
}

// checkMercure wants a publisher key when the Mercure hub is enabled.
func checkMercure(c Config) string {
	if c.Mercure.Enabled && c.Mercure.PublisherKey == "" {
		return "true needs mercure.publisher_key: the secret publishers sign their JWTs with (Symfony's MERCURE_JWT_SECRET)"
	}
	return ""
}

func checkMercureAlgorithm(c Config) string {
	if c.Mercure.Algorithm == "" {
		return ""
	}
	for _, a := range algorithms {
		if a == c.Mercure.Algorithm {
			return ""
		}
	}
	return fmt.Sprintf("want one of %s, got %q", strings.Join(algorithms, ", "), c.Mercure.Algorithm)
}

// checkMercureClaim validates mercure.issuer or mercure.audience: a claim
// value without spaces or control characters.
func checkMercureClaim(get func(Config) string) func(Config) string {
	return func(c Config) string {
		if hasSpaceOrControl(get(c)) {
			return fmt.Sprintf("must not contain spaces or control characters, got %q", get(c))
		}
		return ""
	}
}
