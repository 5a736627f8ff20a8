package storage

import (
	"context"
	"errors"
	"time"
)

// Revocations is the optional Store interface that keeps the revocation
// state of sealed-cookie sessions apart from sessions. A sealed session
// lives in its client, so ending it takes a small server-side entry that
// every node consults: a deny entry per ended session ID, and a generation
// per subject for "sign out everywhere". These entries are of their own
// kind: they are never listed, counted, looked up or revoked as sessions,
// and nothing a caller passes as a session ID or subject can reach them
// except through these methods. Every method honours ctx cancellation and
// returns the Store sentinels or a store error.
//
// A Store without Revocations still supports sealed sessions: the Manager
// then keeps the entries as records of KindRevocation, and reads them from
// the store on every sealed request.
type Revocations interface {
	// DenyID records that the sealed session with public ID id has ended.
	// Revocation reports it denied until at least until, after which the
	// store may drop the entry. Denying an ID again keeps the later until.
	// An empty id or a zero until is an error.
	DenyID(ctx context.Context, id string, until time.Time) error

	// RevokeSubject starts a new generation for subject, ending every sealed
	// session of subject sealed under an earlier generation except the one
	// whose ID is exceptID (empty: none is spared), and returns it: N is one
	// more than the previous generation's (so a store's first is 1), Except
	// is exceptID. The generation is kept until at least until; a later call
	// keeps the later until and never lowers N. An empty subject or a zero
	// until is an error. Concurrent calls for one subject return distinct,
	// consecutive Ns.
	//
	// N never starts again from a lower value: once the entry of subject
	// has been dropped, the next RevokeSubject returns an N greater than
	// every N the store returned for subject before (a store keeps a
	// store-wide counter for this, which is why N may then jump). Sessions
	// sealed after a RevokeSubject carry its N and may outlive its until;
	// if a later "sign out everywhere" started again from 1, they would
	// count as sealed under the current generation and survive it.
	RevokeSubject(ctx context.Context, subject, exceptID string, until time.Time) (Generation, error)

	// Revocation returns, in one round trip, whether the ID id is denied and
	// the current Generation of subject: the zero Generation when subject
	// was never revoked (or its entry has expired) or subject is empty. An
	// empty id is never denied. A store that cannot answer returns an
	// error, never "not denied".
	Revocation(ctx context.Context, id, subject string) (denied bool, gen Generation, err error)
}

// Generation is the revocation generation of a subject: sealed sessions
// carry the generation current when they were sealed, and a session sealed
// under an earlier one than N is ended unless its ID is Except.
type Generation struct {
	N      uint64 // incremented by every RevokeSubject of the subject
	Except string // the session ID the latest RevokeSubject spared, or ""
}

// RevocationWatcher is Revocations whose changes are announced to every
// process sharing the store (Redis pub/sub, PostgreSQL LISTEN/NOTIFY, or in
// the process for stores only one process uses), so that each node can
// cache revocation state and serve a sealed request without a store round
// trip, yet refuse a session revoked on another node within a short bound.
type RevocationWatcher interface {
	Revocations

	// WatchRevocations calls fn, from one goroutine at a time, until ctx is
	// done, and then returns. It reports RevocationsUp once it is subscribed
	// (every change made after that is reported), an IDDenied or
	// SubjectRevoked event for every DenyID or RevokeSubject made through
	// any Store sharing the backend, this one included, once the change is
	// stored, and RevocationsDown as soon as it may have missed a change (a
	// lost connection), followed by RevocationsUp when it is subscribed
	// again. A caller must treat anything it cached before a RevocationsDown
	// as stale. Several watchers may run at once.
	//
	// A RevocationsDown always follows a RevocationsUp, and nothing but a
	// RevocationsUp follows a RevocationsDown. A store may report a
	// RevocationsDown and a RevocationsUp in place of an event it cannot
	// carry (pgstore: an ID or subject too long for a NOTIFY payload). fn
	// should return quickly: a store that announces changes in process may
	// call it from inside DenyID or RevokeSubject, before they return, so
	// fn must not itself write revocations through the Store.
	WatchRevocations(ctx context.Context, fn func(RevocationEvent))
}

// RevocationEvent is what WatchRevocations reports.
type RevocationEvent struct {
	Type    RevocationEventType
	ID      string // IDDenied: the denied session ID
	Subject string // SubjectRevoked: the revoked subject
}

// RevocationEventType says what a RevocationEvent reports.
type RevocationEventType uint8

const (
	// RevocationsUp: the watcher is subscribed; every later change is reported.
	RevocationsUp RevocationEventType = iota + 1
	// RevocationsDown: the watcher may have missed changes until the next Up.
	RevocationsDown
	// IDDenied: DenyID stored a deny entry for ID.
	IDDenied
	// SubjectRevoked: RevokeSubject started a new generation for Subject.
	SubjectRevoked
)

// Errors of CheckDenyID and CheckRevokeSubject.
var (
	errEmptyID      = errors.New("storage: DenyID: empty session ID")
	errEmptySubject = errors.New("storage: RevokeSubject: empty subject")
	errZeroUntil    = errors.New("storage: revocation kept until the zero time")
)

// CheckDenyID returns the error DenyID returns for arguments the contract
// refuses (an empty id, a zero until), or nil. A store calls it first.
func CheckDenyID(id string, until time.Time) error {
	switch {
	case id == "":
		return errEmptyID
	case until.IsZero():
		return errZeroUntil
	}
	return nil
}

// CheckRevokeSubject returns the error RevokeSubject returns for arguments
// the contract refuses (an empty subject, a zero until), or nil. A store
// calls it first.
func CheckRevokeSubject(subject string, until time.Time) error {
	switch {
	case subject == "":
		return errEmptySubject
	case until.IsZero():
		return errZeroUntil
	}
	return nil
}
