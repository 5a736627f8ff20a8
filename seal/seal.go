package seal

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/keycard-go/keycard/internal/testhook"
)

// Format v1, before the text encoding:
//
//	offset  size  field
//	0       1     version (0x01)
//	1       4     key ID (derived from the secret, see KeyRing)
//	5       24    nonce (crypto/rand)
//	29      n+16  XChaCha20-Poly1305 ciphertext and tag of the payload
//
// The payload is an 8-byte big-endian Unix time in seconds (the expiry)
// followed by the caller's data. The additional data is the 29-byte header,
// then the cookie name and the purpose, each preceded by its length as a
// 4-byte big-endian integer, so that no two (name, purpose) pairs share an
// encoding.
const (
	// Version1 is the first byte of every value in format v1.
	Version1 = 0x01

	keyIDLen   = 4
	nonceLen   = chacha20poly1305.NonceSizeX
	headerLen  = 1 + keyIDLen + nonceLen
	expiryLen  = 8
	tagLen     = chacha20poly1305.Overhead
	overhead   = headerLen + expiryLen + tagLen
	secretMin  = 32
	maxKeys    = 16
	hkdfSalt   = "keycard seal v1"
	infoKey    = "keycard seal v1 xchacha20-poly1305 key"
	infoKeyID  = "keycard seal v1 key id"
	lengthSize = 4
)

// MaxCookieLen is the size a cookie's name, "=" and value may take together.
// Browsers keep at least 4096 bytes per cookie (RFC 6265 section 6.1); Seal
// refuses to produce a value that would not fit under that limit, and Open
// rejects a longer value before decoding it.
const MaxCookieLen = 4095

// ErrInvalid is the one error Open returns for every sealed value it does not
// accept: wrong version, unknown or rotated-out key, truncated, modified,
// sealed for another cookie or purpose, or expired. The reasons are
// deliberately not told apart (compare crypto/cipher's single open error):
// a caller, or an attacker probing it, learns only that the value is invalid.
var ErrInvalid = errors.New("seal: invalid sealed value")

// ErrTooLarge is returned by Seal when the encoded value together with the
// cookie name would exceed MaxCookieLen.
var ErrTooLarge = errors.New("seal: sealed value too large for a cookie")

// errExpiry is returned by Seal for an expiry that is not in the future.
var errExpiry = errors.New("seal: expiry must be in the future")

// key is one entry of a KeyRing.
type key struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
}

// KeyRing is an immutable, ordered set of sealing keys derived from secrets.
// The first key is the newest: it seals. Every key opens. Create one with
// NewKeyRing; the zero value holds no keys and New refuses it. A KeyRing is
// safe for concurrent use. It prints as REDACTED in fmt and log/slog.
type KeyRing struct {
	keys []key
}

// NewKeyRing derives a key ring from secrets, newest first. Each secret must
// be at least 32 bytes of high-entropy data (for example 32 bytes from
// crypto/rand, kept in a secret manager); a password is not a secret here.
// Each key and its 4-byte key ID are derived with HKDF-SHA256 (RFC 5869), so
// the ID names the secret, not its position: reordering or removing secrets
// never makes a value open under the wrong key.
//
// To rotate, put the new secret first and keep the old ones after it until
// every value they sealed has expired; then drop them. NewKeyRing copies
// nothing it does not need: the secrets are not retained.
func NewKeyRing(secrets ...[]byte) (*KeyRing, error) {
	if len(secrets) == 0 {
		return nil, errors.New("seal: a key ring needs at least one secret")
	}
	if len(secrets) > maxKeys {
		return nil, fmt.Errorf("seal: a key ring holds at most %d secrets", maxKeys)
	}
	r := &KeyRing{keys: make([]key, 0, len(secrets))}
	for i, s := range secrets {
		if len(s) < secretMin {
			// The message names the position, never the secret.
			return nil, fmt.Errorf("seal: secret %d is shorter than %d bytes", i, secretMin)
		}
		k, err := deriveKey(s)
		if err != nil {
			return nil, err
		}
		for j := range r.keys {
			if r.keys[j].id == k.id {
				return nil, fmt.Errorf("seal: secrets %d and %d derive the same key ID", j, i)
			}
		}
		r.keys = append(r.keys, k)
	}
	return r, nil
}

// deriveKey derives the AEAD key and key ID of one secret.
func deriveKey(secret []byte) (key, error) {
	kb, err := hkdf.Key(sha256.New, secret, []byte(hkdfSalt), infoKey, chacha20poly1305.KeySize)
	if err != nil {
		return key{}, errors.New("seal: deriving a key failed")
	}
	idb, err := hkdf.Key(sha256.New, secret, []byte(hkdfSalt), infoKeyID, keyIDLen)
	if err != nil {
		return key{}, errors.New("seal: deriving a key ID failed")
	}
	aead, err := newAEAD(kb)
	clear(kb)
	if err != nil {
		return key{}, err
	}
	var k key
	copy(k.id[:], idb)
	k.aead = aead
	return k, nil
}

// newAEAD is the one AEAD constructor seal uses; the Wycheproof tests run
// their vectors through it.
func newAEAD(k []byte) (cipher.AEAD, error) {
	a, err := chacha20poly1305.NewX(k)
	if err != nil {
		return nil, errors.New("seal: bad key size")
	}
	return a, nil
}

// IDs returns the key IDs of the ring in hex, newest first. Key IDs are
// public: they appear in every sealed value.
func (r *KeyRing) IDs() []string {
	ids := make([]string, len(r.keys))
	for i := range r.keys {
		ids[i] = hex.EncodeToString(r.keys[i].id[:])
	}
	return ids
}

// find returns the key with the given ID, in constant time over the ring.
func (r *KeyRing) find(id []byte) *key {
	var found *key
	for i := range r.keys {
		if subtle.ConstantTimeCompare(r.keys[i].id[:], id) == 1 {
			found = &r.keys[i]
		}
	}
	return found
}

// String returns "REDACTED".
func (KeyRing) String() string { return "REDACTED" }

// GoString returns "REDACTED".
func (KeyRing) GoString() string { return "REDACTED" }

// LogValue keeps key material out of log/slog output.
func (KeyRing) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Options configures a Sealer. A nil *Options means all defaults. It has no
// fields yet; it keeps New's signature for the options to come. (There is
// no clock option: see "Testing" in the package documentation.)
type Options struct{}

// Sealer seals and opens values with a key ring. Create one with New; the
// zero value is not usable. A Sealer is safe for concurrent use, including
// concurrent calls to SetKeyRing. It prints as REDACTED.
type Sealer struct {
	ring atomic.Pointer[KeyRing]
	// now is time.Now; Keycard's tests set it (directly, or through
	// internal/testhook from other packages).
	now func() time.Time
	// nonce fills b with a fresh nonce. Tests replace it to produce
	// known-answer vectors; in production it is always crypto/rand.
	nonce func(b []byte)
}

// New returns a Sealer that seals with the newest key of ring and opens with
// any key of it. ring is required.
func New(ring *KeyRing, opts *Options) (*Sealer, error) {
	if ring == nil || len(ring.keys) == 0 {
		return nil, errors.New("seal: a key ring is required")
	}
	s := &Sealer{now: time.Now, nonce: randNonce}
	s.ring.Store(ring)
	return s, nil
}

// randNonce draws every nonce from crypto/rand. A counter would be cheaper
// and unique enough for XChaCha20-Poly1305, but the nonce doubles as the
// value's CSRF token (see Nonce), so it must also be unpredictable: a
// counter would let a user who sees their own nonce guess another's.
//
// It deliberately does not use a faster user-space generator (for example a
// sync.Pool of math/rand/v2 ChaCha8 states seeded from crypto/rand, which
// measured about 25 ns per nonce against about 66 ns here). ChaCha8 is a
// strong generator, but its state lives in process memory, and a VM
// snapshot that is restored more than once (Firecracker, SnapStart-style
// restores, live VM cloning) or a checkpointed process (CRIU) resumes every
// copy with the same generator states: the copies would then draw the same
// nonces under the same key. For XChaCha20-Poly1305 a repeated nonce with
// different plaintexts reveals their XOR and lets whoever holds both values
// recover the Poly1305 key and forge values for that nonce, i.e. forge
// session cookies. Reseeding every N nonces only bounds how many repeat.
// crypto/rand on Linux 6.11+ is the kernel's vDSO getrandom, itself a
// user-space ChaCha20 fast-key-erasure generator, but one the kernel
// invalidates on fork and on a VM generation-ID change; that is the
// property a private pool cannot have. It also stays the approved DRBG in
// FIPS 140-3 mode. 40 ns a Seal is not worth that risk.
func randNonce(b []byte) { rand.Read(b) } // crypto/rand.Read never fails; it panics instead.

func init() {
	testhook.Register(func(s *Sealer, now func() time.Time) { s.now = now })
}

// SetKeyRing replaces the key ring, for rotation without a restart. Values
// sealed before keep opening as long as their key is still in ring.
func (s *Sealer) SetKeyRing(ring *KeyRing) error {
	if ring == nil || len(ring.keys) == 0 {
		return errors.New("seal: a key ring is required")
	}
	s.ring.Store(ring)
	return nil
}

// String returns "REDACTED".
func (*Sealer) String() string { return "REDACTED" }

// GoString returns "REDACTED".
func (*Sealer) GoString() string { return "REDACTED" }

// LogValue keeps key material out of log/slog output.
func (*Sealer) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// enc is the text encoding of sealed values: base64url without padding, safe
// in a cookie value (RFC 6265 cookie-octet) and in a URL.
var enc = base64.RawURLEncoding

// strictEnc rejects non-zero trailing bits, so each value has one encoding.
var strictEnc = base64.RawURLEncoding.Strict()

// Seal encrypts and authenticates data for the cookie called name and for
// purpose (a short label such as "session" or "flash" that keeps values of
// one use from being accepted for another), valid until expires. It returns
// the base64url text to put in the cookie. Seal fails with ErrTooLarge when
// name, "=" and the value would exceed MaxCookieLen, and with another error
// when expires (truncated to the second) is not in the future. The data is confidential and tamper-evident, but it is
// visible in size and can be replayed until it expires: revocation needs
// server-side state (see the package documentation).
func (s *Sealer) Seal(name, purpose string, data []byte, expires time.Time) (string, error) {
	now := s.now()
	exp := expires.Unix() // truncated down: a value never outlives its expiry
	if exp <= now.Unix() {
		return "", errExpiry
	}
	rawLen := overhead + len(data)
	encLen := enc.EncodedLen(rawLen)
	if len(data) > MaxCookieLen || len(name)+1+encLen > MaxCookieLen {
		return "", ErrTooLarge
	}
	k := &s.ring.Load().keys[0]

	// Scratch space from a pool for the raw value, the additional data and
	// the text; the only allocation is the output. See "Performance" in
	// doc.go.
	adL := adLen(name, purpose)
	bp := getBuf(rawLen + adL + encLen)
	buf := (*bp)[:rawLen]
	buf[0] = Version1
	copy(buf[1:], k.id[:])
	s.nonce(buf[1+keyIDLen : headerLen])
	ad := appendAD(buf[rawLen:rawLen], buf[:headerLen], name, purpose)

	pt := buf[headerLen : headerLen+expiryLen+len(data)]
	binary.BigEndian.PutUint64(pt, uint64(exp))
	copy(pt[expiryLen:], data)
	// Sealed in place: the ciphertext overwrites the plaintext, so after
	// this call the scratch buffer holds only public bytes (header,
	// ciphertext, tag, additional data).
	k.aead.Seal(pt[:0], buf[1+keyIDLen:headerLen], pt, ad)

	// The text is encoded into the scratch and copied once into the string
	// returned: without package unsafe a string cannot be written in place.
	text := (*bp)[rawLen+adL:]
	enc.Encode(text, buf)
	out := string(text)
	putBuf(bp, false)
	return out, nil
}

// bufPool holds scratch buffers for Seal and Open. A buffer that may hold
// plaintext (Open's) is cleared before it returns to the pool, so no
// plaintext lingers in pooled memory; Seal's holds only public bytes once
// the AEAD has run and is not cleared.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf(n int) *[]byte {
	bp := bufPool.Get().(*[]byte)
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	*bp = (*bp)[:n]
	return bp
}

func putBuf(bp *[]byte, secret bool) {
	if secret {
		clear(*bp)
	}
	if cap(*bp) > 2*MaxCookieLen {
		return
	}
	bufPool.Put(bp)
}

func adLen(name, purpose string) int {
	return headerLen + lengthSize + len(name) + lengthSize + len(purpose)
}

func appendAD(dst, header []byte, name, purpose string) []byte {
	dst = append(dst, header...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(name)))
	dst = append(dst, name...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(purpose)))
	dst = append(dst, purpose...)
	return dst
}

// Open authenticates and decrypts a value that Seal produced for the same
// cookie name and purpose, and returns its data. Every failure returns
// ErrInvalid and nothing else.
func (s *Sealer) Open(name, purpose, value string) ([]byte, error) {
	data, _, err := s.open(name, purpose, value)
	return data, err
}

// OpenWithExpiry is Open that also returns the expiry sealed in the value
// (to the second).
func (s *Sealer) OpenWithExpiry(name, purpose, value string) ([]byte, time.Time, error) {
	data, exp, err := s.open(name, purpose, value)
	if err != nil {
		return nil, time.Time{}, err
	}
	return data, time.Unix(exp, 0), nil
}

func (s *Sealer) open(name, purpose, value string) ([]byte, int64, error) {
	// Each return below is ErrInvalid: one opaque answer for every reason.
	if len(name)+1+len(value) > MaxCookieLen {
		return nil, 0, ErrInvalid
	}
	// A sealed value never contains CR or LF, which encoding/base64 would
	// skip even in strict mode: refuse them first.
	if strings.IndexByte(value, '\r') >= 0 || strings.IndexByte(value, '\n') >= 0 {
		return nil, 0, ErrInvalid
	}
	rawLen := enc.DecodedLen(len(value))
	if rawLen < overhead {
		return nil, 0, ErrInvalid
	}
	// Copy the text into pooled scratch (encoding/base64 decodes only from
	// a []byte), decode it there, open in place, and copy out only the
	// data: the one allocation is the returned slice. The scratch is
	// cleared before it goes back, since it held plaintext.
	adL := adLen(name, purpose)
	bp := getBuf(rawLen + adL + len(value))
	defer putBuf(bp, true)
	buf := (*bp)[:rawLen]
	text := (*bp)[rawLen+adL:]
	copy(text, value)
	if n, err := strictEnc.Decode(buf, text); err != nil || n != rawLen {
		return nil, 0, ErrInvalid
	}
	if buf[0] != Version1 {
		return nil, 0, ErrInvalid
	}
	k := s.ring.Load().find(buf[1 : 1+keyIDLen])
	if k == nil {
		return nil, 0, ErrInvalid
	}
	ad := appendAD(buf[rawLen:rawLen], buf[:headerLen], name, purpose)
	ct := buf[headerLen:rawLen]
	pt, err := k.aead.Open(ct[:0], buf[1+keyIDLen:headerLen], ct, ad)
	if err != nil || len(pt) < expiryLen {
		return nil, 0, ErrInvalid
	}
	exp := int64(binary.BigEndian.Uint64(pt))
	if s.now().Unix() >= exp {
		return nil, 0, ErrInvalid
	}
	out := make([]byte, len(pt)-expiryLen) // non-nil even when empty, as before
	copy(out, pt[expiryLen:])
	return out, exp, nil
}

// Nonce returns the nonce of a sealed value in base64url (32 characters). It
// only parses the header and does not authenticate it: call it on a value
// that Open has accepted. The nonce is random, unique per sealed value and
// unreadable to other origins when the value lives in an HttpOnly cookie, so
// it can serve as that value's CSRF token; compare it with
// crypto/subtle.ConstantTimeCompare.
func Nonce(value string) (string, error) {
	// 29 header bytes need the first 39 characters; 40 decode to 30 bytes.
	const prefix = 40
	if len(value) < enc.EncodedLen(overhead) {
		return "", ErrInvalid
	}
	var hdr [30]byte
	if strings.ContainsAny(value[:prefix], "\r\n") {
		return "", ErrInvalid
	}
	if _, err := enc.Decode(hdr[:], []byte(value[:prefix])); err != nil || hdr[0] != Version1 {
		return "", ErrInvalid
	}
	return enc.EncodeToString(hdr[1+keyIDLen : headerLen]), nil
}
