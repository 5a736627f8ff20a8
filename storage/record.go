package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Hash is the SHA-256 of a session token: the only form in which a token is
// kept at rest. A Hash does not let anyone act as the session, but it is still
// not meant for logs; log the session ID instead.
type Hash [32]byte

// HashToken returns the SHA-256 of the text of a session token, the key a
// Store keeps its record under.
func HashToken(token string) Hash {
	if len(token) == tokenLen {
		var b [tokenLen]byte // a stack copy: hashing a token does not allocate
		copy(b[:], token)
		return sha256.Sum256(b[:])
	}
	return sha256.Sum256([]byte(token))
}

// tokenLen is the length of a Keycard session token's text.
const tokenLen = 43

// String returns the hash in lowercase hex, for store keys.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero hash.
func (h Hash) IsZero() bool { return h == Hash{} }

// Kind says through which transport a session's token is accepted. A token of
// one kind is never accepted through the other transport.
type Kind uint8

const (
	// KindBrowser sessions travel in a cookie.
	KindBrowser Kind = 1
	// KindAPI sessions travel in an "Authorization: Bearer" header.
	KindAPI Kind = 2
	// KindRevocation marks the records in which the Manager keeps the
	// revocation state of sealed sessions in a Store that does not implement
	// Revocations. They are not sessions: they carry no subject, their IDs
	// are never shaped like session IDs, and the Manager never lists,
	// counts, looks up or revokes them as sessions. A Store keeps them like
	// any record.
	KindRevocation Kind = 3
)

// String returns "browser", "api" or "invalid".
func (k Kind) String() string {
	switch k {
	case KindBrowser:
		return "browser"
	case KindAPI:
		return "api"
	case KindRevocation:
		return "revocation"
	}
	return "invalid"
}

// MarshalText encodes a session kind as "browser" or "api", so that JSON
// carries the name; any other kind is an error.
func (k Kind) MarshalText() ([]byte, error) {
	if k != KindBrowser && k != KindAPI {
		return nil, fmt.Errorf("storage: cannot marshal session kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes "browser" or "api"; anything else is an error.
func (k *Kind) UnmarshalText(b []byte) error {
	v, ok := ParseKind(string(b))
	if !ok {
		return fmt.Errorf("storage: unknown session kind %q (want browser or api)", b)
	}
	*k = v
	return nil
}

// ParseKind is the inverse of Kind.String for the session kinds ("browser",
// "api"); it returns 0 and false for anything else.
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "browser":
		return KindBrowser, true
	case "api":
		return KindAPI, true
	}
	return 0, false
}

// State tells a live record from a tombstone.
type State uint8

const (
	// StateLive is a usable session.
	StateLive State = 0
	// StateDestroyed is the tombstone of a session that was logged out or revoked.
	StateDestroyed State = 1
	// StateRotated is the tombstone of a token that was replaced by Successor.
	StateRotated State = 2
)

// Record is what a Store keeps for one session (or one tombstone). Stores treat
// it as data: the Manager owns its meaning. A Store must not retain or modify a
// *Record it was given after the call returns, and must return a fresh copy.
type Record struct {
	Hash    Hash   // SHA-256 of the token; the primary key
	ID      string // public handle: lists, logs, admin calls, the JWT sid claim
	Subject string // the authenticated user; empty while anonymous
	Kind    Kind
	State   State

	CreatedAt       time.Time // when the session began
	AuthenticatedAt time.Time // last login or re-authentication; zero while anonymous
	RenewedAt       time.Time // when the current token was issued
	LastSeenAt      time.Time // last recorded activity (written lazily)
	IdleExpiresAt   time.Time // idle deadline (moves with activity)
	ExpiresAt       time.Time // absolute deadline (never moves later)

	IdleTimeout time.Duration // per-session idle timeout; 0 means the Manager's
	Persistent  bool          // "remember me": the cookie carries Max-Age

	IP          string // client address at creation or login
	UserAgent   string // client user agent at creation or login
	Fingerprint string // keyed hash of the client fingerprint, set by guard

	Data []byte // the application's values: a JSON object, or empty
	Meta []byte // Keycard's own extension state (JSON object), or empty

	Version uint64

	Successor  Hash      // StateRotated: the hash of the token that replaced this one
	GraceUntil time.Time // StateRotated: until when this token still resolves to Successor
}

// KeepUntil is the time after which a store may drop the record: the earlier
// of the idle and absolute deadlines for a live record, ExpiresAt for a tombstone.
func (r *Record) KeepUntil() time.Time {
	if r.State == StateLive && !r.IdleExpiresAt.IsZero() && r.IdleExpiresAt.Before(r.ExpiresAt) {
		return r.IdleExpiresAt
	}
	return r.ExpiresAt
}

// LiveAt reports whether r is a usable session at now: live, not a
// tombstone, and before both its idle and its absolute deadline. It is the
// one definition every check of a record uses.
func (r *Record) LiveAt(now time.Time) bool {
	return r.State == StateLive && now.Before(r.ExpiresAt) && now.Before(r.IdleExpiresAt)
}

// IdleDeadline returns r's idle deadline for activity at now: now plus its
// own idle timeout (defaultIdle when it has none), never beyond its
// absolute deadline.
func (r *Record) IdleDeadline(now time.Time, defaultIdle time.Duration) time.Time {
	idle := defaultIdle
	if r.IdleTimeout > 0 {
		idle = r.IdleTimeout
	}
	if d := now.Add(idle); d.Before(r.ExpiresAt) {
		return d
	}
	return r.ExpiresAt
}

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	c := *r
	if r.Data != nil {
		c.Data = append([]byte(nil), r.Data...)
	}
	if r.Meta != nil {
		c.Meta = append([]byte(nil), r.Meta...)
	}
	return &c
}

// Tombstone returns the tombstone that stands under r.Hash once r is destroyed
// (state StateDestroyed) or rotated (StateRotated, with successor and grace).
// Stores use it so that every backend keeps the same fields.
func (r *Record) Tombstone(state State, successor Hash, graceUntil time.Time) *Record {
	return &Record{
		Hash:       r.Hash,
		ID:         r.ID,
		Subject:    r.Subject,
		Kind:       r.Kind,
		State:      state,
		ExpiresAt:  r.ExpiresAt,
		Version:    r.Version,
		Successor:  successor,
		GraceUntil: graceUntil,
	}
}
