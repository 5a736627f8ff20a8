package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"time"

	"github.com/keycard-go/keycard/storage"
)

var _ storage.RevocationWatcher = (*Store)(nil)

// revocations is the revocation state of sealed sessions in the Store's
// file (migration 3): deny entries, generations, and a log of changes
// through which the processes sharing the file learn of each other's.
type revocations struct {
	sql     revocationSQL
	origin  []byte // 16 random bytes: this Store's log rows
	dsn     string // for a watcher's own connection
	watches storage.RevocationHub
	done    chan struct{} // closed by Close: watchers return
}

type revocationSQL struct {
	deny, revoke, log, read, head, tail        string
	expireDenied, expireGenerations, expireLog string
}

// The kinds of a log row.
const (
	logDenied  = 1
	logRevoked = 2
)

// pollInterval is how often a watcher reads the log for other processes'
// changes, and logKeep how long the sweep keeps a log row: a watcher that
// has not read the log for that long (a process stopped in a debugger)
// finds rows missing and reports RevocationsDown and RevocationsUp.
const (
	pollInterval = 25 * time.Millisecond
	logKeep      = time.Minute
	maxPollRows  = 10000 // more changes since the last poll: Down and Up instead
)

func newRevocations(n names, dsn string) (*revocations, error) {
	origin := make([]byte, 16)
	if _, err := rand.Read(origin); err != nil {
		return nil, err
	}
	return &revocations{
		sql: revocationSQL{
			deny: n.sql(`INSERT INTO {{prefix}}sessions_denied (id, until) VALUES (?, ?)
				ON CONFLICT (id) DO UPDATE SET until = max(until, excluded.until)`),
			// A subject without a row starts from the seq of its log row,
			// which is above every generation handed out before: every
			// RevokeSubject writes a log row, and seq only grows.
			revoke: n.sql(`INSERT INTO {{prefix}}sessions_generations (subject, n, except_id, until) VALUES (?, ?, ?, ?)
				ON CONFLICT (subject) DO UPDATE SET n = n + 1, except_id = excluded.except_id,
					until = max(until, excluded.until)
				RETURNING n, except_id`),
			log: n.sql(`INSERT INTO {{prefix}}sessions_revocation_log (seq, at, kind, key, origin)
				SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ? FROM {{prefix}}sessions_revocation_log
				RETURNING seq`),
			read: n.sql(`SELECT EXISTS (SELECT 1 FROM {{prefix}}sessions_denied WHERE id = ?1), g.n, g.except_id
				FROM (SELECT 1) LEFT JOIN {{prefix}}sessions_generations g ON g.subject = ?2`),
			head: n.sql(`SELECT coalesce(max(seq), 0) FROM {{prefix}}sessions_revocation_log`),
			tail: n.sql(`SELECT seq, kind, key, origin FROM {{prefix}}sessions_revocation_log
				WHERE seq > ? AND seq <= ? ORDER BY seq`),
			expireDenied: n.sql(`DELETE FROM {{prefix}}sessions_denied WHERE id IN
				(SELECT id FROM {{prefix}}sessions_denied WHERE until < ? ORDER BY until LIMIT ?)`),
			expireGenerations: n.sql(`DELETE FROM {{prefix}}sessions_generations WHERE subject IN
				(SELECT subject FROM {{prefix}}sessions_generations WHERE until < ? ORDER BY until LIMIT ?)`),
			// The newest row stays, so that seq only grows.
			expireLog: n.sql(`DELETE FROM {{prefix}}sessions_revocation_log WHERE seq IN
				(SELECT seq FROM {{prefix}}sessions_revocation_log WHERE at < ?
					AND seq < (SELECT max(seq) FROM {{prefix}}sessions_revocation_log) ORDER BY seq LIMIT ?)`),
		},
		origin: origin,
		dsn:    dsn,
		done:   make(chan struct{}),
	}, nil
}

// change runs one revocation write and its log row in one BEGIN IMMEDIATE
// transaction on the write connection, and then tells the watchers of this
// process. write gets the seq of the log row.
func (s *Store) change(ctx context.Context, kind int, key string, write func(tx *sql.Tx, seq int64) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	var seq int64
	err = tx.QueryRowContext(ctx, s.rev.sql.log, time.Now().UnixMicro(), kind, blob(key), s.rev.origin).Scan(&seq)
	if err != nil {
		return translate(err)
	}
	if err := write(tx, seq); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return translate(err)
	}
	s.rev.watches.Publish(logEvent(kind, key))
	return nil
}

func logEvent(kind int, key string) storage.RevocationEvent {
	if kind == logDenied {
		return storage.RevocationEvent{Type: storage.IDDenied, ID: key}
	}
	return storage.RevocationEvent{Type: storage.SubjectRevoked, Subject: key}
}

// DenyID upserts the deny entry, keeping the later until, and logs the
// change, in one write transaction. The watchers of this process have been
// told when it returns.
func (s *Store) DenyID(ctx context.Context, id string, until time.Time) error {
	if err := storage.CheckDenyID(id, until); err != nil {
		return err
	}
	return s.change(ctx, logDenied, id, func(tx *sql.Tx, _ int64) error {
		_, err := tx.ExecContext(ctx, s.rev.sql.deny, blob(id), until.UnixMicro())
		return translate(err)
	})
}

// RevokeSubject logs the change and upserts the generation (RETURNING the
// new one) in one write transaction. The watchers of this process have been
// told when it returns.
func (s *Store) RevokeSubject(ctx context.Context, subject, exceptID string, until time.Time) (storage.Generation, error) {
	if err := storage.CheckRevokeSubject(subject, until); err != nil {
		return storage.Generation{}, err
	}
	var g storage.Generation
	err := s.change(ctx, logRevoked, subject, func(tx *sql.Tx, seq int64) error {
		var n int64
		var except []byte
		err := tx.QueryRowContext(ctx, s.rev.sql.revoke, blob(subject), seq, blob(exceptID), until.UnixMicro()).Scan(&n, &except)
		g = storage.Generation{N: uint64(n), Except: string(except)}
		return translate(err)
	})
	if err != nil {
		return storage.Generation{}, err
	}
	return g, nil
}

// Revocation is one SELECT of both tables' primary keys, on a read
// connection.
func (s *Store) Revocation(ctx context.Context, id, subject string) (bool, storage.Generation, error) {
	if id == "" && subject == "" {
		return false, storage.Generation{}, translate(ctx.Err())
	}
	var (
		denied bool
		n      sql.NullInt64
		except []byte
	)
	err := s.withReader(ctx, func(rd *reader) error {
		return rd.conn.QueryRowContext(ctx, s.rev.sql.read, blob(id), blob(subject)).Scan(&denied, &n, &except)
	})
	if err != nil {
		return false, storage.Generation{}, translate(err)
	}
	var g storage.Generation
	if n.Valid && subject != "" {
		g = storage.Generation{N: uint64(n.Int64), Except: string(except)}
	}
	return denied && id != "", g, nil
}

// deleteExpiredRevocations drops, for DeleteExpired, at most limit deny
// entries and generations whose until is before now and log rows older
// than logKeep before now, in one write transaction.
func (s *Store) deleteExpiredRevocations(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, translate(err)
	}
	defer tx.Rollback()
	total := 0
	for _, q := range []struct {
		sql string
		at  time.Time
	}{{s.rev.sql.expireDenied, now}, {s.rev.sql.expireGenerations, now}, {s.rev.sql.expireLog, now.Add(-logKeep)}} {
		if total == limit {
			break
		}
		n, err := exec(ctx, tx, q.sql, q.at.UnixMicro(), limit-total)
		if err != nil {
			return 0, err
		}
		total += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, translate(err)
	}
	return total, nil
}

// WatchRevocations reports RevocationsUp, then the changes of this Store
// from inside the call that made them, and those of every other Store on
// the file (other processes, or other Stores of this one) from the log,
// which it reads on a connection of its own every 25 ms: such a change is
// reported at most 25 ms after it commits, plus the time of the read.
// When a read fails it reports RevocationsDown, and RevocationsUp once a
// read succeeds again; when rows it has not read were dropped from the log
// (the watcher was stopped for more than a minute), or more than 10,000
// changes came since its last read, it reports RevocationsDown and
// RevocationsUp in place of them. It returns when ctx is done or the Store
// is closed.
func (s *Store) WatchRevocations(ctx context.Context, fn func(storage.RevocationEvent)) {
	if ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.rev.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	sub := s.rev.watches.Subscribe(fn)
	defer sub.Close()
	db, err := sql.Open("sqlite", s.rev.dsn+"&_query_only=1")
	if err != nil {
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	w := watcher{s: s, db: db, sub: sub}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		w.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watcher is the state of one WatchRevocations.
type watcher struct {
	s    *Store
	db   *sql.DB
	sub  *storage.RevocationSub
	up   bool
	last int64 // the seq of the last log row read
}

// poll reads the log once and reports what it finds.
func (w *watcher) poll(ctx context.Context) {
	var head int64
	if err := w.db.QueryRowContext(ctx, w.s.rev.sql.head).Scan(&head); err != nil {
		w.down(ctx)
		return
	}
	if !w.up || head < w.last || head-w.last > maxPollRows {
		// Where the log stands now is where this watcher starts; changes
		// of this process since Subscribe or Down are held by sub.
		w.sub.Down()
		w.last, w.up = head, true
		w.sub.Up()
		return
	}
	if head == w.last {
		return
	}
	rows, err := w.db.QueryContext(ctx, w.s.rev.sql.tail, w.last, head)
	if err != nil {
		w.down(ctx)
		return
	}
	defer rows.Close()
	var evs []storage.RevocationEvent
	next := w.last + 1
	for rows.Next() {
		var (
			seq    int64
			kind   int
			key    []byte
			origin []byte
		)
		if err := rows.Scan(&seq, &kind, &key, &origin); err != nil {
			w.down(ctx)
			return
		}
		if seq != next {
			break // rows dropped: a gap
		}
		next++
		if string(origin) != string(w.s.rev.origin) { // this Store's own were told in process
			evs = append(evs, logEvent(kind, string(key)))
		}
	}
	if err := rows.Err(); err != nil {
		w.down(ctx)
		return
	}
	if next != head+1 {
		w.sub.Down()
		w.last = head
		w.sub.Up()
		return
	}
	for _, ev := range evs {
		w.sub.Deliver(ev)
	}
	w.last = head
}

// down reports RevocationsDown after a failed read; the next poll that
// reads the log reports RevocationsUp. A read ended by ctx reports nothing.
func (w *watcher) down(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	w.up = false
	w.sub.Down()
}
