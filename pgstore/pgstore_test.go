package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard/internal/testlog"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storage"
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

// open returns pgstore.New(pool, opts) and closes the Store when t ends,
// before the pool (which the caller registered first) is closed.
func open(t testing.TB, pool *pgxpool.Pool, opts *pgstore.Options) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), pool, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newSchema returns the name of a schema no other test uses.
func newSchema(kind string) string { return fmt.Sprintf("keycard_%s_%d", kind, schemaSeq.Add(1)) }

// newStore returns a Store in a schema of its own on the shared server.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	return open(t, newPool(t, testserver.SharedPostgres(t)), &pgstore.Options{Schema: newSchema("test")})
}

func TestConformance(t *testing.T) {
	storetest.RunMerger(t, func(t *testing.T) storage.Merger { return newStore(t) })
}

// TestCorruptRow: a live row whose live column or pending changes an edit
// broke, or removed, is an error for Get, GetByID and List, never a record
// with fields or values missing and never ErrNotFound (the Manager answers
// 503 and logs nobody out).
func TestCorruptRow(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	pool := newPool(t, testserver.SharedPostgres(t))
	for _, set := range []string{
		`live = '\x010203'`,
		`live = ''`,
		`live = NULL`,
		`pending_keys = '{a}', pending_values = NULL`,
		`pending_keys = NULL, pending_values = '{1}'`,
		`pending_keys = '{a,b}', pending_values = '{1}'`,
		`pending_keys = '{NULL}', pending_values = '{1}'`,
	} {
		r := storetest.NewRecord("alice")
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE `+s.TableName()+` SET `+set+` WHERE hash = $1`, r.Hash[:]); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, r.Hash); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: Get = %v, %v; want a store error", set, got, err)
		}
		if _, err := s.GetByID(ctx, r.ID); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: GetByID = %v; want a store error", set, err)
		}
		if _, err := s.List(ctx, "alice"); err == nil {
			t.Errorf("%s: List succeeded", set)
		}
		if err := s.DeleteByID(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackgroundSweep: a store made by New with default Options drops
// expired records one minute after New, and not before, without anyone
// calling DeleteExpired; SweepBatch splits a sweep into DELETEs of that many
// rows, and a negative SweepInterval turns the sweep off. The pool is made
// in the synctest bubble too, so that nothing of it outlives the test.
func TestBackgroundSweep(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	tests := []struct {
		name  string
		opts  pgstore.Options
		every time.Duration
	}{
		{"default", pgstore.Options{}, time.Minute},
		{"batches of two", pgstore.Options{SweepInterval: time.Second, SweepBatch: 2}, time.Second},
		{"off", pgstore.Options{SweepInterval: -1}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.BackgroundSweep(t, tt.every, func(t *testing.T) storage.Store {
				opts := tt.opts
				opts.Schema = newSchema("sweep")
				return open(t, newPool(t, pg), &opts)
			})
		})
	}
}

// TestSweepFromEveryNode: several nodes on one database, each with its
// background sweep, sweeping at once: every expired record is dropped once,
// no sweep fails, and nothing live is touched.
func TestSweepFromEveryNode(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	schema := newSchema("sweepers")
	var logs testlog.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	synctest.Test(t, func(t *testing.T) {
		var nodes []*pgstore.Store
		for range 4 {
			nodes = append(nodes, open(t, newPool(t, pg), &pgstore.Options{Schema: schema, SweepBatch: 7, Logger: logger}))
		}
		admin := newPool(t, pg)
		ctx := t.Context()
		now := storetest.Now()
		const n = 300
		for i := range n {
			r := storetest.NewRecord("alice")
			r.IdleExpiresAt = now.Add(-time.Minute)
			if err := nodes[i%len(nodes)].Create(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		keep := storetest.NewRecord("alice")
		if err := nodes[0].Create(ctx, keep); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute + time.Millisecond)
		synctest.Wait()
		var left int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM `+nodes[0].TableName()).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 1 {
			t.Errorf("after one sweep of every node, %d rows are left, want 1 (the live record)", left)
		}
		if _, err := nodes[1].Get(ctx, keep.Hash); err != nil {
			t.Errorf("live record after the sweeps: %v", err)
		}
	})
	if logs.String() != "" {
		t.Errorf("the sweeps logged:\n%s", logs.String())
	}
}
