package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxJWKSBytes bounds a JWKS document.
const maxJWKSBytes = 1 << 20

// errThrottled means the document was fetched too recently to fetch again.
var errThrottled = errors.New("jwt: JWKS fetched too recently")

// jwks is a cached JWKS document. Lookups of an unknown kid fetch it again,
// at most once per minInterval, so random kids cannot make the server hammer
// the key endpoint.
type jwks struct {
	url         string
	client      *http.Client
	minInterval time.Duration
	maxAge      time.Duration
	now         func() time.Time

	fetchMu sync.Mutex // one fetch at a time

	mu        sync.RWMutex
	keys      []Key
	fetched   time.Time // last successful fetch
	attempted time.Time // last fetch attempt
}

// lookup returns the keys that may verify a token with kid and alg: the key
// with that kid, or every key for alg when kid is "". It fetches the
// document when it has none yet, when kid is unknown, or when the cache is
// older than maxAge, within the refresh rate limit.
func (j *jwks) lookup(ctx context.Context, kid, alg string) ([]Key, error) {
	keys, stale := j.match(kid, alg)
	if len(keys) > 0 && !stale {
		return keys, nil
	}
	err := j.refresh(ctx, false)
	if fresh, _ := j.match(kid, alg); len(fresh) > 0 || err == nil {
		return fresh, nil
	}
	return keys, err
}

// match filters the cached keys and reports whether the cache is stale.
func (j *jwks) match(kid, alg string) ([]Key, bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	var out []Key
	for _, k := range j.keys {
		if k.Algorithm == alg && (kid == "" || k.ID == kid) {
			out = append(out, k)
		}
	}
	return out, j.fetched.IsZero() || j.now().Sub(j.fetched) > j.maxAge
}

// refresh fetches the document unless one was attempted within minInterval
// (force ignores that limit). On failure the old keys stay.
func (j *jwks) refresh(ctx context.Context, force bool) error {
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	j.mu.RLock()
	last := j.attempted
	j.mu.RUnlock()
	if !force && !last.IsZero() && j.now().Sub(last) < j.minInterval {
		return errThrottled
	}
	j.mu.Lock()
	j.attempted = j.now()
	j.mu.Unlock()
	keys, err := j.fetch(ctx)
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.keys, j.fetched = keys, j.now()
	j.mu.Unlock()
	return nil
}

// fetch downloads and parses the document.
func (j *jwks) fetch(ctx context.Context) ([]Key, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwt: JWKS URL: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwt: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwt: fetch JWKS %s: %s", j.url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwt: fetch JWKS: %w", err)
	}
	if len(b) > maxJWKSBytes {
		return nil, fmt.Errorf("jwt: JWKS %s is over %d bytes", j.url, maxJWKSBytes)
	}
	keys, err := ParseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, j.url)
	}
	return keys, nil
}

// jwk is one JSON Web Key (RFC 7517) of the kinds this package verifies.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseJWKS returns the signature keys of a JWKS document: RSA, EC (P-256,
// P-384, P-521) and OKP (Ed25519) keys, each pinned to its "alg" or, without
// one, the usual algorithm of its type. Symmetric ("oct") keys, encryption
// keys and unknown types are skipped; a document without any usable key is
// an error.
func ParseJWKS(b []byte) ([]Key, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("jwt: JWKS is not a JSON key set: %w", err)
	}
	var keys []Key
	var problems []error
	for i, raw := range doc.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			problems = append(problems, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		material, err := k.material()
		if err != nil {
			problems = append(problems, fmt.Errorf("key %d (kid %q): %w", i, k.Kid, err))
			continue
		}
		if material == nil {
			continue // a kind of key this package does not verify with
		}
		key, err := NewKey(k.Alg, material)
		if err != nil {
			problems = append(problems, fmt.Errorf("key %d (kid %q): %w", i, k.Kid, err))
			continue
		}
		key.ID = k.Kid
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwt: JWKS has no usable signature key: %w", errors.Join(problems...))
	}
	return keys, nil
}

// material decodes the public key of k, or returns nil for key types that
// are skipped.
func (k *jwk) material() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64(k.N)
		if err != nil || len(n) == 0 {
			return nil, errors.New("bad modulus n")
		}
		e, err := b64(k.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad exponent e")
		}
		exp := new(big.Int).SetBytes(e)
		if exp.Int64() < 3 {
			return nil, errors.New("bad exponent e")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, errX := b64(k.X)
		y, errY := b64(k.Y)
		if errX != nil || errY != nil || len(x) > size || len(y) > size {
			return nil, errors.New("bad coordinates x, y")
		}
		point := make([]byte, 1+2*size)
		point[0] = 4
		copy(point[1+size-len(x):], x)
		copy(point[1+2*size-len(y):], y)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("bad point: %w", err)
		}
		return pub, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, nil
		}
		x, err := b64(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key x")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, nil
}

// b64 decodes base64url with or without padding.
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
