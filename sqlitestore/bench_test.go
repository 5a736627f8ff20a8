package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

func benchStores(b *testing.B) []struct {
	name string
	s    storage.Store
} {
	dir := b.TempDir()
	return []struct {
		name string
		s    storage.Store
	}{
		{"memstore", memstore.New(nil)},
		{"sqlite", open(b, filepath.Join(dir, "full.db"), nil)},
		{"sqlite-normal", open(b, filepath.Join(dir, "normal.db"), &sqlitestore.Options{SynchronousNormal: true})},
	}
}

func BenchmarkGet(b *testing.B)    { forStores(b, storetest.BenchGet) }
func BenchmarkUpdate(b *testing.B) { forStores(b, storetest.BenchUpdate) }
func BenchmarkRotate(b *testing.B) { forStores(b, storetest.BenchRotate) }
func BenchmarkMerge(b *testing.B) {
	forStores(b, func(b *testing.B, s storage.Store) { storetest.BenchMerge(b, s.(storage.Merger)) })
}
func BenchmarkGetUpdate(b *testing.B) { forStores(b, storetest.BenchGetUpdate) }

func forStores(b *testing.B, bench func(*testing.B, storage.Store)) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) { bench(b, st.s) })
	}
}

// BenchmarkRevocationPropagation: a revocation made through one Store
// reaching a watcher of another on the same file (another process), which
// polls the change log every 25 ms; median-ns and max-ns are the delay from
// the write returning to the event.
func BenchmarkRevocationPropagation(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keycard.db")
	storetest.BenchRevocationPropagation(b, open(b, path, nil), open(b, path, nil))
}
