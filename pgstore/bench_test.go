package pgstore_test

import (
	"context"
	"testing"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storetest"
)

// rawSelect returns the floor: one pgx primary-key SELECT of one column of
// the row of r, through another pool.
func rawSelect(b *testing.B, table string, hash []byte) func() error {
	pool := newPool(b, testserver.SharedPostgres(b))
	q := `SELECT data FROM ` + table + ` WHERE hash = $1`
	var data []byte
	return func() error { return pool.QueryRow(context.Background(), q, hash).Scan(&data) }
}

// BenchmarkRawSelect is the floor of BenchmarkGet.
func BenchmarkRawSelect(b *testing.B) {
	s := newStore(b)
	raw := rawSelect(b, s.TableName(), storetest.BenchRecord(b, s).Hash[:])
	b.ReportAllocs()
	for b.Loop() {
		if err := raw(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B)    { storetest.BenchGet(b, newStore(b)) }
func BenchmarkUpdate(b *testing.B) { storetest.BenchUpdate(b, newStore(b)) }
func BenchmarkRotate(b *testing.B) { storetest.BenchRotate(b, newStore(b)) }
func BenchmarkMerge(b *testing.B)  { storetest.BenchMerge(b, newStore(b)) }

// BenchmarkGetUpdate is the read and compare-and-swap write that
// BenchmarkMerge replaces.
func BenchmarkGetUpdate(b *testing.B) { storetest.BenchGetUpdate(b, newStore(b)) }

// BenchmarkGetVsRaw alternates the raw SELECT and a Get on the same row.
func BenchmarkGetVsRaw(b *testing.B) {
	s := newStore(b)
	r := storetest.BenchRecord(b, s)
	storetest.BenchGetVsRaw(b, s, r, rawSelect(b, s.TableName(), r.Hash[:]))
}

// BenchmarkRevocationPropagation: a revocation made through one Store (one
// Keycard node) reaching a watcher of another on the same schema through
// LISTEN/NOTIFY; median-ns and max-ns are the delay from the write
// returning to the event.
func BenchmarkRevocationPropagation(b *testing.B) {
	pg := testserver.SharedPostgres(b)
	opts := &pgstore.Options{Schema: newSchema("bench")}
	storetest.BenchRevocationPropagation(b, open(b, newPool(b, pg), opts), open(b, newPool(b, pg), opts))
}
