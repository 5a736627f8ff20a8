package sqlitestore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storetest"
)

func open(t testing.TB, path string, opts *sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keycard.Store {
		return open(t, filepath.Join(t.TempDir(), "keycard.db"), &sqlitestore.Options{SynchronousNormal: true})
	})
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	s := open(t, path, nil)
	if err := s.Create(context.Background(), storetest.NewRecord("alice")); err != nil {
		t.Fatal(err)
	}
	// The WAL and shared-memory files exist while the store is open.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(p), got, want)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var version int
	if err := db.QueryRow(`SELECT max(version) FROM schema_version`).Scan(&version); err != nil || version != 1 {
		t.Errorf("schema_version = %d, %v; want 1", version, err)
	}
}
