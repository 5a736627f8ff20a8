package pgstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storetest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

var schemaSeq atomic.Int64

// sharedPool returns a pool on the package's shared PostgreSQL server.
func newPool(t testing.TB, pg *testserver.Postgres) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pg.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newStore returns a Store in a schema of its own on the shared server.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	pg := testserver.SharedPostgres(t)
	pool := newPool(t, pg)
	schema := fmt.Sprintf("keycard_test_%d", schemaSeq.Add(1))
	s, err := pgstore.New(context.Background(), pool, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keycard.Store { return newStore(t) })
}
