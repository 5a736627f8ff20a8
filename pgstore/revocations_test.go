package pgstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storage"
)

// events starts a watcher of s and returns what it reports.
func events(t *testing.T, s *pgstore.Store) <-chan storage.RevocationEvent {
	ch := make(chan storage.RevocationEvent, 64)
	go s.WatchRevocations(t.Context(), func(ev storage.RevocationEvent) { ch <- ev })
	return ch
}

func wantEvent(t *testing.T, ch <-chan storage.RevocationEvent, want storage.RevocationEvent, within time.Duration) {
	t.Helper()
	select {
	case ev := <-ch:
		if ev != want {
			t.Fatalf("event %+v, want %+v", ev, want)
		}
	case <-time.After(within):
		t.Fatalf("no event within %v, want %+v", within, want)
	}
}

var (
	up   = storage.RevocationEvent{Type: storage.RevocationsUp}
	down = storage.RevocationEvent{Type: storage.RevocationsDown}
)

// TestWatchTooLongForNotify: a change whose ID does not fit in a NOTIFY
// payload is announced all the same, as RevocationsDown and
// RevocationsUp, which make a cache drop everything.
func TestWatchTooLongForNotify(t *testing.T) {
	s := newStore(t)
	ch := events(t, s)
	wantEvent(t, ch, up, 5*time.Second)
	long := strings.Repeat("a", 6000) // compresses under the index entry limit
	if err := s.DenyID(t.Context(), long, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ch, down, 5*time.Second)
	wantEvent(t, ch, up, time.Second)
	if denied, _, err := s.Revocation(t.Context(), long, ""); err != nil || !denied {
		t.Errorf("Revocation of the long ID = %v, %v; want denied", denied, err)
	}
}

// TestWatchConnectionKilled: the server ending the listening connection
// (pg_terminate_backend, as an administrator or a failover would) is a
// RevocationsDown, and the watcher listens again on a new connection.
func TestWatchConnectionKilled(t *testing.T) {
	s := newStore(t)
	admin := newPool(t, testserver.SharedPostgres(t))
	ch := events(t, s)
	wantEvent(t, ch, up, 5*time.Second)
	var n int
	err := admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN "keycard_revocations_%' AND pid <> pg_backend_pid()`).Scan(&n)
	if err != nil || n == 0 {
		t.Fatalf("terminating the listener: %d, %v", n, err)
	}
	start := time.Now()
	wantEvent(t, ch, down, 5*time.Second)
	wantEvent(t, ch, up, 5*time.Second)
	t.Logf("%d listeners terminated: RevocationsUp again after %v", n, time.Since(start))
	if err := s.DenyID(t.Context(), "after", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ch, storage.RevocationEvent{Type: storage.IDDenied, ID: "after"}, 5*time.Second)
}

// TestCloseEndsWatchers: Close makes WatchRevocations return.
func TestCloseEndsWatchers(t *testing.T) {
	s := newStore(t)
	done := make(chan struct{})
	ch := make(chan storage.RevocationEvent, 4)
	go func() {
		s.WatchRevocations(context.Background(), func(ev storage.RevocationEvent) { ch <- ev })
		close(done)
	}()
	wantEvent(t, ch, up, 5*time.Second)
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WatchRevocations did not return within 5s of Close")
	}
}
