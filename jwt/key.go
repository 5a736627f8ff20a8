package jwt

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
)

// Algorithms Keycard signs and verifies with. Each key type has exactly one
// algorithm: an Ed25519 key only verifies EdDSA, a P-256 key only ES256.
const (
	EdDSA = "EdDSA" // Ed25519 (RFC 8037); the default
	ES256 = "ES256" // ECDSA on P-256 with SHA-256 (RFC 7518 section 3.4)
)

// b64 is the JOSE base64url encoding, without padding.
var b64 = base64.RawURLEncoding

// SigningKey is a private key with its algorithm and key ID. Create one with
// GenerateKey, NewSigningKey or ParseSigningKey; the zero value is not
// usable. A SigningKey is immutable and safe for concurrent use; it prints
// as REDACTED.
type SigningKey struct {
	alg  string
	kid  string
	priv crypto.Signer // ed25519.PrivateKey or *ecdsa.PrivateKey
	pub  crypto.PublicKey
	// header is the encoded JOSE header of the tokens this key signs:
	// {"alg":…,"kid":…,"typ":"at+jwt"}, the same bytes golang-jwt would
	// produce, computed once.
	header string
}

// GenerateKey returns a fresh signing key for alg (EdDSA or ES256) from
// crypto/rand.
func GenerateKey(alg string) (*SigningKey, error) {
	switch alg {
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return NewSigningKey(priv)
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return NewSigningKey(priv)
	}
	return nil, fmt.Errorf("jwt: unsupported algorithm %q (want %s or %s)", alg, EdDSA, ES256)
}

// NewSigningKey wraps an Ed25519 private key (for EdDSA) or a P-256 ECDSA
// private key (for ES256). The key ID is the RFC 7638 JWK thumbprint of the
// public key, so it is stable and reveals nothing beyond the public key.
func NewSigningKey(priv crypto.Signer) (*SigningKey, error) {
	k := &SigningKey{priv: priv}
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		if len(p) != ed25519.PrivateKeySize {
			return nil, errors.New("jwt: bad Ed25519 private key size")
		}
		k.alg = EdDSA
		k.pub = p.Public()
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, errors.New("jwt: ECDSA keys must be on P-256")
		}
		k.alg = ES256
		k.pub = p.Public()
	default:
		return nil, fmt.Errorf("jwt: unsupported private key type %T", priv)
	}
	kid, err := thumbprint(k.pub)
	if err != nil {
		return nil, err
	}
	k.kid = kid
	// kid is base64url and alg a fixed name: no JSON escaping is needed.
	k.header = b64.EncodeToString([]byte(`{"alg":"` + k.alg + `","kid":"` + kid + `","typ":"` + TokenType + `"}`))
	return k, nil
}

// ParseSigningKey parses a PEM "PRIVATE KEY" block (PKCS #8) holding an
// Ed25519 or P-256 key. The error never contains key material.
func ParseSigningKey(pemBytes []byte) (*SigningKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("jwt: no PEM PRIVATE KEY block")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("jwt: malformed PKCS #8 private key")
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, errors.New("jwt: unsupported private key type")
	}
	return NewSigningKey(s)
}

// MarshalPEM returns the private key as a PEM "PRIVATE KEY" block (PKCS #8),
// for writing to a file of mode 0600.
func (k *SigningKey) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, errors.New("jwt: cannot marshal private key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// KeyID returns the key ID (the "kid" header of the tokens it signs).
func (k *SigningKey) KeyID() string { return k.kid }

// Algorithm returns EdDSA or ES256.
func (k *SigningKey) Algorithm() string { return k.alg }

// Public returns the public key: ed25519.PublicKey or *ecdsa.PublicKey.
func (k *SigningKey) Public() crypto.PublicKey { return k.pub }

// String returns "REDACTED".
func (SigningKey) String() string { return "REDACTED" }

// GoString returns "REDACTED".
func (SigningKey) GoString() string { return "REDACTED" }

// LogValue keeps key material out of log/slog output.
func (SigningKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// jwk is the public JSON Web Key form of Ed25519 (RFC 8037 section 2) and
// P-256 (RFC 7518 section 6.2) keys.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	// D is the private part. Keycard never writes it; a JWKS that holds
	// one is refused.
	D string `json:"d,omitempty"`
}

// publicJWK returns the JWK of a public key, without kid, alg and use.
func publicJWK(pub crypto.PublicKey) (jwk, error) {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return jwk{}, errors.New("jwt: bad Ed25519 public key size")
		}
		return jwk{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(p)}, nil
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return jwk{}, errors.New("jwt: ECDSA keys must be on P-256")
		}
		b, err := p.Bytes()
		if err != nil || len(b) != 65 {
			return jwk{}, errors.New("jwt: bad P-256 public key")
		}
		return jwk{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(b[1:33]), Y: b64.EncodeToString(b[33:])}, nil
	}
	return jwk{}, fmt.Errorf("jwt: unsupported public key type %T", pub)
}

// thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url).
func thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	// The required members in lexicographic order, no whitespace
	// (RFC 7638 section 3.2). The values are base64url or fixed names, so
	// they need no JSON escaping.
	var s string
	switch j.Kty {
	case "OKP":
		s = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	default:
		s = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	}
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:]), nil
}

// algFor returns the one algorithm a public key verifies, or "".
func algFor(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if len(p) == ed25519.PublicKeySize {
			return EdDSA
		}
	case *ecdsa.PublicKey:
		if p.Curve == elliptic.P256() {
			return ES256
		}
	}
	return ""
}

// parseJWK parses one public JWK, strictly: Ed25519 OKP or P-256 EC keys
// only, canonical base64url, points on the curve, no private part.
func parseJWK(j jwk) (crypto.PublicKey, error) {
	if j.D != "" {
		return nil, errors.New("jwt: JWKS contains a private key")
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, errors.New("jwt: JWK is not for signatures")
	}
	dec := b64.Strict()
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := dec.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize || j.Y != "" {
			return nil, errors.New("jwt: malformed Ed25519 JWK")
		}
		if j.Alg != "" && j.Alg != EdDSA {
			return nil, errors.New("jwt: JWK alg does not match its key type")
		}
		return ed25519.PublicKey(x), nil
	case j.Kty == "EC" && j.Crv == "P-256":
		x, err1 := dec.DecodeString(j.X)
		y, err2 := dec.DecodeString(j.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("jwt: malformed P-256 JWK")
		}
		if j.Alg != "" && j.Alg != ES256 {
			return nil, errors.New("jwt: JWK alg does not match its key type")
		}
		pt := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			return nil, errors.New("jwt: P-256 JWK is not on the curve")
		}
		return pub, nil
	}
	return nil, errors.New("jwt: unsupported JWK type (want OKP Ed25519 or EC P-256)")
}

// jwksDoc is a JWK Set (RFC 7517 section 5).
type jwksDoc struct {
	Keys []jwk `json:"keys"`
}

// marshalJWKS returns the JWK Set of keys, in order.
func marshalJWKS(keys []*SigningKey) ([]byte, error) {
	doc := jwksDoc{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		j, err := publicJWK(k.pub)
		if err != nil {
			return nil, err
		}
		j.Kid, j.Alg, j.Use = k.kid, k.alg, "sig"
		doc.Keys = append(doc.Keys, j)
	}
	return json.Marshal(doc)
}

// KeySource gives a Verifier the public key for a key ID. Implementations
// must answer only from keys they were configured with or fetched from a
// configured location, never from anything named in a token, and must be
// safe for concurrent use. An unknown kid is an error.
type KeySource interface {
	PublicKey(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// errUnknownKID is returned by key sources for a kid they do not hold.
var errUnknownKID = errors.New("jwt: unknown key ID")

// KeySet is a fixed set of public keys by key ID, parsed from a JWKS
// document with ParseJWKS. It is a KeySource, immutable and safe for
// concurrent use. The zero value is an empty set that knows no key.
type KeySet struct {
	keys map[string]crypto.PublicKey
}

// maxJWKSLen bounds the JWKS documents ParseJWKS accepts.
const maxJWKSLen = 1 << 20

// ParseJWKS parses a JWK Set document (RFC 7517) holding Ed25519 (OKP,
// RFC 8037) and P-256 (EC) public keys. Every key needs a kid, kids must be
// unique, and any other key type, a private key part or a duplicate JSON
// member is an error: a verifier configured with a set should get exactly
// the keys its publisher meant.
func ParseJWKS(doc []byte) (*KeySet, error) {
	if len(doc) > maxJWKSLen {
		return nil, errors.New("jwt: JWKS document too large")
	}
	if err := checkJSON(doc, nil, nil); err != nil {
		return nil, fmt.Errorf("jwt: malformed JWKS: %w", err)
	}
	var d jwksDoc
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&d); err != nil {
		return nil, errors.New("jwt: malformed JWKS")
	}
	ks := &KeySet{keys: make(map[string]crypto.PublicKey, len(d.Keys))}
	for i, j := range d.Keys {
		if j.Kid == "" {
			return nil, fmt.Errorf("jwt: JWKS key %d has no kid", i)
		}
		if _, dup := ks.keys[j.Kid]; dup {
			return nil, fmt.Errorf("jwt: JWKS has kid %q twice", j.Kid)
		}
		pub, err := parseJWK(j)
		if err != nil {
			return nil, fmt.Errorf("jwt: JWKS key %d: %w", i, err)
		}
		ks.keys[j.Kid] = pub
	}
	return ks, nil
}

// PublicKey returns the key with key ID kid.
func (s *KeySet) PublicKey(_ context.Context, kid string) (crypto.PublicKey, error) {
	if pub, ok := s.keys[kid]; ok {
		return pub, nil
	}
	return nil, errUnknownKID
}

// Len returns the number of keys in the set.
func (s *KeySet) Len() int { return len(s.keys) }
