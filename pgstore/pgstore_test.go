package pgstore_test

import (
	"context"
	"errors"
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

// TestCorruptRow: a live row whose live column an edit broke, or removed, is
// an error for Get, GetByID and List, never a record with fields missing
// and never ErrNotFound (the Manager answers 503 and logs nobody out).
func TestCorruptRow(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	pool := newPool(t, testserver.SharedPostgres(t))
	for _, live := range []any{[]byte{1, 2, 3}, []byte{}, nil} {
		r := storetest.NewRecord("alice")
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE `+s.TableName()+` SET live = $1 WHERE hash = $2`, live, r.Hash[:]); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, r.Hash); err == nil || errors.Is(err, keycard.ErrNotFound) {
			t.Errorf("live = %v: Get = %v, %v; want a store error", live, got, err)
		}
		if _, err := s.GetByID(ctx, r.ID); err == nil || errors.Is(err, keycard.ErrNotFound) {
			t.Errorf("live = %v: GetByID = %v; want a store error", live, err)
		}
		if _, err := s.List(ctx, "alice"); err == nil {
			t.Errorf("live = %v: List succeeded", live)
		}
		if err := s.DeleteByID(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}
