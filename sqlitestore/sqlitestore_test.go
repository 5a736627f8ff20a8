package sqlitestore_test

import (
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
	open(t, path, nil)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}
