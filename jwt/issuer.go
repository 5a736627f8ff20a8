package jwt

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Lifetimes of access tokens.
const (
	// DefaultLifetime is the lifetime of a token when IssuerOptions.Lifetime
	// is zero.
	DefaultLifetime = 60 * time.Second
	// MaxLifetime is the longest lifetime an Issuer mints and the longest
	// (exp - iat) a Verifier accepts. An access token cannot be revoked
	// without a sid check, so its lifetime bounds the damage of a leak.
	MaxLifetime = 5 * time.Minute
	// MaxLeeway is the largest clock-skew allowance a Verifier accepts.
	MaxLeeway = time.Minute
)

// TokenType is the "typ" header of Keycard access tokens (RFC 9068 section
// 2.1): it keeps an access token from being accepted where an ID token or
// another JWT is expected, and the other way round.
const TokenType = "at+jwt"

// Session holds the facts about a live session that go into an access
// token. Nothing else from the session, and none of its data, is ever put
// in a token: JWT claims are signed, not encrypted, and every service that
// receives the token can read them.
type Session struct {
	Subject  string    // the authenticated user; the "sub" claim
	ID       string    // the session's public ID (never its token); the "sid" claim
	AuthTime time.Time // when the user last authenticated; the "auth_time" claim
	// Generation is the revocation generation of a sealed session
	// (keycard.Session.Generation), the "sid_gen" claim; 0, and absent, for
	// a session kept in the store.
	Generation uint64
}

// IssuerOptions configures an Issuer. A nil *IssuerOptions means all
// defaults.
type IssuerOptions struct {
	// Lifetime is the lifetime of minted tokens. The default is
	// DefaultLifetime (60 s); more than MaxLifetime (5 min) is refused.
	Lifetime time.Duration
	// ClientID is the "client_id" claim (RFC 9068 section 2.2). The default
	// is the issuer: the token is requested by Keycard on the session's
	// behalf.
	ClientID string
}

// retired is a key that no longer signs but is still published.
type retired struct {
	key   *SigningKey
	until time.Time
}

// Issuer mints access tokens from live sessions and publishes its public
// keys. Create one with NewIssuer; the zero value is not usable. It is safe
// for concurrent use, including Rotate during Mint. It prints as REDACTED.
type Issuer struct {
	iss      string
	clientID string
	lifetime time.Duration
	now      func() time.Time // time.Now; Keycard's tests set it

	mu      sync.RWMutex
	current *SigningKey
	method  gojwt.SigningMethod
	retired []retired
}

// NewIssuer returns an Issuer that signs with key and puts issuer (an
// https URL naming the Keycard deployment, by convention) in the "iss" claim.
func NewIssuer(issuer string, key *SigningKey, opts *IssuerOptions) (*Issuer, error) {
	if err := checkName("issuer", issuer); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("jwt: a signing key is required")
	}
	i := &Issuer{iss: issuer, clientID: issuer, lifetime: DefaultLifetime, now: time.Now}
	if opts != nil {
		if opts.Lifetime < 0 || opts.Lifetime > MaxLifetime {
			return nil, errors.New("jwt: lifetime must be between 0 and 5 minutes")
		}
		if opts.Lifetime > 0 {
			if opts.Lifetime < time.Second {
				return nil, errors.New("jwt: lifetime must be at least one second")
			}
			i.lifetime = opts.Lifetime
		}
		if opts.ClientID != "" {
			if err := checkName("client ID", opts.ClientID); err != nil {
				return nil, err
			}
			i.clientID = opts.ClientID
		}
	}
	i.setCurrent(key)
	return i, nil
}

// checkName refuses empty, over-long and non-printable identifiers.
func checkName(what, s string) error {
	if s == "" {
		return errors.New("jwt: " + what + " is required")
	}
	if len(s) > 1024 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errors.New("jwt: " + what + " is not a printable string of at most 1024 bytes")
	}
	return nil
}

func (i *Issuer) setCurrent(k *SigningKey) {
	i.current = k
	i.method = gojwt.GetSigningMethod(k.alg)
}

// String returns "REDACTED": an Issuer holds private keys.
func (*Issuer) String() string { return "REDACTED" }

// GoString returns "REDACTED".
func (*Issuer) GoString() string { return "REDACTED" }

// LogValue keeps key material out of log/slog output.
func (*Issuer) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Issuer returns the "iss" value.
func (i *Issuer) Issuer() string { return i.iss }

// Lifetime returns the lifetime of minted tokens.
func (i *Issuer) Lifetime() time.Duration { return i.lifetime }

// Mint returns a signed access token for session s, for the service named
// by aud, and its expiry. The caller must have loaded s from a live,
// authenticated session. The token carries iss, sub, aud, exp, iat, jti,
// client_id, sid and auth_time (and sid_gen for a sealed session), and
// nothing from the session's data.
func (i *Issuer) Mint(s Session, aud string) (token string, expires time.Time, err error) {
	if err := checkName("subject", s.Subject); err != nil {
		return "", time.Time{}, err
	}
	if err := checkName("session ID", s.ID); err != nil {
		return "", time.Time{}, err
	}
	if err := checkName("audience", aud); err != nil {
		return "", time.Time{}, err
	}
	now := i.now().Truncate(time.Second)
	if s.AuthTime.IsZero() || s.AuthTime.After(i.now()) {
		return "", time.Time{}, errors.New("jwt: session auth time must be set and not in the future")
	}
	var jti [16]byte
	rand.Read(jti[:])
	exp := now.Add(i.lifetime)
	c := &claimSet{
		Issuer:     i.iss,
		Subject:    s.Subject,
		Audience:   audience{aud},
		ExpiresAt:  newDate(exp),
		IssuedAt:   newDate(now),
		ID:         b64.EncodeToString(jti[:]),
		ClientID:   i.clientID,
		SessionID:  s.ID,
		AuthTime:   newDate(s.AuthTime),
		Generation: s.Generation,
	}
	i.mu.RLock()
	key, method := i.current, i.method
	i.mu.RUnlock()
	// This is what gojwt.Token.SignedString does, with the header encoded
	// once per key instead of once per token.
	payload, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, errors.New("jwt: encoding claims failed")
	}
	var sb strings.Builder
	sb.Grow(len(key.header) + 1 + b64.EncodedLen(len(payload)) + 1 + 172)
	sb.WriteString(key.header)
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(payload))
	sig, err := method.Sign(sb.String(), key.priv)
	if err != nil {
		return "", time.Time{}, errors.New("jwt: signing failed")
	}
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(sig))
	return sb.String(), exp, nil
}

// overlap is how long a retired key stays published: until every token it
// signed has expired, plus the largest leeway a verifier may allow.
func (i *Issuer) overlap() time.Duration { return i.lifetime + MaxLeeway }

// Rotate makes next the signing key. The previous key stops signing at
// once but stays in the JWKS and keeps verifying until every token it signed
// has expired (lifetime plus MaxLeeway), so that no valid token is rejected
// during the switch. Verifiers that cache the JWKS learn the new kid when
// they refetch on an unknown kid (keyfunc does, rate-limited).
func (i *Issuer) Rotate(next *SigningKey) error {
	if next == nil {
		return errors.New("jwt: a signing key is required")
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if next.kid == i.current.kid {
		return errors.New("jwt: the new key is the current key")
	}
	now := i.now()
	i.prune(now)
	i.retired = append(i.retired, retired{key: i.current, until: now.Add(i.overlap())})
	i.setCurrent(next)
	return nil
}

// prune drops retired keys whose tokens can no longer be valid. i.mu is held.
func (i *Issuer) prune(now time.Time) {
	kept := i.retired[:0]
	for _, r := range i.retired {
		if now.Before(r.until) {
			kept = append(kept, r)
		}
	}
	clear(i.retired[len(kept):])
	i.retired = kept
}

// published returns the keys a verifier should accept now, current first.
func (i *Issuer) published() []*SigningKey {
	now := i.now()
	i.mu.RLock()
	defer i.mu.RUnlock()
	keys := []*SigningKey{i.current}
	for j := len(i.retired) - 1; j >= 0; j-- {
		if now.Before(i.retired[j].until) {
			keys = append(keys, i.retired[j].key)
		}
	}
	return keys
}

// JWKS returns the JWK Set document of the published public keys, for
// /.well-known/jwks.json: the signing key first, then retired keys whose
// tokens may still be valid. It never contains private key material.
func (i *Issuer) JWKS() ([]byte, error) {
	return marshalJWKS(i.published())
}

// PublicKey returns a published key by key ID; an Issuer is a KeySource,
// for a Verifier in the same process.
func (i *Issuer) PublicKey(_ context.Context, kid string) (crypto.PublicKey, error) {
	for _, k := range i.published() {
		if k.kid == kid {
			return k.pub, nil
		}
	}
	return nil, errUnknownKID
}

// JWKSHandler returns an http.Handler that serves JWKS() as
// application/jwk-set+json to GET and HEAD requests. Responses may be
// cached for a minute: shorter than the time a retired key stays published.
func (i *Issuer) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		doc, err := i.JWKS()
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", "public, max-age=60")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(doc)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(doc)
		}
	})
}
