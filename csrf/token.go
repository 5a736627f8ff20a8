package csrf

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
)

// SecretLen is the length in bytes of a per-session CSRF secret.
const SecretLen = 32

// TokenLen is the length of a masked token's text form: a 32-byte one-time pad
// followed by the secret XOR that pad (64 bytes), in base64url without padding.
const TokenLen = 86

// NewSecret returns a fresh secret of SecretLen bytes from crypto/rand, for a
// SecretStore that creates its own secrets (for example at login).
func NewSecret() []byte {
	b := make([]byte, SecretLen)
	rand.Read(b) // never fails: crypto/rand panics instead (Go 1.24+)
	return b
}

// maskToken returns a token for secret, masked with a fresh one-time pad:
// base64url(pad || pad XOR secret). Two calls never return the same text, so a
// compression side channel (BREACH) over responses cannot recover the secret
// byte by byte. secret must be SecretLen bytes long.
func maskToken(secret []byte) string {
	var raw [2 * SecretLen]byte
	rand.Read(raw[:SecretLen])
	for i := range SecretLen {
		raw[SecretLen+i] = raw[i] ^ secret[i]
	}
	var out [TokenLen]byte
	base64.RawURLEncoding.Encode(out[:], raw[:])
	return string(out[:])
}

// b64 maps a base64url character to its 6-bit value, or 0xff for any other byte.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeToken decodes the text of a masked token into its 64 raw bytes without
// allocating. It accepts only the canonical form: exactly TokenLen base64url
// characters, no padding, and no stray bits in the last character (so every
// token has exactly one accepted spelling). It reports false for anything else.
func decodeToken(s string, raw *[2 * SecretLen]byte) bool {
	if len(s) != TokenLen {
		return false
	}
	var bad byte
	// 84 characters form 21 groups of four characters (three bytes each).
	for g := range 21 {
		a, b, c, d := b64[s[4*g]], b64[s[4*g+1]], b64[s[4*g+2]], b64[s[4*g+3]]
		bad |= a | b | c | d
		raw[3*g] = a<<2 | b>>4
		raw[3*g+1] = b<<4 | c>>2
		raw[3*g+2] = c<<6 | d
	}
	// The last two characters carry 12 bits: one byte and four bits that must be 0.
	a, b := b64[s[84]], b64[s[85]]
	bad |= a | b
	raw[63] = a<<2 | b>>4
	// 0xff marks an invalid character; valid values fit in six bits.
	return bad&0xc0 == 0 && b&0x0f == 0
}

// validToken reports, in constant time with respect to the secrets, whether
// token is a masked form of current or (when not nil) previous.
func validToken(token string, current, previous []byte) bool {
	var raw [2 * SecretLen]byte
	if !decodeToken(token, &raw) {
		return false
	}
	var unmasked [SecretLen]byte
	for i := range SecretLen {
		unmasked[i] = raw[i] ^ raw[SecretLen+i]
	}
	ok := 0
	if len(current) == SecretLen {
		ok |= subtle.ConstantTimeCompare(unmasked[:], current)
	}
	if len(previous) == SecretLen {
		ok |= subtle.ConstantTimeCompare(unmasked[:], previous)
	}
	return ok == 1
}
