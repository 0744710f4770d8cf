package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// MinSecretLen is the shortest HMAC secret accepted: RFC 7518 section 3.2
// asks for a key at least as long as the hash output (32 bytes for HS256).
const MinSecretLen = 32

// Algorithms lists the JWT algorithms a Key can be pinned to.
var Algorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Key is one verification key with the single algorithm it accepts. A token
// signed with any other algorithm is refused, whatever its signature: a key
// never verifies "none", and an RSA public key is never used as an HMAC
// secret.
type Key struct {
	// Algorithm is the pinned JWT algorithm ("HS256", "RS256", ...).
	Algorithm string
	// ID is the key id (kid) of a key from a JWKS document; "" for a
	// configured key, which verifies tokens with any kid or none.
	ID string

	material any // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// NewKey pins material to alg. material is an HMAC secret ([]byte of at
// least MinSecretLen bytes), an *rsa.PublicKey, an *ecdsa.PublicKey or an
// ed25519.PublicKey; alg "" picks the usual algorithm for it (HS256, RS256,
// ES256/ES384/ES512 by curve, EdDSA). It returns an error when alg does not
// fit the material.
func NewKey(alg string, material any) (Key, error) {
	switch k := material.(type) {
	case []byte:
		if len(k) < MinSecretLen {
			return Key{}, fmt.Errorf("jwt: an HMAC secret must be at least %d bytes, got %d", MinSecretLen, len(k))
		}
		return pin(alg, "HS256", "an HMAC secret", material, "HS256", "HS384", "HS512")
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return Key{}, errors.New("jwt: empty RSA key")
		}
		return pin(alg, "RS256", "an RSA key", material, "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
	case *ecdsa.PublicKey:
		if k == nil {
			return Key{}, errors.New("jwt: empty ECDSA key")
		}
		var want string
		switch k.Curve {
		case elliptic.P256():
			want = "ES256"
		case elliptic.P384():
			want = "ES384"
		case elliptic.P521():
			want = "ES512"
		default:
			return Key{}, errors.New("jwt: an ECDSA key must be on P-256, P-384 or P-521")
		}
		return pin(alg, want, "an ECDSA key on "+k.Curve.Params().Name, material, want)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return Key{}, errors.New("jwt: an Ed25519 key must be 32 bytes")
		}
		return pin(alg, "EdDSA", "an Ed25519 key", material, "EdDSA")
	}
	return Key{}, fmt.Errorf("jwt: unsupported key type %T", material)
}

// pin returns the key for alg, or def when alg is "", checking alg is one
// of allowed.
func pin(alg, def, what string, material any, allowed ...string) (Key, error) {
	if alg == "" {
		alg = def
	}
	for _, a := range allowed {
		if a == alg {
			return Key{Algorithm: alg, material: material}, nil
		}
	}
	return Key{}, fmt.Errorf("jwt: algorithm %s cannot be used with %s; use %s", alg, what, strings.Join(allowed, ", "))
}

// LoadKey reads a key the way the configuration gives it: "file:PATH" names
// a file holding a PEM public key (PKIX "PUBLIC KEY", PKCS #1 "RSA PUBLIC
// KEY", or a "CERTIFICATE" whose key is used) or, without PEM, an HMAC
// secret (surrounding white space trimmed); anything else is the HMAC secret
// itself. alg pins the algorithm as in NewKey.
func LoadKey(spec, alg string) (Key, error) {
	path, isFile := strings.CutPrefix(spec, "file:")
	if !isFile {
		return NewKey(alg, []byte(spec))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("jwt: read key: %w", err)
	}
	if !strings.HasPrefix(strings.TrimSpace(string(b)), "-----BEGIN") {
		k, err := NewKey(alg, []byte(strings.TrimSpace(string(b))))
		if err != nil {
			return Key{}, fmt.Errorf("%w (secret read from %s)", err, path)
		}
		return k, nil
	}
	pub, err := ParsePublicKeyPEM(b)
	if err != nil {
		return Key{}, fmt.Errorf("%w (in %s)", err, path)
	}
	k, err := NewKey(alg, pub)
	if err != nil {
		return Key{}, fmt.Errorf("%w (key in %s)", err, path)
	}
	return k, nil
}

// ParsePublicKeyPEM returns the public key of the first PEM block of b: a
// "PUBLIC KEY", an "RSA PUBLIC KEY" or a "CERTIFICATE". A private key is
// refused: the server only needs the public half.
func ParsePublicKeyPEM(b []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("jwt: no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwt: parse public key: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwt: parse RSA public key: %w", err)
		}
		return k, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwt: parse certificate: %w", err)
		}
		return c.PublicKey, nil
	}
	if strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("jwt: found a %s; give the server the public key (openssl pkey -pubout)", block.Type)
	}
	return nil, fmt.Errorf("jwt: unsupported PEM block %q; want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
}

// ParsePrivateKeyPEM returns the private key of the first PEM block of b:
// PKCS #8 "PRIVATE KEY", PKCS #1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY".
func ParsePrivateKeyPEM(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("jwt: no PEM block found")
	}
	var k any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("jwt: unsupported PEM block %q; want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("jwt: parse private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("jwt: unsupported private key type %T", k)
	}
	return s, nil
}

// ErrPublicKey is wrapped by LoadSigningKey's error for a file holding a
// public key or a certificate, which only verifies tokens.
var ErrPublicKey = errors.New("jwt: a public key cannot sign")

// LoadSigningKey reads a key for signing the way the configuration gives
// keys: "file:PATH" names a file holding a PEM private key (see
// ParsePrivateKeyPEM) or, without PEM, an HMAC secret (surrounding white
// space trimmed); anything else is the HMAC secret itself. The result goes
// to NewSigner. A file with a public key is an error wrapping ErrPublicKey.
func LoadSigningKey(spec string) (any, error) {
	path, isFile := strings.CutPrefix(spec, "file:")
	if !isFile {
		return []byte(spec), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jwt: read key: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if !strings.HasPrefix(text, "-----BEGIN") {
		return []byte(text), nil
	}
	if strings.Contains(text, "PUBLIC KEY") || strings.Contains(text, "CERTIFICATE") {
		return nil, fmt.Errorf("%s holds a public key, which only verifies tokens (%w); sign with the private key", path, ErrPublicKey)
	}
	return ParsePrivateKeyPEM(b)
}
