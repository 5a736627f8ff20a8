package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keycard-go/keycard"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures a Store. A nil *Options means all defaults.
type Options struct {
	// BusyTimeout is how long a write waits for another process that holds
	// the database's write lock (inside one process writers queue on a single
	// connection and never see SQLITE_BUSY). Default 5s.
	BusyTimeout time.Duration

	// ReadConns is the number of read connections. Default 4.
	ReadConns int

	// SweepInterval, when positive, starts a background goroutine that drops
	// expired records and tombstones every SweepInterval, SweepBatch rows per
	// write transaction so that writers never wait long. Default 0: no
	// sweeper (call DeleteExpired yourself).
	SweepInterval time.Duration

	// SweepBatch is the number of rows the sweeper drops per transaction.
	// Default 256.
	SweepBatch int

	// SynchronousNormal sets PRAGMA synchronous=NORMAL instead of FULL: writes
	// are faster, and a crash of the process still loses nothing, but a power
	// loss or OS crash may lose the last acknowledged writes (which may be a
	// logout). Default false (FULL).
	SynchronousNormal bool
}

// Store is a keycard.Store in one SQLite database file. It is safe for
// concurrent use. Writes go through a single connection, so writers of one
// process are serialised in Go and SQLITE_BUSY never reaches a caller; reads
// use a pool of read connections and never wait for a writer (WAL mode).
type Store struct {
	w, r *sql.DB

	get, getByID *sql.Stmt

	stopSweep chan struct{}
	sweepDone chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ keycard.Store = (*Store)(nil)

// Open opens (creating it with mode 0600 when it does not exist) the SQLite
// database at path, applies the embedded schema migrations and returns the
// Store. An existing file keeps its mode. Close the Store when done.
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
	if o.SweepBatch <= 0 {
		o.SweepBatch = 256
	}
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: unsupported database path %q (a file path without '?' or '#')", path)
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
	s := &Store{w: w}
	if err := migrate(w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	r.SetMaxOpenConns(o.ReadConns)
	r.SetMaxIdleConns(o.ReadConns)
	r.SetConnMaxIdleTime(0)
	s.r = r
	if s.get, err = r.Prepare(`SELECT ` + columns + ` FROM sessions WHERE hash = ?`); err == nil {
		s.getByID, err = r.Prepare(`SELECT ` + columns + ` FROM sessions WHERE id = ? AND state = 0`)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if o.SweepInterval > 0 {
		s.stopSweep = make(chan struct{})
		s.sweepDone = make(chan struct{})
		go s.sweep(o.SweepInterval, o.SweepBatch)
	}
	return s, nil
}

// migrate applies the embedded migrations that the schema_version table does
// not list yet, each in its own write transaction.
func migrate(db *sql.DB) error {
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	known := 0
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(base[:strings.IndexByte(base, '_')])
		if err != nil {
			return fmt.Errorf("sqlitestore: migration %s: bad name", base)
		}
		known = max(known, v)
		tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: another process migrating waits
		if err != nil {
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_version WHERE version = ?`, v).Scan(&have); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		if have > 0 {
			tx.Rollback()
			continue
		}
		body, _ := migrations.ReadFile(name)
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlitestore: migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlitestore: migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", base, err)
		}
	}
	var newest sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&newest); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if int(newest.Int64) > known {
		return fmt.Errorf("sqlitestore: database schema version %d is newer than this Keycard knows (%d)", newest.Int64, known)
	}
	return nil
}

// Close stops the sweeper and closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopSweep != nil {
			close(s.stopSweep)
			<-s.sweepDone
		}
		var errs []error
		for _, st := range []*sql.Stmt{s.get, s.getByID} {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Store) sweep(every time.Duration, batch int) {
	defer close(s.sweepDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
		}
		for {
			n, err := s.DeleteExpired(context.Background(), time.Now(), batch)
			if err != nil || n < batch {
				break
			}
			select {
			case <-s.stopSweep:
				return
			default:
			}
		}
	}
}

const columns = `hash, id, subject, kind, state, created_at, authenticated_at, renewed_at, last_seen_at, idle_expires_at, expires_at, idle_timeout, persistent, ip, user_agent, fingerprint, data, meta, version, successor, grace_until`

// micros encodes a time as Unix microseconds, NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

type scanner interface{ Scan(...any) error }

func scanRecord(row scanner) (*keycard.Record, error) {
	var (
		r                                                  keycard.Record
		hash, data, meta, succ                             []byte
		created, authed, renewed, seen, idle, expires, grc sql.NullInt64
		kind, state                                        int64
		idleTimeout, version                               int64
		persistent                                         bool
	)
	// Strings scan straight into the Record (one copy each, byte-exact).
	err := row.Scan(&hash, &r.ID, &r.Subject, &kind, &state, &created, &authed, &renewed, &seen, &idle, &expires,
		&idleTimeout, &persistent, &r.IP, &r.UserAgent, &r.Fingerprint, &data, &meta, &version, &succ, &grc)
	if err != nil {
		return nil, err
	}
	copy(r.Hash[:], hash)
	r.Kind, r.State = keycard.Kind(kind), keycard.State(state)
	r.CreatedAt, r.AuthenticatedAt, r.RenewedAt = fromMicros(created), fromMicros(authed), fromMicros(renewed)
	r.LastSeenAt, r.IdleExpiresAt, r.ExpiresAt = fromMicros(seen), fromMicros(idle), fromMicros(expires)
	r.IdleTimeout, r.Persistent = time.Duration(idleTimeout), persistent
	r.Data, r.Meta = data, meta // database/sql copies into a []byte destination
	r.Version = uint64(version)
	copy(r.Successor[:], succ)
	r.GraceUntil = fromMicros(grc)
	return &r, nil
}

// blob returns s as a non-nil byte slice (an empty BLOB, never NULL).
func blob(s string) []byte { return append([]byte{}, s...) }

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// values returns the column values of a live record r, in columns order,
// with the given version.
func values(r *keycard.Record, version uint64) []any {
	return []any{
		r.Hash[:], blob(r.ID), blob(r.Subject), int64(r.Kind), int64(keycard.StateLive),
		micros(r.CreatedAt), micros(r.AuthenticatedAt), micros(r.RenewedAt), micros(r.LastSeenAt),
		micros(r.IdleExpiresAt), micros(r.ExpiresAt), int64(r.IdleTimeout), r.Persistent,
		blob(r.IP), blob(r.UserAgent), blob(r.Fingerprint), nullBytes(r.Data), nullBytes(r.Meta),
		int64(version), nil, nil, micros(r.KeepUntil()),
	}
}

const insertSQL = `INSERT INTO sessions (` + columns + `, deadline) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// tombstoneSet turns a row into a tombstone: it keeps hash, id, subject,
// kind and expires_at, bumps the version and clears everything else.
const tombstoneSet = `state = ?, version = version + 1, successor = ?, grace_until = ?,
	created_at = NULL, authenticated_at = NULL, renewed_at = NULL, last_seen_at = NULL,
	idle_expires_at = NULL, idle_timeout = 0, persistent = 0, ip = x'', user_agent = x'',
	fingerprint = x'', data = NULL, meta = NULL, deadline = expires_at`

// translate maps SQLite errors to keycard sentinels where one applies and
// wraps everything else (an unavailable store) with the package name.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return keycard.ErrExists
		}
	}
	return fmt.Errorf("sqlitestore: %w", err)
}

// Get returns the record or tombstone under h: one primary-key SELECT.
func (s *Store) Get(ctx context.Context, h keycard.Hash) (*keycard.Record, error) {
	r, err := scanRecord(s.get.QueryRowContext(ctx, h[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, keycard.ErrNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	return r, nil
}

// GetByID returns the live record with public ID id.
func (s *Store) GetByID(ctx context.Context, id string) (*keycard.Record, error) {
	r, err := scanRecord(s.getByID.QueryRowContext(ctx, []byte(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, keycard.ErrNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	return r, nil
}

// Create inserts r with Version 1; the primary key on hash and the unique
// index on the live IDs turn a duplicate into ErrExists.
func (s *Store) Create(ctx context.Context, r *keycard.Record) error {
	if _, err := s.w.ExecContext(ctx, insertSQL, values(r, 1)...); err != nil {
		return translate(err)
	}
	r.Version = 1
	return nil
}

// casFailure tells ErrNotFound from ErrConflict after a compare-and-swap
// statement changed no row.
func casFailure(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, h keycard.Hash) error {
	var state int64
	err := q.QueryRowContext(ctx, `SELECT state FROM sessions WHERE hash = ?`, h[:]).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return keycard.ErrNotFound
	case err != nil:
		return translate(err)
	case state != int64(keycard.StateLive):
		return keycard.ErrNotFound
	}
	return keycard.ErrConflict
}

const updateSQL = `UPDATE sessions SET kind = ?, created_at = ?, authenticated_at = ?, renewed_at = ?,
	last_seen_at = ?, idle_expires_at = ?, expires_at = ?, idle_timeout = ?, persistent = ?, ip = ?,
	user_agent = ?, fingerprint = ?, data = ?, meta = ?, version = version + 1, deadline = ?
	WHERE hash = ? AND state = 0 AND version = ?`

// Update is one UPDATE ... WHERE hash = ? AND state = 0 AND version = ?; only
// when it changes no row does a SELECT tell ErrNotFound from ErrConflict.
func (s *Store) Update(ctx context.Context, r *keycard.Record) error {
	res, err := s.w.ExecContext(ctx, updateSQL, int64(r.Kind), micros(r.CreatedAt), micros(r.AuthenticatedAt),
		micros(r.RenewedAt), micros(r.LastSeenAt), micros(r.IdleExpiresAt), micros(r.ExpiresAt),
		int64(r.IdleTimeout), r.Persistent, blob(r.IP), blob(r.UserAgent), blob(r.Fingerprint),
		nullBytes(r.Data), nullBytes(r.Meta), micros(r.KeepUntil()), r.Hash[:], int64(r.Version))
	if err != nil {
		return translate(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return translate(err)
		}
		return casFailure(ctx, s.w, r.Hash)
	}
	r.Version++
	return nil
}

// Rotate tombstones old (compare-and-swap on its version and subject) and
// inserts next, in one write transaction.
func (s *Store) Rotate(ctx context.Context, old, next *keycard.Record, graceUntil time.Time) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	var succ any = next.Hash[:]
	res, err := tx.ExecContext(ctx, `UPDATE sessions SET `+tombstoneSet+` WHERE hash = ? AND state = 0 AND version = ? AND subject = ?`,
		int64(keycard.StateRotated), succ, micros(graceUntil), old.Hash[:], int64(old.Version), []byte(old.Subject))
	if err != nil {
		return translate(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return translate(err)
		}
		return casFailure(ctx, tx, old.Hash)
	}
	if _, err := tx.ExecContext(ctx, insertSQL, values(next, 1)...); err != nil {
		return translate(err)
	}
	if err := tx.Commit(); err != nil {
		return translate(err)
	}
	old.Version++
	next.Version = 1
	return nil
}

// Delete turns the live record h into a destroyed tombstone: one UPDATE.
func (s *Store) Delete(ctx context.Context, h keycard.Hash) error {
	return s.destroy(ctx, `hash = ?`, h[:])
}

// DeleteByID turns the live record with ID id into a destroyed tombstone: one UPDATE.
func (s *Store) DeleteByID(ctx context.Context, id string) error {
	return s.destroy(ctx, `id = ?`, []byte(id))
}

func (s *Store) destroy(ctx context.Context, where string, arg any) error {
	res, err := s.w.ExecContext(ctx, `UPDATE sessions SET `+tombstoneSet+` WHERE `+where+` AND state = 0`,
		int64(keycard.StateDestroyed), nil, nil, arg)
	if err != nil {
		return translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return translate(err)
	}
	if n == 0 {
		return keycard.ErrNotFound
	}
	return nil
}

// List returns the live records of subject through the subject index.
func (s *Store) List(ctx context.Context, subject string) ([]*keycard.Record, error) {
	if subject == "" {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+columns+` FROM sessions WHERE subject = ? AND state = 0`, []byte(subject))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*keycard.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// DeleteSubject destroys the live records of subject except exceptID: one UPDATE.
func (s *Store) DeleteSubject(ctx context.Context, subject, exceptID string) (int, error) {
	if subject == "" {
		return 0, nil
	}
	res, err := s.w.ExecContext(ctx, `UPDATE sessions SET `+tombstoneSet+` WHERE subject = ? AND state = 0 AND id <> ?`,
		int64(keycard.StateDestroyed), nil, nil, []byte(subject), []byte(exceptID))
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, translate(err)
	}
	return int(n), nil
}

// DeleteExpired drops at most limit rows whose deadline is before now, in
// one short write transaction that uses the deadline index.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE hash IN
		(SELECT hash FROM sessions WHERE deadline < ? ORDER BY deadline LIMIT ?)`, now.UnixMicro(), limit)
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, translate(err)
	}
	return int(n), nil
}
