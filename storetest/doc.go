// Package storetest is the conformance suite that every keycard.Store runs.
//
// A store's own test calls Run with a constructor that returns an empty,
// isolated store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) keycard.Store {
//			s := memstore.New(nil)
//			t.Cleanup(s.Close)
//			return s
//		})
//	}
//
// # What it checks
//
// Every clause of the keycard.Store doc comment: Create and Get round trips
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
// NewRecord, NewID, NewHash, Now and Diff are exported for stores' own tests.
package storetest
