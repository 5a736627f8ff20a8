package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/internal/sweep"
	"github.com/keycard-go/keycard/storage"
)

// Options configures a Store. A nil *Options means all defaults.
type Options struct {
	// BusyTimeout is how long a write waits for another process that holds
	// the database's write lock (inside one process writers queue on a single
	// connection and never see SQLITE_BUSY). Default 5s.
	BusyTimeout time.Duration

	// ReadConns is the number of read connections, which Open opens and the
	// Store holds until Close; at most that many reads run at once and the
	// others wait for a free one. Default 4.
	ReadConns int

	// SweepInterval is how often a background goroutine that Open starts
	// and Close stops drops expired records and tombstones, SweepBatch rows
	// per write transaction so that writers never wait long. Default (0):
	// one minute. A negative value turns the background sweep off;
	// DeleteExpired still works.
	SweepInterval time.Duration

	// SweepBatch is the number of rows the background sweep drops per
	// transaction; it goes on while a batch is full. Default 256.
	SweepBatch int

	// Logger receives the errors of the background sweep (at Warn; the
	// sweep tries again at its next interval). Default slog.Default().
	Logger *slog.Logger

	// TablePrefix starts the names of the tables and indexes the Store
	// makes: TablePrefix+"sessions", TablePrefix+"schema_version" and
	// indexes named after the sessions table. Default "": the names every
	// Keycard before this option used, so that existing files open as they
	// are. Set it (for example to "keycard_", the names pgstore uses) to keep
	// Keycard's tables in a database an application has tables of its own
	// in; Open refuses a file that holds a table or index with one of the
	// Store's names that is not Keycard's, before it changes anything in
	// it. It may hold up to 64 ASCII letters, digits and underscores, and
	// may not start with a digit or with "sqlite_". Stores with different
	// prefixes share a file without seeing each other.
	TablePrefix string

	// SynchronousNormal sets PRAGMA synchronous=NORMAL instead of FULL: writes
	// are faster, and a crash of the process still loses nothing, but a power
	// loss or OS crash may lose the last acknowledged writes (which may be a
	// logout). Default false (FULL).
	SynchronousNormal bool
}

// Store is a storage.Store in one SQLite database file. It is safe for
// concurrent use. Writes go through a single connection, so writers of one
// process are serialised in Go and SQLITE_BUSY never reaches a caller; reads
// use a pool of read connections and never wait for a writer (WAL mode).
type Store struct {
	w, r     *sql.DB
	readers  chan *reader // the free readers, on connections of r (read.go); closed by Close
	nreaders int          // how many readers Open made

	sql        statements
	updateStmt *sql.Stmt    // Update's statement, prepared once on the write connection
	merge      mergeStmts   // Merge's, prepared on the driver's write connection (merge.go)
	rev        *revocations // the revocation state of sealed sessions (revocations.go)
	users      userSQL      // the statements of the local users of keycard serve (users.go)
	sweep      *sweep.Loop  // nil: no background sweep
	closeOnce  sync.Once
	closeErr   error
}

var _ storage.Merger = (*Store)(nil)

// Open opens (creating it with mode 0600 when it does not exist) the SQLite
// database at path, applies the embedded schema migrations, starts the
// background sweep and returns the Store. An existing file keeps its mode;
// one that holds a table or index with one of the Store's names that is not
// Keycard's is refused before anything in it changes (see
// Options.TablePrefix). Close the Store when done.
func Open(path string, opts *Options) (*Store, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: unsupported database path %q (a file path without '?' or '#')", path)
	}
	n, err := newNames(o.TablePrefix)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		if err := checkFile(path, n, o.BusyTimeout); err != nil {
			return nil, err
		}
	}
	// Create the file ourselves so that it is 0600 from the first byte; the
	// WAL and shared-memory files SQLite adds inherit the database's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	f.Close()

	syncMode := "FULL"
	if o.SynchronousNormal {
		syncMode = "NORMAL"
	}
	dsn := path + "?_busy_timeout=" + strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10) +
		"&_journal_mode=WAL&_synchronous=" + syncMode + "&_foreign_keys=1"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, sql: newStatements(n), users: newUserSQL(n)}
	if err := migrate(w, n); err != nil {
		w.Close()
		return nil, err
	}
	if s.updateStmt, err = w.Prepare(s.sql.update); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	r, err := sql.Open("sqlite", dsn+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	r.SetMaxOpenConns(o.ReadConns) // the readers hold them all
	s.r = r
	if s.rev, err = newRevocations(n, dsn); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	s.readers = make(chan *reader, o.ReadConns)
	for range o.ReadConns {
		rd, err := newReader(r, n)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		s.readers <- rd
		s.nreaders++
	}
	s.sweep = sweep.Start("sqlitestore", o.SweepInterval, o.SweepBatch, o.Logger, s.DeleteExpired)
	return s, nil
}

// checkFile runs names.checkForeign on the existing database file at path,
// on a connection of its own that sets no journal mode and writes nothing,
// so that a file Open refuses is left exactly as it was. It waits up to
// busy, as the Store's connections do, for another process that holds the
// file's lock (one migrating the file as it opens it, say).
func checkFile(path string, n names, busy time.Duration) error {
	db, err := sql.Open("sqlite", path+"?_query_only=1&_busy_timeout="+strconv.FormatInt(busy.Milliseconds(), 10))
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	defer db.Close()
	return n.checkForeign(context.Background(), db)
}

// Close stops the sweeper and the Store's WatchRevocations calls, waits for
// the reads under way and closes the database. Reads and writes after Close
// fail. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.rev != nil {
			close(s.rev.done)
		}
		s.sweep.Stop()
		var errs []error
		for range s.nreaders {
			errs = append(errs, (<-s.readers).close())
		}
		if s.readers != nil {
			close(s.readers)
		}
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.closeMerge())
		if s.updateStmt != nil {
			errs = append(errs, s.updateStmt.Close())
		}
		errs = append(errs, s.w.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// micros encodes a time as Unix microseconds, NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// blob returns s as a non-nil byte slice (an empty BLOB, never NULL).
func blob(s string) []byte { return append([]byte{}, s...) }

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// tombstoneSet turns a row into a tombstone: it keeps hash, id, subject,
// kind and expires_at, bumps the version and clears data and live.
const tombstoneSet = `state = ?, version = version + 1, successor = ?, grace_until = ?,
	data = NULL, live = NULL, deadline = expires_at`

// statements are the write statements of a Store, with its table names.
type statements struct {
	insert, update, state, tombstone, destroyHash, destroyID, destroySubject, expire string
	mergeGet                                                                         string // Merge's read, in its write transaction
}

func newStatements(n names) statements {
	return statements{
		insert: n.sql(`INSERT INTO {{prefix}}sessions (hash, id, subject, kind, state, expires_at, version, deadline, data, live)
			VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`),
		update: n.sql(`UPDATE {{prefix}}sessions SET kind = ?, expires_at = ?, data = ?, live = ?,
			version = version + 1, deadline = ? WHERE hash = ? AND state = 0 AND version = ?`),
		state:    n.sql(`SELECT state FROM {{prefix}}sessions WHERE hash = ?`),
		mergeGet: n.sql(readSQL[readGet]),
		// Rotate's compare-and-swap of the old record.
		tombstone:      n.sql(`UPDATE {{prefix}}sessions SET ` + tombstoneSet + ` WHERE hash = ? AND state = 0 AND version = ? AND subject = ?`),
		destroyHash:    n.sql(`UPDATE {{prefix}}sessions SET ` + tombstoneSet + ` WHERE hash = ? AND state = 0`),
		destroyID:      n.sql(`UPDATE {{prefix}}sessions SET ` + tombstoneSet + ` WHERE id = ? AND state = 0`),
		destroySubject: n.sql(`UPDATE {{prefix}}sessions SET ` + tombstoneSet + ` WHERE subject = ? AND state = 0 AND id <> ?`),
		expire: n.sql(`DELETE FROM {{prefix}}sessions WHERE hash IN
			(SELECT hash FROM {{prefix}}sessions WHERE deadline < ? ORDER BY deadline LIMIT ?)`),
	}
}

// insert inserts the live record r with the given version.
func (s *Store) insert(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, r *storage.Record, version uint64) error {
	live, err := binrec.EncodeLive(r)
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	_, err = db.ExecContext(ctx, s.sql.insert, r.Hash[:], blob(r.ID), blob(r.Subject), int64(r.Kind),
		micros(r.ExpiresAt), int64(version), micros(r.KeepUntil()), nullBytes(r.Data), live)
	return translate(err)
}

// translate maps SQLite errors to keycard sentinels where one applies and
// wraps everything else (an unavailable store) with the package name.
func translate(err error) error {
	if err == nil || errors.Is(err, errCorrupt) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return storage.ErrExists
		}
	}
	return fmt.Errorf("sqlitestore: %w", err)
}

// Create inserts r with Version 1; the primary key on hash and the unique
// index on the live IDs turn a duplicate into ErrExists.
func (s *Store) Create(ctx context.Context, r *storage.Record) error {
	if err := s.insert(ctx, s.w, r, 1); err != nil {
		return err
	}
	r.Version = 1
	return nil
}

// casFailure tells ErrNotFound from ErrConflict after a compare-and-swap
// statement changed no row.
func (s *Store) casFailure(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, h storage.Hash) error {
	var state int64
	err := q.QueryRowContext(ctx, s.sql.state, h[:]).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrNotFound
	case err != nil:
		return translate(err)
	case state != int64(storage.StateLive):
		return storage.ErrNotFound
	}
	return storage.ErrConflict
}

// Update is one UPDATE ... WHERE hash = ? AND state = 0 AND version = ?; only
// when it changes no row does a SELECT tell ErrNotFound from ErrConflict.
func (s *Store) Update(ctx context.Context, r *storage.Record) error {
	args, err := updateArgs(r)
	if err != nil {
		return err
	}
	n, err := rowsAffected(s.updateStmt.ExecContext(ctx, args[:]...))
	if err != nil {
		return err
	}
	if n != 1 {
		return s.casFailure(ctx, s.w, r.Hash)
	}
	r.Version++
	return nil
}

// updateArgs returns the arguments of the statement update (Update's
// compare-and-swap, which Merge runs too) for r.
func updateArgs(r *storage.Record) ([7]any, error) {
	live, err := binrec.EncodeLive(r)
	if err != nil {
		return [7]any{}, fmt.Errorf("sqlitestore: %w", err)
	}
	return [...]any{int64(r.Kind), micros(r.ExpiresAt), nullBytes(r.Data), live, micros(r.KeepUntil()),
		r.Hash[:], int64(r.Version)}, nil
}

// Rotate tombstones old (compare-and-swap on its version and subject) and
// inserts next, in one write transaction.
func (s *Store) Rotate(ctx context.Context, old, next *storage.Record, graceUntil time.Time) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	var succ any = next.Hash[:]
	n, err := exec(ctx, tx, s.sql.tombstone, int64(storage.StateRotated), succ, micros(graceUntil), old.Hash[:], int64(old.Version), []byte(old.Subject))
	if err != nil {
		return err
	}
	if n != 1 {
		return s.casFailure(ctx, tx, old.Hash)
	}
	if err := s.insert(ctx, tx, next, 1); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return translate(err)
	}
	old.Version++
	next.Version = 1
	return nil
}

// Delete turns the live record h into a destroyed tombstone: one UPDATE.
func (s *Store) Delete(ctx context.Context, h storage.Hash) error {
	return s.destroy(ctx, s.sql.destroyHash, h[:])
}

// DeleteByID turns the live record with ID id into a destroyed tombstone: one UPDATE.
func (s *Store) DeleteByID(ctx context.Context, id string) error {
	return s.destroy(ctx, s.sql.destroyID, []byte(id))
}

func (s *Store) destroy(ctx context.Context, q string, arg any) error {
	n, err := exec(ctx, s.w, q, int64(storage.StateDestroyed), nil, nil, arg)
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// DeleteSubject destroys the live records of subject except exceptID: one UPDATE.
func (s *Store) DeleteSubject(ctx context.Context, subject, exceptID string) (int, error) {
	if subject == "" {
		return 0, nil
	}
	n, err := exec(ctx, s.w, s.sql.destroySubject, int64(storage.StateDestroyed), nil, nil, []byte(subject), []byte(exceptID))
	return int(n), err
}

// DeleteExpired drops at most limit rows whose deadline is before now, in
// one short write transaction that uses the deadline index, and then, while
// the limit is not reached, expired revocation entries and old log rows in
// another.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n, err := exec(ctx, s.w, s.sql.expire, now.UnixMicro(), limit)
	if err != nil {
		return int(n), err
	}
	m, err := s.deleteExpiredRevocations(ctx, now, limit-int(n))
	return int(n) + m, err
}

// exec runs a write statement on a *sql.DB or *sql.Tx and returns how many
// rows it changed.
func exec(ctx context.Context, e interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, q string, args ...any) (int64, error) {
	return rowsAffected(e.ExecContext(ctx, q, args...))
}

// rowsAffected returns how many rows the statement that returned res and
// err changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, translate(err)
	}
	return n, nil
}
