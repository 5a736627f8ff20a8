// Package pgstore is a storage.Store in PostgreSQL, on pgx v5 and pgxpool.
//
//	store, err := pgstore.Open(ctx, "postgres://keycard@db.internal/app?sslmode=verify-full")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.Close()
//	m, err := keycard.New(store, nil)
//
// Several Keycard processes that share one database are one deployment: a
// session created on one is valid on all, and a revocation on one takes
// effect on all at once.
//
// # URL forms
//
// [Open] takes every form pgxpool.ParseConfig takes: a URL
// (postgres://user:password@host:5432/db?sslmode=verify-full&pool_max_conns=10)
// or a keyword/value string ("host=db user=keycard dbname=app"). PG*
// environment variables fill in what is missing. Open uses the default
// [Options]; use [New] with a pool you configured yourself to choose the
// schema or the sweep.
//
// # Schema and migrations
//
// The tables keycard_sessions and keycard_schema_version live in
// [Options.Schema] (default "public"), with the revocation tables described
// below. Migrations are embedded SQL files applied by New in one
// transaction that holds a transaction-scoped advisory lock, so that nodes
// starting together migrate once; New applies every migration the
// schema_version table does not list, in order, also one numbered below the
// newest applied (migrations of different tables may be released out of
// order); a database migrated by a newer Keycard is refused rather than
// misread. Strings are bytea, so a
// subject or ID with NUL bytes or invalid UTF-8 comes back byte-exact.
// Indexes: the primary key on the token hash, a unique index on the IDs of
// live records, an index on the subjects of live records and one on the
// deadline (KeepUntil) that DeleteExpired walks.
//
// Columns (schema version 3): what indexes, the tombstoning UPDATEs and
// people read is a column of its own: hash, id, subject, kind, state,
// expires_at, version, successor, grace_until, deadline, and data, the
// application's values as their JSON object. The fields only a live record
// carries (its other times, idle timeout, persistence, IP, user agent,
// fingerprint and Meta) are one bytea, live, in the small versioned binary
// encoding sqlitestore uses too; a tombstone has live and data NULL. A read
// then fetches and converts 11 columns instead of 21, which took a Get from
// 37 allocations to 22 and its cost from 1.03–1.10 times a raw one-column
// SELECT of the row to about 1.0. Two bytea[] columns, pending_keys and
// pending_values (migration 3), hold the value changes that Merge applied
// since data was last written whole (see Merge below); they are NULL
// otherwise, and a record's values are data with them applied in order.
// docs/stores.md describes every column for readers in other languages.
//
// Migration 2 converts a version 1 table in place and in SQL: it adds live,
// builds it for every live row byte for byte as Go would (a test checks
// that against the Go encoder), and drops the eleven columns it replaces.
// Grants, publications and triggers on the table stay. It runs in New's
// migration transaction, so it is all or nothing, and it holds the table's
// lock while it rewrites the live rows, during which other nodes' session
// reads wait: a million live sessions took 17 seconds on the 2-core test
// machine (with fsync off; a durable server adds the time to write the
// rewritten rows). Plan the upgrade of a large deployment for a quiet
// moment.
//
// # Expiry
//
// New (and so Open) starts a background sweep that Close stops: every
// [Options.SweepInterval] (default one minute) it calls DeleteExpired with
// this process's clock and [Options.SweepBatch] (default 256) until a
// DELETE is not full, so that no statement holds many row locks or runs
// long. The first sweep runs one interval after New. An error goes to
// [Options.Logger] and the next interval tries again; it never stops the
// Store. Every node of a deployment sweeps, and that is safe: the DELETE
// takes its rows FOR UPDATE SKIP LOCKED, so concurrent sweeps drop
// disjoint rows and never wait for each other, and N nodes cost N small
// indexed DELETEs per interval. The sweep compares deadlines with the
// node's clock, as the Manager checks them, so keep the nodes' clocks in
// sync. A negative SweepInterval turns the sweep off: then call
// DeleteExpired yourself, or expired rows stay (the Manager never accepts
// them, so that is untidy, not wrong). A Store on a pool passed to New
// sweeps too: close the Store before the pool. SweepInterval means the
// same in memstore and sqlitestore; redisstore has none, as Redis expires
// its keys.
//
// # Atomicity and round trips
//
// Every method is one SQL statement, or for DeleteByID and DeleteSubject two
// in one pipelined batch, so one round trip once pgx has prepared and cached
// them on the connection (the first use on each connection costs one more),
// and one implicit transaction:
//
//	Get            SELECT ... WHERE hash = $1 (primary key)
//	GetByID        SELECT ... WHERE id = $1 AND state = 0 (unique index)
//	Create         INSERT; a unique violation becomes storage.ErrExists
//	Update         UPDATE ... WHERE hash = $1 AND state = 0 AND version = $2, in
//	               a CTE that also reads the row's state to tell
//	               ErrNotFound from ErrConflict without a second query
//	Rotate         one statement: the CTE turns the old row into a tombstone by
//	               compare-and-swap and inserts the successor only if it did
//	Merge          UPDATE ... WHERE hash = $1 AND state = 0 AND kind = $2 and
//	               both deadlines after now, RETURNING the row
//	Delete         one UPDATE (a row becomes a tombstone)
//	DeleteByID, DeleteSubject
//	               one UPDATE and a SELECT EXISTS of what it should have
//	               destroyed, in one pipelined batch (see below)
//	List           SELECT ... WHERE subject = $1 AND state = 0
//	DeleteExpired  DELETE ... WHERE hash IN (SELECT ... ORDER BY deadline
//	               LIMIT $2 FOR UPDATE SKIP LOCKED): concurrent sweepers on
//	               several nodes skip each other's rows
//
// All of them are atomic under READ COMMITTED: a compare-and-swap that loses
// a race to a concurrent writer re-checks the row after the writer commits
// and finds the new version. Rotate compares the subject too.
//
// DeleteByID and DeleteSubject are atomic with respect to a concurrent
// Rotate of the session they end: a renewal racing a logout or a "sign out
// everywhere" either fails or has its successor destroyed. One UPDATE alone
// would not do it: when it waits for the Rotate's lock on the old row, it
// finds that row a tombstone afterwards, and the successor row is not in its
// snapshot. So the UPDATE is followed, in the same batch, by a SELECT
// EXISTS with a new snapshot (it takes no lock, so it never waits) for a
// live record that the UPDATE should have destroyed; while there is one,
// another batch follows. When there is none, none can come (a Rotate needs
// a live old row), also after a chain of Rotates. Without a race that is one
// round trip. After eight batches that each found a record renewed under
// them, the call fails with a store error rather than report a session
// ended that is not.
//
// # Merge
//
// Store implements storage.Merger, so that a request that writes values
// without reading its session costs one round trip. Merge is one UPDATE
// that checks, in its WHERE, what storage.Merge.Apply checks (a live row of
// the merge's kind whose absolute deadline, and idle deadline read from the
// live column, are after the merge's time); rewrites LastSeenAt and
// IdleExpiresAt in the live column, byte for byte as Go would encode them,
// with the record's own idle timeout or else the Manager's, capped at the
// absolute deadline; moves the deadline column; increments the version;
// and appends the changes to pending_keys and pending_values, first
// dropping the pending changes of the keys it changes. SQL never parses
// or rewrites data: Get, GetByID, List and Merge itself fold the pending
// changes into Data in Go with storage.MergeData, the Manager's own merge,
// so a merged record reads exactly as one the Manager wrote, and every
// write of the whole record (Create, Update, Rotate, the tombstones)
// clears them. So at most one pending change per key is kept however many
// merges come between two whole writes. Being one UPDATE, a merge is
// atomic under READ COMMITTED like Update: one that waits for a concurrent
// write applies to the row that write left, and an Update or Rotate of a
// record read before a merge fails its compare-and-swap. A merge whose
// idle timeout is 285 years or longer, or a row whose live column is of a
// format Merge does not know, is declined (storage.ErrNotFound), and the
// Manager then reads the record as usual.
//
// Data is bytea holding the JSON object byte for byte, not jsonb: jsonb
// would let SQL merge values, but it rewrites what it stores (members
// reordered, shorter keys first; duplicate keys dropped; spaces added;
// numbers and string escapes rewritten) and refuses \u0000 in strings, all
// of which storage.Record's byte-exact Data contract rules out, and it
// costs every read a conversion back to text (docs/stores.md has the
// measurements).
//
// # Revocation state of sealed sessions
//
// The Store implements storage.RevocationWatcher. Migration 4 adds the
// tables keycard_denied_ids (id, until) and keycard_generations (subject,
// n, except_id, until), each with an index on until, and the sequence
// keycard_generation_seq, from which a subject whose row was dropped starts
// its next generation, so that a generation never starts again lower. They
// are tables of their own: nothing that reads, lists or ends sessions
// touches them, and their keys are bytea like the session columns. DenyID
// and RevokeSubject are each one statement, INSERT ... ON CONFLICT DO
// UPDATE keeping the later until (RETURNING the new generation), with
// pg_notify in the same statement: PostgreSQL delivers the notification
// when the statement commits, and never for one rolled back. Revocation is
// one SELECT of both primary keys. DeleteExpired, and so the sweep, drops
// the rows whose until has passed, within its limit.
//
// Notifications go to a channel of the schema, keycard_revocations_ and 16
// hex digits of a hash of the schema's name, so that Stores on other
// schemas do not hear them; the payload is the kind and the ID or subject
// in base64. WatchRevocations takes a connection of the pool for itself
// (it no longer counts toward the pool's size), LISTENs and reports
// RevocationsUp. An error of that connection, or a keep-alive ping left
// unanswered after 3 s of silence, reports RevocationsDown; it listens
// again on a new connection, waiting 50 ms after the first failure and up
// to 1 s after repeated ones, and reports RevocationsUp. PostgreSQL keeps
// no notifications for a listener that is away, which is what the Down is
// for. A change whose ID or subject does not fit in a payload (about 6 kB)
// is announced as RevocationsDown and RevocationsUp. Close ends the
// watchers.
//
// # Errors
//
// A unique violation (SQLSTATE 23505) becomes storage.ErrExists; no row
// becomes storage.ErrNotFound, a version mismatch storage.ErrConflict. Every
// other error (the server is down, the pool is closed, the context ended) is
// returned wrapped, and the Manager treats it as the store being unavailable.
// So is a row whose live column or pending changes do not decode (an edit
// by hand): its session is answered 503, never read as some other state.
//
// # Choosing a store
//
// Use pgstore when PostgreSQL is already the database you run and back up:
// sessions then share its durability, replication and backups, and a read
// costs one primary-key SELECT (a Get measured at about 1.0 times a raw
// one-column SELECT of the same row, the whole HTTP request that reads a
// session at about 1.12 times). Use sqlitestore for a single process and
// redisstore when Redis is already there.
package pgstore
