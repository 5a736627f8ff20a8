package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/internal/sweep"
	"github.com/keycard-go/keycard/storage"
)

//go:embed migrations/*.sql
var embedded embed.FS

// migrations are the migrations New applies: embedded, or a test's.
var migrations fs.FS = embedded

// Options configures a Store. A nil *Options means all defaults.
type Options struct {
	// Schema is the PostgreSQL schema that holds Keycard's tables
	// (keycard_sessions, keycard_schema_version, and keycard_denied_ids,
	// keycard_generations and keycard_generation_seq for the revocation
	// state of sealed sessions); it is created when missing.
	// Default "public".
	Schema string

	// SweepInterval is how often a background goroutine that New starts and
	// Close stops drops expired records and tombstones, with DELETEs of at
	// most SweepBatch rows each, so that no statement holds many row locks
	// or runs long. Every node of a deployment may sweep: concurrent sweeps
	// skip the rows another holds (FOR UPDATE SKIP LOCKED). The sweep
	// compares deadlines with this process's clock, as the Manager does.
	// Default (0): one minute. A negative value turns the background sweep
	// off; DeleteExpired still works.
	SweepInterval time.Duration

	// SweepBatch is the number of rows one DELETE of the background sweep
	// drops; the sweep goes on while a DELETE is full. Default 256.
	SweepBatch int

	// Logger receives the errors of the background sweep (at Warn; the
	// sweep tries again at its next interval). Default slog.Default().
	Logger *slog.Logger
}

// Store is a storage.Store in PostgreSQL. It is safe for concurrent use by
// any number of goroutines and processes (several Keycard nodes may share
// one database: every write is a single compare-and-swap statement).
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	table   string      // quoted schema.keycard_sessions
	sweep   *sweep.Loop // nil: no background sweep
	close   sync.Once

	sqlGet, sqlGetByID, sqlInsert, sqlUpdate, sqlRotate string
	sqlDelete, sqlDeleteByID, sqlList, sqlDeleteSubject string
	sqlLiveID, sqlLiveSubject, sqlExpire, sqlMerge      string

	rev revocations // the revocation state of sealed sessions (revocations.go)
}

var _ storage.Merger = (*Store)(nil)

// New returns a Store on pool after applying the embedded migrations (under a
// transaction-scoped advisory lock, so that nodes starting together migrate
// once), and starts the background sweep. The caller keeps ownership of
// pool: Close stops the sweep but does not close the pool; close the Store
// before the pool.
func New(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Store, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = "public"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	schema := pgx.Identifier{o.Schema}.Sanitize()
	s := &Store{pool: pool, table: schema + ".keycard_sessions", rev: newRevocations(o.Schema, schema)}
	s.prepareSQL()
	if err := migrate(ctx, pool, o.Schema, schema); err != nil {
		return nil, err
	}
	s.sweep = sweep.Start("pgstore", o.SweepInterval, o.SweepBatch, o.Logger, s.DeleteExpired)
	return s, nil
}

// Open connects to the PostgreSQL database at url (postgres://user:pass@host:port/db?sslmode=...,
// any form pgxpool.ParseConfig accepts), applies the migrations and returns a
// Store with the default Options whose Close closes the pool.
func Open(ctx context.Context, url string) (*Store, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s, err := New(ctx, pool, nil)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// Close stops the background sweep, interrupting a DELETE in progress, ends
// the Store's WatchRevocations calls, and closes the pool when Open created
// it; a pool passed to New is the caller's. It is safe to call more than
// once.
func (s *Store) Close() error {
	s.close.Do(func() {
		close(s.rev.done)
		s.sweep.Stop()
		if s.ownPool {
			s.pool.Close()
		}
	})
	return nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool, schemaName, schema string) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback(ctx)
	// One lock per schema: two Keycard processes starting at once migrate one
	// after the other, and the second finds nothing left to do.
	h := fnv.New64a()
	h.Write([]byte("keycard migrations " + schemaName))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return translate(err)
	}
	// CREATE SCHEMA needs the CREATE privilege on the database even with IF
	// NOT EXISTS, which an application role often lacks: ask first.
	var haveSchema bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schemaName).Scan(&haveSchema); err != nil {
		return translate(err)
	}
	if !haveSchema {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
			return translate(err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+schema+`.keycard_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return translate(err)
	}
	// Every migration not recorded is applied, in order, also one numbered
	// below the newest recorded: migrations that touch different tables may
	// be numbered out of the order they were released in.
	rows, err := tx.Query(ctx, `SELECT version FROM `+schema+`.keycard_schema_version`)
	if err != nil {
		return translate(err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return translate(err)
	}
	newest := int(slices.Max(append(applied, 0)))
	known := 0
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(base[:strings.IndexByte(base, '_')])
		if err != nil {
			return fmt.Errorf("pgstore: migration %s: bad name", base)
		}
		known = max(known, v)
		if slices.Contains(applied, int32(v)) {
			continue
		}
		body, _ := fs.ReadFile(migrations, name)
		if _, err := tx.Exec(ctx, strings.ReplaceAll(string(body), "{{schema}}", schema)); err != nil {
			return fmt.Errorf("pgstore: migration %s: %w", base, translate(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+schema+`.keycard_schema_version (version) VALUES ($1)`, v); err != nil {
			return translate(err)
		}
	}
	if newest > known {
		return fmt.Errorf("pgstore: database schema version %d is newer than this Keycard knows (%d)", newest, known)
	}
	return translate(tx.Commit(ctx))
}

// columns are the columns a write of a whole record sets, and the first
// ones a read selects. The fields only a live record carries are one
// column, live, in the format of internal/binrec/live.go (migration 2).
const columns = `hash, id, subject, kind, state, expires_at, version, successor, grace_until, data, live`

// readColumns are the columns a read selects, in the order scanRecord reads
// them: columns and the value changes Merge left apart from data
// (migration 3; see merge.go), each array in its binary form as a bytea,
// which the driver hands over without decoding (a NULL costs nothing).
const readColumns = columns + `, array_send(pending_keys), array_send(pending_values)`

// clearPending is the part of a SET that writes data whole: no change is
// pending any more.
const clearPending = `pending_keys = NULL, pending_values = NULL`

// tombstoneSet turns a row into a tombstone: it keeps hash, id, subject, kind
// and expires_at, bumps the version and clears data, live and the pending
// changes. $1 is the state, $2 the successor, $3 the grace deadline.
const tombstoneSet = `state = $1, version = version + 1, successor = $2, grace_until = $3,
	data = NULL, live = NULL, ` + clearPending + `, deadline = expires_at`

func (s *Store) prepareSQL() {
	t := s.table
	s.sqlGet = `SELECT ` + readColumns + ` FROM ` + t + ` WHERE hash = $1`
	s.sqlGetByID = `SELECT ` + readColumns + ` FROM ` + t + ` WHERE id = $1 AND state = 0`
	s.sqlInsert = `INSERT INTO ` + t + ` (` + columns + `, deadline) VALUES ($1,$2,$3,$4,0,$5,1,NULL,NULL,$6,$7,$8)`
	// Update: the compare-and-swap is one UPDATE ... WHERE version = $n; the
	// CTE reads the row's state in the same statement so that a failure is
	// classified (ErrNotFound or ErrConflict) without a second round trip.
	s.sqlUpdate = `WITH cur AS (SELECT state FROM ` + t + ` WHERE hash = $1),
	upd AS (UPDATE ` + t + ` SET kind = $3, expires_at = $4, data = $5, live = $6, version = version + 1,
		deadline = $7, ` + clearPending + `
		WHERE hash = $1 AND state = 0 AND version = $2 RETURNING 1)
	SELECT (SELECT count(*) FROM upd), (SELECT state FROM cur)`
	// Rotate: tombstone the old row (compare-and-swap) and insert the next
	// one in one statement, so one round trip and one implicit transaction;
	// the INSERT runs only when the UPDATE changed the old row.
	s.sqlRotate = `WITH cur AS (SELECT state FROM ` + t + ` WHERE hash = $4),
	tomb AS (UPDATE ` + t + ` SET ` + tombstoneSet + ` WHERE hash = $4 AND state = 0 AND version = $5 AND subject = $13 RETURNING 1),
	ins AS (INSERT INTO ` + t + ` (` + columns + `, deadline)
		SELECT $2::bytea,$6::bytea,$7::bytea,$8::smallint,0,$9::timestamptz,1,NULL,NULL,$10::bytea,$11::bytea,
			$12::timestamptz
		WHERE EXISTS (SELECT 1 FROM tomb) RETURNING 1)
	SELECT (SELECT count(*) FROM tomb), (SELECT count(*) FROM ins), (SELECT state FROM cur)`
	s.sqlDelete = `UPDATE ` + t + ` SET ` + tombstoneSet + ` WHERE hash = $4 AND state = 0`
	s.sqlDeleteByID = `UPDATE ` + t + ` SET ` + tombstoneSet + ` WHERE id = $4 AND state = 0`
	s.sqlList = `SELECT ` + readColumns + ` FROM ` + t + ` WHERE subject = $1 AND state = 0`
	// DeleteSubject locks its rows in hash order first, so that two
	// revocations of one subject running at once queue instead of deadlocking.
	s.sqlDeleteSubject = `UPDATE ` + t + ` SET ` + tombstoneSet + ` WHERE state = 0 AND hash IN
		(SELECT hash FROM ` + t + ` WHERE subject = $4 AND state = 0 AND id <> $5 ORDER BY hash FOR UPDATE)`
	// Whether a live record that DeleteByID or DeleteSubject ($1, $2: what
	// it destroys) should have destroyed is left (see destroyAll).
	s.sqlLiveID = `SELECT EXISTS (SELECT 1 FROM ` + t + ` WHERE id = $1 AND state = 0)`
	s.sqlLiveSubject = `SELECT EXISTS (SELECT 1 FROM ` + t + ` WHERE subject = $1 AND state = 0 AND id <> $2)`
	// Concurrent sweepers on several nodes skip each other's rows.
	s.sqlExpire = `DELETE FROM ` + t + ` WHERE hash IN (SELECT hash FROM ` + t + `
		WHERE deadline < $1 ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED)`
	s.sqlMerge = mergeSQL(t)
}

// ts encodes a time for a timestamptz parameter: NULL for the zero time.
func ts(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

func fromTS(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// str encodes a string as bytea, never NULL.
func str(s string) []byte { return append([]byte{}, s...) }

func scanRecord(row pgx.Row) (*storage.Record, error) {
	var r storage.Record
	// The scan targets escape into Scan: as one struct they cost one
	// allocation rather than one each.
	c := new(struct {
		hash, id, subject, succ, data, live, keys, values pgtype.DriverBytes
		expires, grace                                    pgtype.Timestamptz
		kind, state                                       int16
		version                                           int64
	})
	if err := row.Scan(&c.hash, &c.id, &c.subject, &c.kind, &c.state, &c.expires, &c.version, &c.succ, &c.grace,
		&c.data, &c.live, &c.keys, &c.values); err != nil {
		return nil, err
	}
	if len(c.hash) != len(r.Hash) || (c.succ != nil && len(c.succ) != len(r.Successor)) {
		return nil, fmt.Errorf("%w (hash or successor of the wrong length)", errCorrupt)
	}
	copy(r.Hash[:], c.hash)
	r.Kind, r.State = storage.Kind(c.kind), storage.State(c.state)
	r.ExpiresAt = fromTS(c.expires)
	r.Version = uint64(c.version)
	copy(r.Successor[:], c.succ)
	r.GraceUntil = fromTS(c.grace)
	// The driver's bytes are only valid until the next row: SetColumns copies them.
	if err := binrec.SetColumns(&r, c.id, c.subject, c.data, c.live); err != nil {
		return nil, fmt.Errorf("%w (%v)", errCorrupt, err)
	}
	if c.keys != nil || c.values != nil {
		if err := foldPending(&r, c.keys, c.values); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// getOne runs a query for at most one record: Query and Next rather than
// QueryRow, whose Scan closes the rows before scanRecord could copy the
// driver's bytes.
func (s *Store) getOne(ctx context.Context, sql string, args ...any) (*storage.Record, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, translate(err)
		}
		return nil, storage.ErrNotFound
	}
	r, err := scanRecord(rows)
	if err != nil {
		return nil, translate(err)
	}
	return r, nil
}

// translate maps PostgreSQL errors to keycard sentinels where one applies and
// wraps everything else (an unavailable database: the Manager answers 503).
func translate(err error) error {
	if err == nil || errors.Is(err, errCorrupt) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return storage.ErrExists
	}
	return fmt.Errorf("pgstore: %w", err)
}

// errCorrupt is wrapped by every error for a row that does not decode.
var errCorrupt = errors.New("pgstore: corrupt session record")

// encodeLive returns the live column of r.
func encodeLive(r *storage.Record) ([]byte, error) {
	b, err := binrec.EncodeLive(r)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return b, nil
}

func nullBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return b
}

// Get returns the record or tombstone under h: one primary-key SELECT (one round trip).
func (s *Store) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	return s.getOne(ctx, s.sqlGet, h[:])
}

// GetByID returns the live record with public ID id: one SELECT on the live-ID index.
func (s *Store) GetByID(ctx context.Context, id string) (*storage.Record, error) {
	return s.getOne(ctx, s.sqlGetByID, []byte(id))
}

// Create inserts r with Version 1: one INSERT; the primary key and the unique
// index on live IDs turn a duplicate into ErrExists.
func (s *Store) Create(ctx context.Context, r *storage.Record) error {
	live, err := encodeLive(r)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, s.sqlInsert, r.Hash[:], str(r.ID), str(r.Subject), int16(r.Kind),
		ts(r.ExpiresAt), nullBytes(r.Data), live, ts(r.KeepUntil()))
	if err != nil {
		return translate(err)
	}
	r.Version = 1
	return nil
}

func casResult(n int64, state *int16) error {
	if n == 1 {
		return nil
	}
	if state == nil || *state != int16(storage.StateLive) {
		return storage.ErrNotFound
	}
	return storage.ErrConflict
}

// Update is one statement (one round trip): UPDATE ... WHERE hash = $1 AND
// state = 0 AND version = $2.
func (s *Store) Update(ctx context.Context, r *storage.Record) error {
	live, err := encodeLive(r)
	if err != nil {
		return err
	}
	var n int64
	var state *int16
	err = s.pool.QueryRow(ctx, s.sqlUpdate, r.Hash[:], int64(r.Version), int16(r.Kind),
		ts(r.ExpiresAt), nullBytes(r.Data), live, ts(r.KeepUntil())).Scan(&n, &state)
	if err != nil {
		return translate(err)
	}
	if err := casResult(n, state); err != nil {
		return err
	}
	r.Version++
	return nil
}

// Rotate is one statement (one round trip, atomic): the old row becomes a
// rotated tombstone by compare-and-swap and next is inserted with Version 1.
func (s *Store) Rotate(ctx context.Context, old, next *storage.Record, graceUntil time.Time) error {
	live, err := encodeLive(next)
	if err != nil {
		return err
	}
	var tomb, ins int64
	var state *int16
	err = s.pool.QueryRow(ctx, s.sqlRotate, int16(storage.StateRotated), next.Hash[:], ts(graceUntil),
		old.Hash[:], int64(old.Version),
		str(next.ID), str(next.Subject), int16(next.Kind), ts(next.ExpiresAt), nullBytes(next.Data), live,
		ts(next.KeepUntil()), str(old.Subject)).Scan(&tomb, &ins, &state)
	if err != nil {
		return translate(err)
	}
	if err := casResult(tomb, state); err != nil {
		return err
	}
	if ins != 1 {
		return fmt.Errorf("pgstore: rotate inserted %d rows", ins)
	}
	old.Version++
	next.Version = 1
	return nil
}

// Delete turns the live record h into a destroyed tombstone: one UPDATE.
func (s *Store) Delete(ctx context.Context, h storage.Hash) error {
	tag, err := s.pool.Exec(ctx, s.sqlDelete, int16(storage.StateDestroyed), nil, nil, h[:])
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// DeleteByID turns the live record with ID id into a destroyed tombstone:
// one UPDATE, and the check that no live record with the ID is left, in
// one round trip (see destroyAll).
func (s *Store) DeleteByID(ctx context.Context, id string) error {
	n, err := s.destroyAll(ctx, s.sqlDeleteByID, s.sqlLiveID, []byte(id), nil)
	if err == nil && n == 0 {
		err = storage.ErrNotFound
	}
	return err
}

// List returns the live records of subject: one SELECT on the subject index.
func (s *Store) List(ctx context.Context, subject string) ([]*storage.Record, error) {
	if subject == "" {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.sqlList, []byte(subject))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*storage.Record
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

// DeleteSubject destroys the live records of subject except exceptID: one
// UPDATE, and the check that none is left, in one round trip (see
// destroyAll).
func (s *Store) DeleteSubject(ctx context.Context, subject, exceptID string) (int, error) {
	if subject == "" {
		return 0, nil
	}
	return s.destroyAll(ctx, s.sqlDeleteSubject, s.sqlLiveSubject, []byte(subject), []byte(exceptID))
}

// maxDestroyPasses bounds the batches of destroyAll. A pass after the first
// runs only when a record to destroy was renewed (or, for a subject,
// created) while the previous pass ran.
const maxDestroyPasses = 8

// destroyAll runs the tombstoning UPDATE destroy and then, in the same
// pipelined batch (one round trip), the query live, which reports whether a
// live record that destroy should have destroyed is left, and repeats both
// until none is. It returns how many records it destroyed.
//
// One UPDATE alone is not enough against a concurrent Rotate under READ
// COMMITTED: when the UPDATE waits for the Rotate's lock on the old row, it
// finds that row a tombstone once the Rotate commits, and the successor row
// is not in the UPDATE's snapshot, so a logout or "sign out everywhere"
// racing a renewal would leave the successor live. live runs after destroy
// with a new snapshot and takes no lock, so it sees that successor; when it
// sees none, none can come (a Rotate needs a live old row, and there is
// none), so a pass that reports no live record left is the end, also
// after a chain of Rotates.
func (s *Store) destroyAll(ctx context.Context, destroy, live string, key, except []byte) (int, error) {
	args := []any{int16(storage.StateDestroyed), nil, nil, key}
	liveArgs := []any{key}
	if except != nil {
		args, liveArgs = append(args, except), append(liveArgs, except)
	}
	total := 0
	for range maxDestroyPasses {
		b := &pgx.Batch{}
		b.Queue(destroy, args...)
		b.Queue(live, liveArgs...)
		br := s.pool.SendBatch(ctx, b)
		tag, err1 := br.Exec()
		var left bool
		err2 := br.QueryRow().Scan(&left)
		if err := errors.Join(err1, err2, br.Close()); err != nil {
			return total, translate(err)
		}
		total += int(tag.RowsAffected())
		if !left {
			return total, nil
		}
	}
	return total, fmt.Errorf("pgstore: records were renewed %d times while they were being destroyed", maxDestroyPasses)
}

// DeleteExpired drops at most limit rows whose deadline is before now: one
// DELETE that uses the deadline index and skips rows other sweepers hold,
// and, while the limit is not reached, one for the deny entries and one for
// the generations whose until is before now.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, s.sqlExpire, now, limit)
	if err != nil {
		return 0, translate(err)
	}
	n := int(tag.RowsAffected())
	m, err := s.deleteExpiredRevocations(ctx, now, limit-n)
	return n + m, err
}

// TableName returns the quoted, schema-qualified name of the sessions table,
// for operators' queries and tests.
func (s *Store) TableName() string { return s.table }
