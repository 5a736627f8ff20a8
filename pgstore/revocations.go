package pgstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keycard-go/keycard/storage"
)

var _ storage.RevocationWatcher = (*Store)(nil)

// revocations holds the statements of the revocation state of sealed
// sessions (migration 4: keycard_denied_ids, keycard_generations and the
// sequence keycard_generation_seq) and the schema's NOTIFY channel.
type revocations struct {
	deny, revoke, read, expireDenied, expireGens string
	seq                                          string // the sequence's name, for nextval
	channel                                      string
	done                                         chan struct{} // closed by Close: watchers return
}

// Every change is announced on one channel per schema, so that Stores on
// other schemas of the database do not hear it: "keycard_revocations_"
// and 16 hex digits of the FNV-1a hash of the schema name (a channel name
// is at most 63 bytes, a schema name may be as long). The payload is "d"
// (deny entry) or "g" (generation) and the ID or subject in unpadded
// base64, as a payload is text without NULs, at most 7999 bytes; a change
// whose key does not fit is announced as "*", which a watcher reports as
// RevocationsDown and RevocationsUp (such a key is over PostgreSQL's limit
// of about 2.7 kB for an index entry anyway, unless it compresses well).
const (
	payloadDenied  = "d"
	payloadRevoked = "g"
	payloadFlush   = "*"
	maxPayload     = 7999
)

func newRevocations(schemaName, schema string) revocations {
	h := fnv.New64a()
	h.Write([]byte(schemaName))
	d, g := schema+".keycard_denied_ids", schema+".keycard_generations"
	return revocations{
		// The statements announce their change with pg_notify, which
		// PostgreSQL delivers when the statement's transaction commits, and
		// never for one that rolls back.
		deny: `WITH d AS (INSERT INTO ` + d + ` AS t (id, until) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET until = GREATEST(t.until, EXCLUDED.until) RETURNING 1)
			SELECT pg_notify($3, $4)::text FROM d`,
		// nextval runs for every call, so the sequence stays at or above
		// every n: a subject whose row was dropped starts above them all.
		// Concurrent calls for one subject queue on its row: each gets n+1.
		revoke: `WITH g AS (INSERT INTO ` + g + ` AS t (subject, n, except_id, until)
			VALUES ($1, nextval($4::regclass), $2, $3)
			ON CONFLICT (subject) DO UPDATE SET n = t.n + 1, except_id = EXCLUDED.except_id,
				until = GREATEST(t.until, EXCLUDED.until)
			RETURNING n, except_id)
			SELECT n, except_id, pg_notify($5, $6)::text FROM g`,
		read: `SELECT EXISTS (SELECT 1 FROM ` + d + ` WHERE id = $1), g.n, g.except_id
			FROM (VALUES (1)) AS one (x) LEFT JOIN ` + g + ` g ON g.subject = $2`,
		// Concurrent sweepers on several nodes skip each other's rows.
		expireDenied: `DELETE FROM ` + d + ` WHERE id IN (SELECT id FROM ` + d + `
			WHERE until < $1 ORDER BY until LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		expireGens: `DELETE FROM ` + g + ` WHERE subject IN (SELECT subject FROM ` + g + `
			WHERE until < $1 ORDER BY until LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		seq:     schema + ".keycard_generation_seq",
		channel: fmt.Sprintf("keycard_revocations_%016x", h.Sum64()),
		done:    make(chan struct{}),
	}
}

// payload is the NOTIFY payload of a change of kind to key.
func payload(kind, key string) string {
	p := kind + base64.RawStdEncoding.EncodeToString([]byte(key))
	if len(p) > maxPayload {
		return payloadFlush
	}
	return p
}

// DenyID is one statement (one round trip): an upsert that keeps the later
// until, and the NOTIFY of the change.
func (s *Store) DenyID(ctx context.Context, id string, until time.Time) error {
	if err := storage.CheckDenyID(id, until); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, s.rev.deny, str(id), until, s.rev.channel, payload(payloadDenied, id))
	return translate(err)
}

// RevokeSubject is one statement (one round trip): INSERT ... ON CONFLICT
// DO UPDATE ... RETURNING the new generation, and the NOTIFY of the change.
func (s *Store) RevokeSubject(ctx context.Context, subject, exceptID string, until time.Time) (storage.Generation, error) {
	if err := storage.CheckRevokeSubject(subject, until); err != nil {
		return storage.Generation{}, err
	}
	var (
		n      int64
		except []byte
		void   string
	)
	err := s.pool.QueryRow(ctx, s.rev.revoke, str(subject), str(exceptID), until, s.rev.seq,
		s.rev.channel, payload(payloadRevoked, subject)).Scan(&n, &except, &void)
	if err != nil {
		return storage.Generation{}, translate(err)
	}
	return storage.Generation{N: uint64(n), Except: string(except)}, nil
}

// Revocation is one SELECT (one round trip) of both tables' primary keys.
func (s *Store) Revocation(ctx context.Context, id, subject string) (bool, storage.Generation, error) {
	if id == "" && subject == "" {
		if err := ctx.Err(); err != nil {
			return false, storage.Generation{}, err
		}
		return false, storage.Generation{}, nil
	}
	var (
		denied bool
		n      pgtype.Int8
		except []byte
	)
	if err := s.pool.QueryRow(ctx, s.rev.read, str(id), str(subject)).Scan(&denied, &n, &except); err != nil {
		return false, storage.Generation{}, translate(err)
	}
	var g storage.Generation
	if n.Valid && subject != "" {
		g = storage.Generation{N: uint64(n.Int64), Except: string(except)}
	}
	return denied && id != "", g, nil
}

// deleteExpiredRevocations drops at most limit deny entries and
// generations whose until is before now, for DeleteExpired.
func (s *Store) deleteExpiredRevocations(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	for _, q := range []string{s.rev.expireDenied, s.rev.expireGens} {
		if n >= limit {
			break
		}
		tag, err := s.pool.Exec(ctx, q, now, limit-n)
		if err != nil {
			return n, translate(err)
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}

// Watching. keepAlive is how long the listening connection may stay silent
// before the watcher pings the server; a ping not answered within another
// keepAlive counts as a lost connection. backoff is the wait before
// listening again after a failure, doubled after each attempt that never
// got to LISTEN.
const (
	keepAlive  = 3 * time.Second
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

// WatchRevocations takes a connection of the pool for itself (Hijack: it no
// longer counts against the pool's size, and the pool's connect hooks have
// run on it), runs LISTEN on the schema's channel and reports RevocationsUp.
// Every DenyID and RevokeSubject of any Store on the schema sends a
// notification with pg_notify in its own statement, which PostgreSQL
// delivers on commit. Any error of the connection, or a ping not answered
// within 3 s of silence, reports RevocationsDown; the watcher closes the
// connection, takes another one, waiting 50 ms after the first failure and
// up to 1 s after repeated ones, and reports RevocationsUp once LISTEN
// succeeds. It returns when ctx is done or the Store is closed.
func (s *Store) WatchRevocations(ctx context.Context, fn func(storage.RevocationEvent)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.rev.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := minBackoff
	for ctx.Err() == nil {
		if s.listen(ctx, fn) {
			backoff = minBackoff
		} else {
			backoff = min(2*backoff, maxBackoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// listen runs one LISTEN connection until it fails or ctx is done, and
// reports whether it got to report RevocationsUp (it then reported
// RevocationsDown at the failure).
func (s *Store) listen(ctx context.Context, fn func(storage.RevocationEvent)) (up bool) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return false
	}
	conn := pc.Hijack()
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(c)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.rev.channel}.Sanitize()); err != nil {
		return false
	}
	fn(storage.RevocationEvent{Type: storage.RevocationsUp})
	for {
		wait, cancel := context.WithTimeout(ctx, keepAlive)
		n, err := conn.WaitForNotification(wait)
		cancel()
		if ctx.Err() != nil {
			return true
		}
		if err != nil && errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
			// Silence: ask the server. Notifications that arrive meanwhile
			// are kept by the connection for the next wait.
			ping, cancel := context.WithTimeout(ctx, keepAlive)
			err = conn.Ping(ping)
			cancel()
			if err == nil {
				continue
			}
		}
		if ctx.Err() != nil {
			return true
		}
		if err != nil {
			fn(storage.RevocationEvent{Type: storage.RevocationsDown})
			return true
		}
		if ev, ok := decodeNotification(n.Payload); ok {
			fn(ev)
		} else if n.Payload == payloadFlush {
			fn(storage.RevocationEvent{Type: storage.RevocationsDown})
			fn(storage.RevocationEvent{Type: storage.RevocationsUp})
		}
	}
}

// decodeNotification reads a payload of the channel; anything else is
// ignored.
func decodeNotification(p string) (storage.RevocationEvent, bool) {
	kind, rest := p[:min(1, len(p))], p[min(1, len(p)):]
	key, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		return storage.RevocationEvent{}, false
	}
	switch kind {
	case payloadDenied:
		return storage.RevocationEvent{Type: storage.IDDenied, ID: string(key)}, true
	case payloadRevoked:
		return storage.RevocationEvent{Type: storage.SubjectRevoked, Subject: string(key)}, true
	}
	return storage.RevocationEvent{}, false
}
