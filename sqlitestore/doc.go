// Package sqlitestore is a storage.Store in one SQLite database file, on
// modernc.org/sqlite (pure Go: no cgo, no C compiler). It is the default
// store of keycard serve (sqlite:keycard.db).
//
//	store, err := sqlitestore.Open("/var/lib/keycard/keycard.db", nil)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.Close()
//	m, err := keycard.New(store, nil)
//
// # The file
//
// Open creates the file with mode 0600 before SQLite opens it (the -wal and
// -shm files SQLite adds take the same mode); an existing file keeps its
// mode. The path is a plain file path: "file:" URIs, ":memory:" and paths
// with '?' or '#' are refused. The database runs in WAL mode with
// synchronous=FULL (an acknowledged write survives a power loss;
// [Options.SynchronousNormal] trades that for speed while still surviving a
// crash of the process) and a busy timeout ([Options.BusyTimeout], default
// 5s) for other processes that write the same file.
//
// # Concurrency
//
// All writes of a Store go through one connection, so writers queue in Go
// and SQLITE_BUSY never reaches a caller; every write is one statement or,
// for Rotate and Merge, one BEGIN IMMEDIATE transaction, so each is atomic.
// Merge (storage.Merger) reads the row, applies the merge in Go with
// storage.Merge.Apply and writes it back with Update's statement, all in
// its transaction: a request that writes values without reading its
// session makes one call into the store, which no other writer of the file
// can come between. Update's and Merge's statements are prepared once on
// the write connection, and Merge runs its statements through the driver
// as the reads do. Reads use
// read-only connections that Open opens and the Store holds until Close
// ([Options.ReadConns], default 4), each with its statements prepared once
// and run through the driver, without database/sql's per-query work (about
// 1 µs per Get); they never wait for the writer (WAL). Get is one
// primary-key SELECT.
// Because writes are serialised (by the connection inside a process, by
// SQLite's write lock between processes), a DeleteSubject and a Rotate of
// one of the subject's sessions never interleave: the Rotate either finds a
// tombstone or its successor is destroyed. Rotate compares the stored
// version and subject.
//
// # Schema
//
// Sessions are one table, sessions (with [Options.TablePrefix] before the
// name, see below), keyed by the token hash; the revocation state of sealed
// sessions has tables of its own (see below). What indexes, the
// tombstoning statements and people read is a column of its own: hash, id,
// subject, kind, state (0 live, 1 destroyed, 2 rotated), expires_at,
// version, successor, grace_until, deadline (KeepUntil) and data, the
// application's values as the JSON object they are, so that
//
//	sqlite3 keycard.db 'select id, subject, state, data from sessions'
//
// shows what is stored. The fields that only a live record carries and
// nothing searches (CreatedAt, AuthenticatedAt, RenewedAt, LastSeenAt,
// IdleExpiresAt, IdleTimeout, Persistent, IP, UserAgent, Fingerprint and
// Meta) are one BLOB, live, in a small versioned binary encoding (a format
// byte, big-endian fixed-width integers, length-prefixed strings, a
// presence byte for Meta). A read then fetches 11 columns instead of 21:
// every column costs the driver calls into SQLite and allocations, and the
// change took a Get from about 10 µs to 7.5 µs. A tombstone has live and
// data NULL, so Delete, DeleteByID and DeleteSubject are each one UPDATE.
// Strings are BLOBs, so subjects and IDs with NUL bytes or invalid UTF-8
// come back byte-exact; times are Unix microseconds in UTC, NULL (in live,
// the smallest int64) for the zero time. A row that does not decode (edited
// by hand, say) is an error for the read that meets it, never a partial
// record.
//
// Indexes: the primary key on the token hash, a unique index on the IDs of
// live records, an index on the subjects of live records and one on the
// deadline.
//
// # Expiry
//
// DeleteExpired drops at most limit rows per call, oldest deadline first,
// in one short write transaction. Open starts a background sweep that Close
// stops: every [Options.SweepInterval] (default one minute) it calls
// DeleteExpired with the current time and [Options.SweepBatch] (default
// 256) until a batch is not full, so that a writer waits for one batch at
// most. The first sweep runs one interval after Open. An error goes to
// [Options.Logger] and the next interval tries again. A negative
// SweepInterval turns the sweep off: then call DeleteExpired yourself, or
// expired rows stay in the file (the Manager never accepts them, so that is
// untidy, not wrong). Processes that share the file each sweep; their
// batches take the file's write lock in turn. SweepInterval means the same
// in memstore and pgstore; redisstore has none, as Redis expires its keys.
//
// # Sharing a database with an application
//
// By default the Store's tables are sessions and schema_version, with
// indexes sessions_live_id, sessions_subject and sessions_deadline: the
// names every earlier Keycard used, so existing files open unchanged; and
// the revocation tables sessions_denied, sessions_generations and
// sessions_revocation_log, with indexes sessions_denied_until and
// sessions_generations_until.
// [Options.TablePrefix] puts a prefix before every one of them (with
// "keycard_": keycard_sessions, keycard_schema_version, ..., the names
// pgstore uses), so that Keycard's tables can live in a database an
// application has tables of its own in, and Stores with different prefixes
// share one file without seeing each other.
//
// Before Open writes anything to an existing file, it reads the file's
// schema on a connection of its own that sets no journal mode, and refuses
// a table, view or index that has one of the Store's names but is not
// Keycard's: another library's sessions table, a schema_version table of
// another migration tool, an index called sessions_subject on some other
// table. Keycard's tables are told by their columns, and a schema_version
// table counts as Keycard's only with Keycard's two columns and, when it
// records versions, a sessions table beside it. The error names the table
// and says to set TablePrefix; the file is left byte for byte as it was
// (it is not even switched to WAL mode). A schema_version table that an
// earlier Keycard left behind when it met a foreign sessions table stays
// where it is: it is empty and harmless, and a Store with a prefix does not
// use it.
//
// # Revocation state of sealed sessions
//
// The Store implements storage.RevocationWatcher. Migration 3 adds three
// tables, with [Options.TablePrefix] before their names like every other:
// sessions_denied (id, until) and sessions_generations (subject, n,
// except_id, until), each with an index on until, and
// sessions_revocation_log (seq, at, kind, key, origin). Nothing that reads,
// lists or ends sessions touches them. DenyID and RevokeSubject each write
// their entry, keeping the later until, and a log row in one BEGIN
// IMMEDIATE transaction. A subject without a generation row starts from
// its log row's seq, which only grows (the sweep always keeps the newest
// row), so a generation never starts again lower. Revocation is one SELECT
// on a read connection. DeleteExpired, and so the sweep, drops the entries
// whose until has passed and the log rows older than a minute.
//
// The Store's own watchers are told in process, before DenyID or
// RevokeSubject returns. Other Stores on the file, in other processes or
// in this one, learn of a change from the log: each watcher reads it on a
// connection of its own every 25 ms and reports the rows other Stores
// wrote, so a change made elsewhere reaches it at most 25 ms, plus the
// read, after it commits. A failed read reports RevocationsDown and the
// next successful one RevocationsUp; rows it had not read that are gone
// from the log (its process was stopped for over a minute), or more than
// 10,000 changes since its last read, are reported as RevocationsDown and
// RevocationsUp. Close ends the watchers.
//
// # Migrations
//
// Open applies the embedded migrations the schema_version table does not
// list, each in its own BEGIN IMMEDIATE transaction that creates that table
// when it is missing and checks it again, so that a migration that fails
// leaves nothing behind and, when several processes open one file at once,
// each migration runs once. A file migrated by a newer Keycard is refused rather
// than misread. Migration 2 (the live column) rewrites a version 1 file in
// place, in one transaction: every session and tombstone is copied, the
// shared columns byte for byte; if any row cannot be converted nothing
// changes and Open fails.
//
// # Choosing a store
//
// Use sqlitestore when one process serves the site: it needs no server, keeps
// sessions across restarts and costs one local SELECT per read (a Get takes
// about 6.5 µs and 46 allocations here, against 0.25 µs for memstore, which
// forgets everything on restart; an HTTP request that reads a session costs
// about 4.5 times what it costs on memstore).
// Several processes on one machine may share the file, but every write
// then takes the file's lock. Use redisstore or pgstore when several
// machines serve one site.
package sqlitestore
