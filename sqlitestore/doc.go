// Package sqlitestore is a keycard.Store in one SQLite database file, on
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
// for Rotate, one BEGIN IMMEDIATE transaction, so each is atomic. Reads use a
// pool of read-only connections ([Options.ReadConns], default 4) and never
// wait for the writer (WAL). Get is one primary-key SELECT. Because writes
// are serialised (by the connection inside a process, by SQLite's write lock
// between processes), a DeleteSubject and a Rotate of one of the subject's
// sessions never interleave: the Rotate either finds a tombstone or its
// successor is destroyed. Rotate compares the stored version and subject.
//
// # Schema and expiry
//
// Migrations are embedded SQL files applied by Open, each in its own write
// transaction, and recorded in the schema_version table; a file migrated by
// a newer Keycard is refused rather than misread. Indexes: the primary key on
// the token hash, a unique index on the IDs of live records, an index on the
// subjects of live records and one on the deadline (KeepUntil). Strings are
// BLOBs, so subjects and IDs with NUL bytes or invalid UTF-8 come back
// byte-exact. DeleteExpired drops at most limit rows per call, oldest
// deadline first, in one short transaction; [Options.SweepInterval] starts a
// background sweeper that calls it in batches of [Options.SweepBatch].
//
// # Choosing a store
//
// Use sqlitestore when one process serves the site: it needs no server, keeps
// sessions across restarts and costs one local SELECT per read (about 10 µs
// here, against 0.4 µs for memstore, which forgets everything on restart).
// Several processes on one machine may share the file, but every write
// then takes the file's lock. Use redisstore or pgstore when several
// machines serve one site.
package sqlitestore
