package keycard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"

	"github.com/keycard-go/keycard/storage"
)

// TokenLen is the length of a session token's text form: 32 random bytes in
// base64url without padding.
const TokenLen = 43

// Token is a session token: the secret a client holds. It prints as REDACTED
// in every fmt verb that calls String and in log/slog; use Reveal to send it.
type Token string

// String returns "REDACTED", so that a Token never reaches a log by accident.
func (Token) String() string { return "REDACTED" }

// GoString returns "REDACTED" for %#v.
func (Token) GoString() string { return "REDACTED" }

// LogValue keeps the token out of log/slog output.
func (Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Reveal returns the token's text, for a cookie, a response body or a header.
func (t Token) Reveal() string { return string(t) }

// errMalformedToken is returned by ParseToken for every malformed input.
var errMalformedToken = errors.New("keycard: malformed session token")

// newToken returns a fresh token from crypto/rand and its hash.
func newToken() (Token, storage.Hash) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	var enc [TokenLen]byte
	base64.RawURLEncoding.Encode(enc[:], b[:])
	return Token(enc[:]), sha256.Sum256(enc[:])
}

// idLen is the length of a public session ID: 16 random bytes in base64url.
const idLen = 22

// newID returns a fresh public session ID.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseToken checks that s has the shape of a Keycard token (43 characters of
// base64url, canonical, decoding to 32 bytes) and returns it. Every malformed
// input gets the same error, which never repeats the input.
func ParseToken(s string) (Token, error) {
	if !tokenShaped(s) {
		return "", errMalformedToken
	}
	return Token(s), nil
}

// tokenShaped reports whether s is 43 base64url characters whose last one
// carries no stray bits (the canonical encoding of 32 bytes).
func tokenShaped(s string) bool {
	if len(s) != TokenLen || !isBase64URL(s) {
		return false
	}
	// 43 characters hold 258 bits; the last character's low 2 bits must be zero.
	return b64Value(s[TokenLen-1])&3 == 0
}

// isBase64URL reports whether every byte of s is a base64url character.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b64Value(s[i]) < 0 {
			return false
		}
	}
	return true
}

// b64Value returns the value of a base64url character, or -1.
func b64Value(c byte) int { return int(b64Table[c]) }

// b64Table maps every byte to its base64url value, or -1.
var b64Table = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()
