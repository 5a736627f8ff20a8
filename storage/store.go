package storage

import (
	"context"
	"errors"
	"time"
)

// Errors a Store returns. Implementations translate their driver's errors into
// these at the store boundary; any other error is treated by the Manager as the
// store being unavailable (the middleware answers 503 and nobody is logged out).
var (
	// ErrNotFound means there is no live record (or, for Get, no record nor tombstone) under the key.
	ErrNotFound = errors.New("keycard: session not found")
	// ErrExists means Create found the token hash or the ID already taken.
	ErrExists = errors.New("keycard: session already exists")
	// ErrConflict means a compare-and-swap write found another version than the caller read.
	ErrConflict = errors.New("keycard: session changed concurrently")
)

// Store keeps session records. It is the contract every backend implements and
// that the storetest package checks; a Store must be safe for concurrent use.
//
// Keys. A record is keyed by its token hash (SHA-256 of the token; the raw token
// never reaches a store) and also findable by its public ID and, when Subject is
// not empty, through a per-subject index. Listing or deleting a subject's sessions
// must cost O(that subject's sessions), never a scan of every session.
//
// Versions. Create stores Version 1. Update and Rotate are compare-and-swap: they
// succeed only when the stored version equals the version the caller read
// (r.Version), store r.Version+1 and then increment r.Version in place.
//
// Tombstones. Delete, DeleteByID, DeleteSubject and Rotate never simply forget a
// live record: they leave a tombstone under the old token hash (State
// StateDestroyed or StateRotated) that Get returns, that Update and Rotate reject
// with ErrNotFound, and that Create refuses to overwrite (ErrExists). So a request
// that loaded a session before it was destroyed or renewed can never write it back.
// A tombstone carries Hash, ID, Subject, Kind, State, ExpiresAt, Version and, for
// StateRotated, Successor and GraceUntil; its other fields may be zero.
//
// Expiry. A store may drop a live record once KeepUntil has passed, and a
// tombstone once its ExpiresAt has passed, and must not drop either earlier.
// The Manager checks every deadline itself with its own clock, so a store that
// returns an expired record is correct, merely untidy. DeleteExpired lets a caller
// drive cleanup in bounded batches; stores that expire by themselves (Redis TTL)
// may return 0.
//
// Times are UTC with at most microsecond precision (the Manager truncates them);
// a store returns them Equal to what it was given. Data and Meta are returned
// byte-exact. Every method honours ctx cancellation.
//
// Details the storetest suite holds every store to:
//   - The caller never changes ID, Hash or Subject through Update; a store may
//     keep its stored values for them.
//   - Rotate fails with ErrExists when next.Hash is taken and ErrConflict when
//     old no longer matches the stored record (version or subject); next.ID is
//     old.ID, and next.Version is set to 1 in place.
//   - A tombstone keeps a version at least that of the live record it replaced.
//   - DeleteSubject with an empty subject destroys nothing.
//   - A record or tombstone whose deadline has passed is gone once
//     DeleteExpired has been called until it returns 0.
//   - An ID may be reused once its record is destroyed: uniqueness of IDs
//     covers live records only.
//
// DeleteSubject and DeleteByID must each be atomic with respect to a
// concurrent Rotate of the session they end, so that a renewal racing a
// logout, a revocation or a "sign out everywhere" cannot leave a live
// successor behind (storetest: DeleteSubjectRacesRotate,
// DeleteByIDRacesRotate).
type Store interface {
	// Get returns the record or tombstone stored under h, or ErrNotFound.
	Get(ctx context.Context, h Hash) (*Record, error)

	// GetByID returns the live record whose public ID is id, or ErrNotFound.
	GetByID(ctx context.Context, id string) (*Record, error)

	// Create stores r, a live record, with Version 1 (r.Version is set to 1).
	// It fails with ErrExists when r.Hash (live or tombstone) or r.ID (live) is taken.
	Create(ctx context.Context, r *Record) error

	// Update replaces the live record r.Hash when its stored version equals
	// r.Version. It fails with ErrNotFound when there is no live record under
	// r.Hash (absent or tombstone) and ErrConflict when the version differs.
	// ID, Hash and Subject of a record never change through Update.
	Update(ctx context.Context, r *Record) error

	// Rotate replaces the live record old (compare-and-swap on old.Version, with
	// the errors of Update) by next, a new live record under a new hash with the
	// same ID and Version 1, and leaves under old.Hash a StateRotated tombstone
	// with Successor next.Hash and GraceUntil graceUntil (zero: no grace). next
	// may change Subject (a login), and the subject index follows. Stores whose
	// two keys cannot change atomically (Redis Cluster) document what a crash in
	// between leaves behind; it must never leave two live records for one ID.
	Rotate(ctx context.Context, old, next *Record, graceUntil time.Time) error

	// Delete turns the live record h into a StateDestroyed tombstone, or fails
	// with ErrNotFound.
	Delete(ctx context.Context, h Hash) error

	// DeleteByID turns the live record with public ID id into a StateDestroyed
	// tombstone, or fails with ErrNotFound.
	DeleteByID(ctx context.Context, id string) error

	// List returns the live records of subject, in no particular order.
	// An empty subject lists nothing.
	List(ctx context.Context, subject string) ([]*Record, error)

	// DeleteSubject destroys every live record of subject except the one whose
	// ID is exceptID (empty: none is kept) and returns how many it destroyed.
	DeleteSubject(ctx context.Context, subject, exceptID string) (int, error)

	// DeleteExpired drops at most limit records and tombstones whose deadline
	// (see Expiry above) is before now and returns how many it dropped.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error)
}

// Merge is a write that needs no read first: one request's data changes and
// the activity it records. See Merger.
type Merge struct {
	Kind        Kind          // the transport the token came through
	Now         time.Time     // the request's time (microsecond precision)
	IdleTimeout time.Duration // the Manager's idle timeout, for records without their own
	Changes     []Change      // applied in order with MergeData
}

// Apply applies m to r in place and reports whether it applied: only to a
// live record of kind m.Kind whose idle and absolute deadlines are both
// after m.Now. It sets Data to MergeData(Data, m.Changes), LastSeenAt to
// m.Now and IdleExpiresAt to m.Now plus the record's idle timeout (its own,
// else m.IdleTimeout), never beyond ExpiresAt. It leaves Version alone.
// Apply is the definition of Merger.Merge for stores that hold records in Go.
func (m *Merge) Apply(r *Record) bool {
	if r.Kind != m.Kind || !r.LiveAt(m.Now) {
		return false
	}
	r.Data = MergeData(r.Data, m.Changes)
	r.LastSeenAt = m.Now
	r.IdleExpiresAt = r.IdleDeadline(m.Now, m.IdleTimeout)
	return true
}

// A Merger is a Store that can apply a Merge without the caller reading the
// record first, so that a request that only writes values costs one store
// call (one round trip) instead of a read and a compare-and-swap. The
// Manager uses it, when the store implements it, for browser requests that
// set or delete values without reading the session; any other request takes
// the usual path.
type Merger interface {
	Store

	// Merge atomically applies m to the record under h, as m.Apply defines,
	// increments its version and returns the record as stored. When m does
	// not apply (no record, a tombstone, another kind, a deadline passed) it
	// changes nothing and returns ErrNotFound; a store may also decline with
	// ErrNotFound whenever it cannot apply m exactly. The caller then reads
	// the record with Get and decides what the token means.
	Merge(ctx context.Context, h Hash, m *Merge) (*Record, error)
}
