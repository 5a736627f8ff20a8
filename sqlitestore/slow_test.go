package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// TestContextStopsSlowWrite holds the database's write lock from another
// connection (as another process would), so that a write waits in the busy
// handler; cancelling its context must end the wait long before the busy
// timeout.
func TestContextStopsSlowWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	s := open(t, path, &sqlitestore.Options{BusyTimeout: 30 * time.Second})

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Create(ctx, storetest.NewRecord("alice"))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Create while another connection holds the write lock succeeded")
	}
	if errors.Is(err, storage.ErrExists) || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
		t.Errorf("Create: got %v, want an error that is not a keycard sentinel", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Create returned after %v, want soon after the 200ms deadline", elapsed)
	}
	// Reads never wait for the writer (WAL).
	if _, err := s.Get(context.Background(), storage.Hash{1}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get during the other writer's transaction: %v, want ErrNotFound", err)
	}
}

// TestBackgroundSweep: a store opened with nil Options drops expired
// records one minute after Open, and not before, without anyone calling
// DeleteExpired; SweepBatch splits a sweep into transactions of that many
// rows, and a negative SweepInterval turns the sweep off.
func TestBackgroundSweep(t *testing.T) {
	tests := []struct {
		name  string
		opts  *sqlitestore.Options
		every time.Duration
	}{
		{"default", nil, time.Minute},
		{"batches of two", &sqlitestore.Options{SweepInterval: time.Second, SweepBatch: 2}, time.Second},
		{"off", &sqlitestore.Options{SweepInterval: -1}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keycard.db")
			storetest.BackgroundSweep(t, tt.every, func(t *testing.T) storage.Store { return open(t, path, tt.opts) })
		})
	}
}

// TestReopen checks that migrations run once and data survives Close.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	s, err := sqlitestore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRecord("alice")
	if err := s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, path, nil)
	got, err := s2.Get(context.Background(), r.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.Diff(got, r); d != "" {
		t.Errorf("after reopening:%s", d)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "a?mode=ro", "file:x.db", "x#y"} {
		if s, err := sqlitestore.Open(p, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}
