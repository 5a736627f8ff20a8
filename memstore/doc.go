// Package memstore is an in-memory storage.Store: sharded, indexed by token
// hash, public ID and subject, with tombstones and an expiry sweep that never
// holds a lock over all sessions.
//
// It suits tests, development and a single process. Sessions live only as
// long as the process: a restart logs everybody out, and two processes never
// share a session. Use a database-backed store when either matters.
//
//	store := memstore.New(nil) // defaults: 64 shards, a sweep every minute
//	defer store.Close()
//	mgr, err := keycard.New(store, nil)
//
// # Sharding
//
// Records and tombstones are spread over shards (64 by default, see
// Options.Shards) by their token hash, which is SHA-256 of a random token and
// so already uniform. Each shard has its own mutex; Get, Create, Update and
// Delete lock one shard, and Rotate the two shards of the old and new hash.
// Public IDs are indexed in a second set of shards chosen by a seeded hash of
// the ID, locked only briefly and always after a record shard, so lock order
// never cycles.
//
// Each shard keeps a chain of its live records per subject, so List and
// DeleteSubject cost O(shards + that subject's sessions) and never scan every
// session. They lock one of 256 subject stripes, as Rotate does for the
// subjects it touches, so that a session renewed into a shard that
// DeleteSubject has already visited cannot escape a "sign out everywhere".
//
// # Expiry
//
// Each shard files its entries into one-minute buckets by deadline
// (Record.KeepUntil): a lazy timing wheel. When a deadline moves later, as the
// idle deadline does with activity, nothing happens until the sweep reaches
// the old bucket and files the entry again; only a deadline that moves
// earlier costs a second filing. The sweep takes buckets whose minute has
// ended, in order, at most 256 entries per lock hold, visits the shards round
// robin and yields after each batch: a request waits for at most one batch of
// one shard, never for the whole store. A record is therefore dropped between
// its deadline and the end of the following sweep interval plus one minute;
// the Manager checks every deadline itself, so a late drop is untidy, never
// wrong.
//
// The sweep runs every Options.SweepInterval (default one minute; the first
// one interval after New) on a goroutine that Close stops; a negative
// SweepInterval turns it off, and DeleteExpired still works. SweepInterval
// means the same in sqlitestore and pgstore; redisstore has none, as Redis
// expires its keys. It sleeps briefly after each batch, so that it
// works in short bursts: a thread that runs for long on a busy machine is
// eventually preempted by the kernel, and if it held a shard lock at that
// moment, requests on that shard would wait for it to be scheduled again.
// DeleteExpired runs the same sweep on demand, with a caller's clock and
// limit, yielding after each batch instead of sleeping.
//
// # Revocation state of sealed sessions
//
// The Store implements storage.RevocationWatcher. Deny entries and
// generations live in maps of their own under one mutex, apart from the
// shards, so nothing that reads, lists or ends sessions reaches them; they
// are written on logout and read on a node cache's misses, not on every
// request. The sweep (and DeleteExpired, within its limit) drops them once
// their until has passed, taking them from a heap ordered by until, at
// most 256 per lock hold. A subject whose generation was dropped starts
// again from a counter of every RevokeSubject, above every N before.
// Watchers are told inside DenyID and RevokeSubject, before they return,
// so a change is never seen late in the process; the channel never goes
// down.
//
// # Memory
//
// An entry is a 152-byte struct in a slab of 256-entry chunks (5 pages each),
// addressed by a 32-bit index: times are microseconds since the epoch, and
// the public ID is kept as its 16 decoded bytes when it is canonical
// base64url. Subject, data and meta, and the fields most sessions leave
// empty (IP address, user agent, fingerprint, a non-canonical ID, a
// tombstone's successor), are one blob in a per-shard arena of 64 KiB pages
// with size classes and free lists. Neither the entries nor the pages hold a
// pointer, so the garbage collector does not look inside them: its work does
// not grow with the number of sessions. With a string per entry, a
// collection at a million sessions spent 25 to 125 ms marking them and
// requests stalled on that work; now it marks the whole store in about 1 ms.
// The three indexes are open-addressing tables of 4-byte slots that compare
// keys through the entries, and grow incrementally (64 slots moved per
// insert) so that no insert rehashes a whole table under a lock. With a
// million sessions shaped like a typical login (subject, ID, a small JSON
// object, no client metadata) the store holds about 217 heap bytes per
// session, and a sweep that expires half of them holds a shard lock for at
// most about 0.3 ms of CPU per batch (BenchmarkMillionSessions reports both,
// how long concurrent Gets wait, and how long a loop that touches no store
// waits on the same machine).
//
// Freed slots are reused, but neither the slabs, the arena pages nor the
// indexes shrink: after a peak, the memory stays with the store for the next
// one. A blob larger than 16 KiB gets a slice of its own, freed with it.
package memstore
