package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
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
	storetest.RunMerger(t, func(t *testing.T) storage.Merger {
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
	if err := db.QueryRow(`SELECT count(*) FROM schema_version`).Scan(&version); err != nil || version != migrations(t) {
		t.Errorf("schema_version has %d versions, %v; want %d", version, err, migrations(t))
	}
}

// TestCorruptRecord: a row whose live column does not decode (edited by
// hand, or written by something else) is an error for that read, not a
// panic, a partial record or a keycard sentinel.
func TestCorruptRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	s := open(t, path, nil)
	ctx := context.Background()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name string
		set  string
	}{
		{"truncated", `live = substr(live, 1, length(live) - 1)`},
		{"trailing byte", `live = live || x'00'`},
		{"unknown format", `live = x'02' || substr(live, 2)`},
		{"empty", `live = x''`},
		{"text", `live = 'hello'`},
		{"live record without live", `live = NULL`},
		{"version not an integer", `version = 'one'`},
		{"short hash successor", `successor = x'01'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := storetest.NewRecord("alice")
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE sessions SET `+tt.set+` WHERE hash = ?`, r.Hash[:]); err != nil {
				t.Fatal(err)
			}
			for name, read := range map[string]func() (*storage.Record, error){
				"Get":     func() (*storage.Record, error) { return s.Get(ctx, r.Hash) },
				"GetByID": func() (*storage.Record, error) { return s.GetByID(ctx, r.ID) },
			} {
				got, err := read()
				if err == nil || got != nil {
					t.Errorf("%s = %v, %v; want an error", name, got, err)
				}
				if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrExists) {
					t.Errorf("%s: %v, want an error that is not a keycard sentinel", name, err)
				}
			}
			if _, err := s.List(ctx, "alice"); err == nil {
				t.Error("List with a corrupt record succeeded")
			}
			// Tombstoning needs no decoding and clears the row.
			if err := s.Delete(ctx, r.Hash); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get(ctx, r.Hash); err != nil || got.State != storage.StateDestroyed {
				t.Errorf("Get after Delete = %v, %v; want the tombstone", got, err)
			}
		})
	}
}
