// Package seal keeps state on the client without trusting the client: it
// encrypts and authenticates small values (a sealed session cookie, an
// offline session blob) so that whoever holds one can neither read nor
// change it, nor use it for another cookie, another purpose, or after it
// expires.
//
// A Sealer seals with XChaCha20-Poly1305 (the AEAD form of NaCl secretbox,
// from golang.org/x/crypto/chacha20poly1305) under keys from a KeyRing:
//
//	ring, err := seal.NewKeyRing(secret) // 32+ random bytes from a secret manager
//	s, err := seal.New(ring, nil)
//	v, err := s.Seal("__Host-keycard", "session", data, time.Now().Add(12*time.Hour))
//	data, err = s.Open("__Host-keycard", "session", v)
//
// # Format
//
// A sealed value is the base64url text (no padding) of, in format v1:
//
//	version (1 byte, 0x01) | key ID (4 bytes) | nonce (24 bytes) | ciphertext+tag
//
// The plaintext is the expiry (8-byte big-endian Unix seconds) followed by
// the data. The additional data is the 29-byte header followed by the
// length-prefixed cookie name and purpose. Known-answer vectors are in
// testdata/v1_vectors.json. A value takes 53 bytes plus the data before
// encoding, about 71 characters plus 4/3 of the data after.
//
// # Security model
//
// Confidentiality and integrity rest on the AEAD and on the secrets: each
// secret must be at least 32 bytes of high-entropy data. Nonces are 24
// random bytes, so random nonces never collide in practice, however many
// values one key seals.
//
// The header, the cookie name and the purpose are authenticated as
// additional data: a value sealed for one cookie does not open as another,
// a value sealed for one purpose does not open for another, and the key ID
// and version cannot be swapped or downgraded. The expiry is inside the
// ciphertext and checked on every Open against the current time.
//
// Open returns ErrInvalid, and only ErrInvalid, for every value it refuses,
// whatever the reason, so that an attacker learns nothing from the answer.
//
// What seal does not do: a sealed value is a bearer credential that can be
// replayed until it expires, and it cannot be revoked by itself. Keycard's
// sealed-cookie sessions add a small server-side record (a per-subject "not
// before" time and a deny list of session IDs) for logout and sign-out
// everywhere. The length of a value reveals the length of its data.
//
// # Key rotation
//
// NewKeyRing takes secrets newest first. The newest key seals; every key
// opens. Key IDs are derived from the secrets with HKDF, so a value names
// the secret that sealed it, not a position in the list. To rotate: put the
// new secret in front and deploy (or call Sealer.SetKeyRing); every value
// sealed with an older key keeps opening, so nobody is logged out. When the
// longest lifetime of the values sealed with the old secret has passed,
// remove that secret; values it sealed then stop opening, which is also how
// to invalidate every value of a leaked key at once.
//
// # CSRF token
//
// Nonce returns the random nonce of a sealed value. Kept in an HttpOnly
// cookie, the value cannot be read by another origin, so its nonce, handed
// to the page and echoed in a request header, can serve as a CSRF token
// bound to that value.
//
// # Testing
//
// A Sealer reads time.Now; there is no clock option. A test of expiry runs
// under testing/synctest, whose bubble moves time.Now for the Sealer, the
// session Manager and the rest of the program alike.
//
// # Performance
//
// Seal and Open of 100 bytes cost the AEAD itself (XChaCha20-Poly1305,
// including HChaCha20 and the additional data) plus a fixed amount, spent
// as follows; the choices are explained next to the code.
//
//   - One allocation each. Seal builds the header, plaintext and additional
//     data in pooled scratch, seals in place, encodes the text into the
//     scratch and copies it once into the string it returns. Open copies
//     the text into pooled scratch, decodes and opens it there, copies out
//     only the data, and clears the scratch, which held plaintext, before
//     returning it to the pool. The copies of the text are the price of
//     not using package unsafe.
//   - Base64url by encoding/base64 (strict decoding, CR and LF refused
//     first). A hand-written codec would be faster; the standard library's
//     is kept, since parser code in a security package should be the
//     well-kept one.
//   - The nonce stays crypto/rand. A pooled user-space generator such as
//     math/rand/v2's ChaCha8 is faster but is duplicated by VM snapshot
//     restores and process checkpoints, and a nonce repeated under one key
//     breaks XChaCha20-Poly1305 (see randNonce); the kernel's vDSO generator
//     behind crypto/rand is not.
package seal
