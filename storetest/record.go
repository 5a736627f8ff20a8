package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// Now returns the current time the way the Manager hands times to a store:
// in UTC and truncated to the microsecond.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// NewID returns a random public session ID shaped like the ones the Manager
// issues: 16 random bytes in base64url without padding.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewToken returns a fresh random token shaped like the ones Keycard issues
// (32 random bytes in base64url without padding) and its hash, for tests
// that present a token nobody issued.
func NewToken() (token string, h storage.Hash) {
	var b [32]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, storage.HashToken(token)
}

// NewHash returns the hash of a fresh random token.
func NewHash() storage.Hash {
	_, h := NewToken()
	return h
}

// NewRecord returns a valid live record with a fresh random token hash and ID,
// Kind KindBrowser, the given subject (empty: anonymous), times taken from Now
// (an idle deadline 30 minutes and an absolute deadline 12 hours ahead) and
// Data {"k":"v"}. Its other fields are zero. Each call returns a new record.
func NewRecord(subject string) *storage.Record {
	now := Now()
	r := &storage.Record{
		Hash:          NewHash(),
		ID:            NewID(),
		Subject:       subject,
		Kind:          storage.KindBrowser,
		State:         storage.StateLive,
		CreatedAt:     now,
		RenewedAt:     now,
		LastSeenAt:    now,
		IdleExpiresAt: now.Add(30 * time.Minute),
		ExpiresAt:     now.Add(12 * time.Hour),
		Data:          []byte(`{"k":"v"}`),
	}
	if subject != "" {
		r.AuthenticatedAt = now
	}
	return r
}

// fullRecord returns a live record in which every field a live record can
// carry is set to a distinct non-zero value.
func fullRecord(subject string) *storage.Record {
	now := Now()
	r := NewRecord(subject)
	r.Kind = storage.KindAPI
	r.CreatedAt = now.Add(-3*time.Hour + 1*time.Microsecond)
	r.AuthenticatedAt = now.Add(-2*time.Hour + 2*time.Microsecond)
	r.RenewedAt = now.Add(-1*time.Hour + 3*time.Microsecond)
	r.LastSeenAt = now.Add(-4 * time.Microsecond)
	r.IdleExpiresAt = now.Add(45*time.Minute + 5*time.Microsecond)
	r.ExpiresAt = now.Add(9*time.Hour + 6*time.Microsecond)
	r.IdleTimeout = 45*time.Minute + 7*time.Microsecond
	r.Persistent = true
	r.IP = "2001:db8::1"
	r.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) Keycard/1"
	r.Fingerprint = "fp-0123456789abcdef"
	r.Data = []byte(`{"cart":[1,2,3],"name":"Zoë"}`)
	r.Meta = []byte(`{"csrf":"abc","refresh":1}`)
	return r
}

// Diff returns a description of every field in which got differs from want,
// or "" when they are the same: times compare with Equal, byte slices with
// bytes.Equal (nil and empty are the same).
func Diff(got, want *storage.Record) string {
	var b strings.Builder
	f := func(name string, g, w any) { fmt.Fprintf(&b, "\n\t%s: got %q, want %q", name, g, w) }
	tm := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			fmt.Fprintf(&b, "\n\t%s: got %v, want %v", name, g, w)
		}
	}
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("got %v, want %v", got, want)
		}
		return ""
	}
	if got.Hash != want.Hash {
		f("Hash", got.Hash.String(), want.Hash.String())
	}
	if got.ID != want.ID {
		f("ID", got.ID, want.ID)
	}
	if got.Subject != want.Subject {
		f("Subject", got.Subject, want.Subject)
	}
	if got.Kind != want.Kind {
		fmt.Fprintf(&b, "\n\tKind: got %v, want %v", got.Kind, want.Kind)
	}
	if got.State != want.State {
		fmt.Fprintf(&b, "\n\tState: got %v, want %v", got.State, want.State)
	}
	tm("CreatedAt", got.CreatedAt, want.CreatedAt)
	tm("AuthenticatedAt", got.AuthenticatedAt, want.AuthenticatedAt)
	tm("RenewedAt", got.RenewedAt, want.RenewedAt)
	tm("LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	tm("IdleExpiresAt", got.IdleExpiresAt, want.IdleExpiresAt)
	tm("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	if got.IdleTimeout != want.IdleTimeout {
		fmt.Fprintf(&b, "\n\tIdleTimeout: got %v, want %v", got.IdleTimeout, want.IdleTimeout)
	}
	if got.Persistent != want.Persistent {
		fmt.Fprintf(&b, "\n\tPersistent: got %v, want %v", got.Persistent, want.Persistent)
	}
	if got.IP != want.IP {
		f("IP", got.IP, want.IP)
	}
	if got.UserAgent != want.UserAgent {
		f("UserAgent", got.UserAgent, want.UserAgent)
	}
	if got.Fingerprint != want.Fingerprint {
		f("Fingerprint", got.Fingerprint, want.Fingerprint)
	}
	if !bytes.Equal(got.Data, want.Data) {
		f("Data", abbrev(got.Data), abbrev(want.Data))
	}
	if !bytes.Equal(got.Meta, want.Meta) {
		f("Meta", abbrev(got.Meta), abbrev(want.Meta))
	}
	if got.Version != want.Version {
		fmt.Fprintf(&b, "\n\tVersion: got %d, want %d", got.Version, want.Version)
	}
	if got.Successor != want.Successor {
		f("Successor", got.Successor.String(), want.Successor.String())
	}
	tm("GraceUntil", got.GraceUntil, want.GraceUntil)
	return b.String()
}

// tombstoneDiff is Diff restricted to the fields the contract requires a
// tombstone to carry.
func tombstoneDiff(got, want *storage.Record) string {
	g := got.Tombstone(got.State, got.Successor, got.GraceUntil)
	w := want.Tombstone(want.State, want.Successor, want.GraceUntil)
	return Diff(g, w)
}

func abbrev(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%s... (%d bytes)", b[:64], len(b))
	}
	return string(b)
}
