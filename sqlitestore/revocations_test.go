package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// TestRevocationsTwoStores: two Stores on one file, as two processes have
// it: the revocations made through one reach a watcher of the other
// through the change log, which it polls every 25 ms.
func TestRevocationsTwoStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	a, b := open(t, path, nil), open(t, path, nil)
	storetest.RevocationsPropagate(t, a, b, 40)
}

// events starts a watcher of s and returns what it reports.
func events(t *testing.T, s *sqlitestore.Store) <-chan storage.RevocationEvent {
	ch := make(chan storage.RevocationEvent, 64)
	go s.WatchRevocations(t.Context(), func(ev storage.RevocationEvent) { ch <- ev })
	return ch
}

func wantEvent(t *testing.T, ch <-chan storage.RevocationEvent, want storage.RevocationEvent) {
	t.Helper()
	select {
	case ev := <-ch:
		if ev != want {
			t.Fatalf("event %+v, want %+v", ev, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no event within 5s, want %+v", want)
	}
}

var (
	up   = storage.RevocationEvent{Type: storage.RevocationsUp}
	down = storage.RevocationEvent{Type: storage.RevocationsDown}
)

// TestWatchLogGap: rows of the change log a watcher had not read yet are
// gone (the sweep dropped them while the watcher's process was stopped,
// say): it reports RevocationsDown and RevocationsUp in their place, and
// then changes again.
func TestWatchLogGap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	a, b := open(t, path, nil), open(t, path, nil)
	ch := events(t, b)
	wantEvent(t, ch, up)
	// Another program writes rows with a hole in seq, as if the sweep had
	// dropped two that nobody had read.
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO sessions_revocation_log (seq, at, kind, key, origin)
		SELECT coalesce(max(seq), 0) + 3, 0, 1, x'41', x'00' FROM sessions_revocation_log`); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ch, down)
	wantEvent(t, ch, up)
	if err := a.DenyID(t.Context(), "after", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ch, storage.RevocationEvent{Type: storage.IDDenied, ID: "after"})
}

// TestWatchReadFails: a poll of the log that fails reports
// RevocationsDown; changes of the Store's own process are held, not
// reported, until a poll succeeds and reports RevocationsUp.
func TestWatchReadFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	s := open(t, path, nil)
	ch := events(t, s)
	wantEvent(t, ch, up)
	db := rawDB(t, path)
	if _, err := db.Exec(`ALTER TABLE sessions_revocation_log RENAME TO moved`); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ch, down)
	if _, err := db.Exec(`ALTER TABLE moved RENAME TO sessions_revocation_log`); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ch, up)
	if err := s.DenyID(t.Context(), "x", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ch, storage.RevocationEvent{Type: storage.IDDenied, ID: "x"})
}

// TestRevocationSweepKeepsLogHead: DeleteExpired drops log rows older than
// a minute, but never the newest, so that seq only grows.
func TestRevocationSweepKeepsLogHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	s := open(t, path, &sqlitestore.Options{SweepInterval: -1})
	ctx := context.Background()
	var high uint64
	for range 5 {
		g, err := s.RevokeSubject(ctx, "alice", "", time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		high = g.N
	}
	for {
		n, err := s.DeleteExpired(ctx, time.Now().Add(time.Hour), 2)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var rows, head int64
	if err := rawDB(t, path).QueryRow(`SELECT count(*), max(seq) FROM sessions_revocation_log`).Scan(&rows, &head); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || head != 5 {
		t.Errorf("log after the sweep: %d rows up to seq %d, want the newest one, 5", rows, head)
	}
	if g, err := s.RevokeSubject(ctx, "alice", "", time.Now().Add(time.Hour)); err != nil || g.N <= high {
		t.Errorf("RevokeSubject after the sweep = %+v, %v; want N above %d", g, err, high)
	}
}

// TestCloseEndsWatchers: Close makes WatchRevocations return.
func TestCloseEndsWatchers(t *testing.T) {
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "keycard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	ch := make(chan storage.RevocationEvent, 4)
	go func() {
		s.WatchRevocations(context.Background(), func(ev storage.RevocationEvent) { ch <- ev })
		close(done)
	}()
	wantEvent(t, ch, up)
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WatchRevocations did not return within 5s of Close")
	}
}

// rawDB opens the file as another program would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
