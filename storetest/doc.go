// Package storetest is the conformance suite that every storage.Store runs.
//
// A store's own test calls Run with a constructor that returns an empty,
// isolated store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storage.Store {
//			s := memstore.New(nil)
//			t.Cleanup(s.Close)
//			return s
//		})
//	}
//
// # What it checks
//
// Every clause of the storage.Store doc comment: Create and Get round trips
// with every field byte-exact and every time Equal; ErrExists for a taken hash
// (live or tombstone) or a taken live ID; compare-and-swap versions for Update
// and Rotate; the tombstones left by Delete, DeleteByID, DeleteSubject and
// Rotate, and that no write goes through them; the ID and subject indexes,
// including after a Rotate that changes the subject; expiry (records past
// their deadline are gone after DeleteExpired, which honours its limit, and
// nothing is dropped early); concurrent writers, racing Rotates, Updates and
// Creates; cancelled contexts; 1 MiB values; and hostile strings (quotes, NUL
// bytes, newlines, SQL, Lua and Redis pattern characters, hash-tag braces,
// Unicode) as subjects, IDs, client metadata and data.
//
// For a storage.Merger (call RunMerger, which takes one, so that the Merge
// subtests can never be skipped; Run runs them only when the store happens
// to implement it): that Merge stores and returns exactly what
// storage.Merge.Apply makes of the record, with the next version; that it
// declines, changing nothing, an absent record, a tombstone, another kind
// and a passed deadline; that a caller who read before a merge conflicts
// and Update and Rotate after one work; that GetByID, List, expiry and the
// tombstones follow a merged record; that concurrent merges lose nothing;
// and hostile keys and values, 1 MiB values and cancelled contexts.
// MergesRaceUpdates is exported for two stores on one database.
//
// For a store that implements storage.Revocations, the revocation state of
// sealed sessions: deny entries (denied at once, the later until kept, gone
// after DeleteExpired once their until has passed, never before), generations
// (the first of a new store is 1, each call one more, Except the latest
// call's, the later until kept, an N above every earlier one once the entry
// was dropped), Revocation with every combination of ID and subject,
// present or not, empty or not, hostile strings and near misses (a trailing
// NUL, a prefix, a case change), errors for an empty ID or subject and a
// zero until, concurrent RevokeSubjects (distinct, consecutive Ns) and
// DenyIDs, cancelled contexts, and that revocation entries and sessions
// never see each other: a deny entry for a live session's ID leaves the
// session alone, List, DeleteSubject, GetByID and DeleteByID find none of
// them, a session may take a denied ID, and ending sessions leaves the
// revocation state as it was. For a storage.RevocationWatcher: a watcher
// reports RevocationsUp and then the store's own changes in order, stops
// when its context ends while another goes on, and several watchers each
// see every change of concurrent writers once, their fn never called on
// two goroutines at once.
//
// For a store that implements storage.Users, the subtests of the group
// Users: CreateUser stores Version 1 and sets it in place; a taken name is
// ErrExists and leaves the user as it was, while a name that differs in one
// byte (case, a NUL, a trailing space, another Unicode form) is another
// user; GetUser of an unknown name and UpdateUser of an unknown user are
// ErrNotFound; the store keeps no reference to a user it is given or
// returns; UpdateUser with the stored version keeps every field byte-exact
// (times Equal at microsecond precision, the zero time included) and bumps
// the version by one in place, and with any other version (stale, ahead,
// zero, negative, the extremes of int64) is ErrConflict and changes
// nothing, u.Version included; ListUsers orders by name byte for byte and
// is empty, not an error, for a store without users; hostile names (the
// strings above, 128-byte names, names shaped like stores' keys and
// tables such as "sess:x", "{x}" and "keycard:r:{...}") round trip; users
// and sessions never see each other (List, GetByID, DeleteByID,
// DeleteSubject and DeleteExpired leave users alone and find none, and
// ListUsers lists no session); of 8 concurrent UpdateUsers from one
// version exactly one wins, and of 8 concurrent CreateUsers of one name;
// and cancelled contexts.
//
// # Readings of the contract
//
// Where the contract is terse, the suite checks this reading of it:
//
//   - Rotate stores old.Version+1 in the tombstone and increments old.Version
//     in place (the Versions paragraph); whether next.Version is set in place
//     is not checked, only that Version 1 is stored.
//   - A tombstone left by Delete, DeleteByID or DeleteSubject keeps at least
//     the live record's version; whether it is incremented is not checked.
//   - Only a live record's ID is taken: Create succeeds with the ID of a
//     destroyed session. (A SQL store needs a unique index on ID limited to
//     live rows, which Rotate's shared ID requires anyway.)
//   - DeleteSubject with the empty subject destroys nothing, like List.
//   - After DeleteExpired(now, limit) has been called until it returns 0, no
//     record or tombstone whose deadline is hours before now is left: a store
//     either drops them itself (and may return 0) or in DeleteExpired.
//   - A cancelled context makes every method return a non-nil error; which
//     error is not checked, as stores wrap their drivers' errors.
//   - Data and Meta compare with bytes.Equal: nil and empty are the same.
//   - DeleteSubject and DeleteByID are atomic with respect to a concurrent
//     Rotate of the session they end, also a chain of two Rotates, with or
//     without a grace deadline (DeleteSubjectRacesRotate,
//     DeleteByIDRacesRotate): afterwards nothing of the session is live, and
//     the revocation ended it unless a Rotate failed. The Manager's Logout
//     ends a session by its ID, so a logout racing a renewal in another tab
//     must end the successor too. Both are exported with two stores, for a
//     store that several processes share.
//   - DeleteExpired's limit covers the revocation entries it drops too.
//   - A watcher is checked with the store's own changes only; that a change
//     reaches a watcher of another Store on the same backend is
//     RevocationsPropagate's, which a store's test calls with two Stores.
//
// Not checked, because the contract does not say: Rotate onto a taken
// next.Hash or with next.ID different from old.ID.
//
// # Time
//
// The suite never sleeps. Deadlines are set hours away from the wall clock,
// in the past or in the future, so that a store with its own clock (Redis
// TTLs, a database's now()) agrees with the suite about what has expired.
// Times are UTC and truncated to the microsecond, as the Manager hands them
// to a store.
//
// # Helpers
//
// NewRecord, NewID, NewHash, Now and Diff are exported for stores' own tests,
// and so are checks that need more than one store or a store made a
// particular way: TwoNodes, Outage, DeleteSubjectRacesRotate,
// DeleteByIDRacesRotate and MergesRaceUpdates with two stores on one
// server, and BackgroundSweep, which checks on testing/synctest's fake
// clock that a store sweeps expired records by itself one interval after
// it is made, and not before. RevocationsPropagate checks that revocations
// made through one Store reach a watcher of another and logs how long they
// took; BenchRevocationPropagation reports that delay as benchmark metrics.
// Outage also checks a Revocations store's calls during the outage, and a
// RevocationWatcher's RevocationsDown and RevocationsUp around it.
package storetest
