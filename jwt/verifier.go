package jwt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is the one error Verify returns for every token it does
// not accept, whatever the reason (malformed, bad signature, wrong
// algorithm, unknown key, expired, wrong issuer, audience or type, revoked
// session, ...). The reason goes to VerifierOptions.Logger at debug level.
var ErrInvalidToken = errors.New("jwt: invalid access token")

// DefaultMaxTokenLen is the longest token a Verifier reads when
// VerifierOptions.MaxTokenLen is zero. Keycard's tokens are about 500 bytes.
const DefaultMaxTokenLen = 8 << 10

// RevocationChecker tells a Verifier whether the session of a token's
// verified claims has ended, so that a token minted from it stops working
// before it expires: by its sid (a logout, a revocation), or for a sealed
// session also by its subject and sid_gen (a RevokeAll). Revoked must be
// safe for concurrent use. An error makes Verify fail (fail closed): a
// resource server that cannot tell should not let the token through.
type RevocationChecker interface {
	Revoked(ctx context.Context, c *Claims) (revoked bool, err error)
}

// RevocationFunc adapts a function to RevocationChecker.
type RevocationFunc func(ctx context.Context, c *Claims) (bool, error)

// Revoked calls f.
func (f RevocationFunc) Revoked(ctx context.Context, c *Claims) (bool, error) { return f(ctx, c) }

// VerifierOptions configures a Verifier. A nil *VerifierOptions means all
// defaults.
type VerifierOptions struct {
	// Leeway allows for clock skew when checking exp, nbf, iat and
	// auth_time. The default is zero, right when the Verifier shares the
	// Issuer's clock; across machines, set a few seconds (an iat is
	// truncated to the second, so a verifier whose clock runs behind the
	// issuer's would otherwise see it in the future). More than MaxLeeway
	// (1 min) is refused.
	Leeway time.Duration
	// MaxTokenLen is the longest token accepted, checked before anything is
	// decoded. The default is DefaultMaxTokenLen (8 KiB).
	MaxTokenLen int
	// Revocation, if set, is asked about the token's session on every Verify.
	// The default is no check: a token stays valid until it expires.
	Revocation RevocationChecker
	// Logger receives the reason a token was refused, at debug level,
	// without the token. The default is no logging.
	Logger *slog.Logger
}

// Claims are the verified claims of an access token.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt time.Time
	IssuedAt  time.Time
	NotBefore time.Time // zero if absent
	AuthTime  time.Time
	ID        string // jti
	SessionID string // sid
	ClientID  string
	// Generation is the sid_gen claim: the revocation generation of a
	// sealed session, 0 for one kept in the store.
	Generation uint64
}

// Verifier checks access tokens for a resource server. Create one with
// NewVerifier; the zero value is not usable. It is safe for concurrent use.
type Verifier struct {
	iss, aud   string
	keys       KeySource
	leeway     time.Duration
	maxLen     int
	revocation RevocationChecker
	now        func() time.Time // time.Now; Keycard's tests set it
	log        *slog.Logger
	parser     *gojwt.Parser
}

// NewVerifier returns a Verifier that accepts only tokens issued by issuer
// for audience, signed by a key from keys with that key's one algorithm.
func NewVerifier(issuer, audience string, keys KeySource, opts *VerifierOptions) (*Verifier, error) {
	if err := checkName("issuer", issuer); err != nil {
		return nil, err
	}
	if err := checkName("audience", audience); err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errors.New("jwt: a key source is required")
	}
	v := &Verifier{iss: issuer, aud: audience, keys: keys, maxLen: DefaultMaxTokenLen, now: time.Now}
	if opts != nil {
		if opts.Leeway < 0 || opts.Leeway > MaxLeeway {
			return nil, errors.New("jwt: leeway must be between 0 and 1 minute")
		}
		v.leeway = opts.Leeway
		if opts.MaxTokenLen < 0 || opts.MaxTokenLen > 1<<20 {
			return nil, errors.New("jwt: max token length must be between 0 and 1 MiB")
		}
		if opts.MaxTokenLen > 0 {
			v.maxLen = opts.MaxTokenLen
		}
		v.revocation = opts.Revocation
		v.log = opts.Logger
	}
	v.parser = gojwt.NewParser(
		gojwt.WithValidMethods([]string{EdDSA, ES256}), // and then pinned to the key's own type
		gojwt.WithIssuer(issuer),
		gojwt.WithAudience(audience),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithLeeway(v.leeway),
		gojwt.WithStrictDecoding(),
		gojwt.WithTimeFunc(func() time.Time { return v.now() }),
	)
	return v, nil
}

// reject logs why a token was refused and returns ErrInvalidToken.
func (v *Verifier) reject(ctx context.Context, reason string, err error) error {
	if v.log != nil {
		attrs := []any{"reason", reason}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		v.log.DebugContext(ctx, "jwt: access token refused", attrs...)
	}
	return ErrInvalidToken
}

// Verify checks token and returns its claims. Every refusal is
// ErrInvalidToken; an error from the RevocationChecker is returned wrapped
// (not as ErrInvalidToken) so that the caller can answer 503 instead of 401.
//
// The checks, in order: length; only base64url characters and two dots;
// header and payload are single JSON objects without duplicate members;
// header typ is at+jwt, with no crit, jku, jwk, x5u, x5c, enc or zip (keys
// are never fetched from where a token points); a non-empty kid that keys
// knows; alg equal to that key's one algorithm; the signature; then iss,
// aud, exp (required), nbf, iat (required, not in the future), a lifetime
// (exp - iat) of at most MaxLifetime, sub, jti and sid present, auth_time
// not in the future; finally the optional sid revocation check.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > v.maxLen {
		return nil, v.reject(ctx, "too long", nil)
	}
	if err := v.precheck(token); err != nil {
		return nil, v.reject(ctx, "malformed", err)
	}
	var kidErr error
	var c claimSet
	_, err := v.parser.ParseWithClaims(token, &c, func(t *gojwt.Token) (any, error) {
		kid, err := checkHeader(t.Header)
		if err != nil {
			return nil, err
		}
		pub, err := v.keys.PublicKey(ctx, kid)
		if err != nil {
			kidErr = err
			return nil, err
		}
		// Pin the algorithm to the key: the header may only name the one
		// algorithm the key is for (RFC 8725 section 3.1). WithValidMethods
		// has already limited it to EdDSA and ES256.
		if a := algFor(pub); a == "" || a != t.Method.Alg() {
			return nil, fmt.Errorf("alg %q does not match the key", t.Method.Alg())
		}
		return pub, nil
	})
	if err != nil {
		if kidErr != nil {
			return nil, v.reject(ctx, "unknown kid", kidErr)
		}
		return nil, v.reject(ctx, "rejected by parser", err)
	}
	out, err := v.checkClaims(&c)
	if err != nil {
		return nil, v.reject(ctx, "claims", err)
	}
	if v.revocation != nil {
		revoked, err := v.revocation.Revoked(ctx, out)
		if err != nil {
			return nil, fmt.Errorf("jwt: session revocation check failed: %w", err)
		}
		if revoked {
			return nil, v.reject(ctx, "session revoked", nil)
		}
	}
	return out, nil
}

// forbiddenHeaders are JOSE header parameters that Keycard never sets and
// refuses, compared case-insensitively: they ask the recipient to fetch or
// trust a key named by the token (jku, jwk, x5u, x5c: RFC 8725 section 3.10,
// RFC 7515 section 4.1), to understand extensions (crit: RFC 7515 section
// 4.1.11 says a recipient that does not understand them must reject), or
// they belong to JWE (enc, zip) or to unencoded payloads (b64).
var forbiddenHeaders = []string{"jku", "jwk", "x5u", "x5c", "crit", "enc", "zip", "b64"}

// precheck checks the token's shape before the library sees it.
func (v *Verifier) precheck(token string) error {
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c == '.':
			dots++
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			// Padding, whitespace (which encoding/base64 would skip) and
			// anything else outside base64url.
			return errors.New("character outside base64url")
		}
	}
	if dots != 2 {
		return errors.New("not three segments")
	}
	h, rest, _ := strings.Cut(token, ".")
	p, _, _ := strings.Cut(rest, ".")
	hb, err := strictB64.DecodeString(h)
	if err != nil {
		return errors.New("header is not canonical base64url")
	}
	pb, err := strictB64.DecodeString(p)
	if err != nil {
		return errors.New("payload is not canonical base64url")
	}
	var namesBuf [8]string
	names := namesBuf[:0]
	// golang-jwt decodes both segments with encoding/json afterwards, which
	// refuses invalid JSON, so the cheaper scan is enough here.
	if err := scanJSON(hb, nil, &names); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	for _, n := range names {
		if slices.Contains(forbiddenHeaders, fold(n)) {
			return fmt.Errorf("forbidden header %q", n)
		}
	}
	if err := scanJSON(pb, dateClaims, nil); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	return nil
}

// strictB64 rejects non-zero trailing bits, so each segment has one encoding.
var strictB64 = b64.Strict()

// checkHeader checks the parsed header: typ, kid and alg. It runs before the
// signature is checked.
func checkHeader(h map[string]any) (kid string, err error) {
	typ, _ := h["typ"].(string)
	// RFC 9068 section 4: typ must be at+jwt or application/at+jwt; media
	// type names compare case-insensitively (RFC 7515 section 4.1.9).
	if !strings.EqualFold(typ, TokenType) && !strings.EqualFold(typ, "application/"+TokenType) {
		return "", errors.New("typ is not at+jwt")
	}
	kid, _ = h["kid"].(string)
	if kid == "" || len(kid) > 256 {
		return "", errors.New("kid missing, not a string, or too long")
	}
	return kid, nil
}

// checkClaims applies the checks golang-jwt leaves to the application.
func (v *Verifier) checkClaims(c *claimSet) (*Claims, error) {
	if c.IssuedAt == nil {
		return nil, errors.New("iat missing")
	}
	if c.ExpiresAt == nil { // WithExpirationRequired already refused this
		return nil, errors.New("exp missing")
	}
	exp, iat := c.ExpiresAt.Time, c.IssuedAt.Time
	if exp.Sub(iat) > MaxLifetime {
		return nil, errors.New("lifetime longer than the maximum")
	}
	if c.Subject == "" || c.ID == "" || c.SessionID == "" {
		return nil, errors.New("sub, jti or sid missing")
	}
	out := &Claims{
		Issuer:     c.Issuer,
		Subject:    c.Subject,
		Audience:   []string(c.Audience),
		ExpiresAt:  exp,
		IssuedAt:   iat,
		ID:         c.ID,
		SessionID:  c.SessionID,
		Generation: c.Generation,
		ClientID:   c.ClientID,
	}
	if c.NotBefore != nil {
		out.NotBefore = c.NotBefore.Time
	}
	if c.AuthTime != nil {
		if c.AuthTime.Time.After(v.now().Add(v.leeway)) || c.AuthTime.Time.After(iat) {
			return nil, errors.New("auth_time in the future")
		}
		out.AuthTime = c.AuthTime.Time
	}
	return out, nil
}
