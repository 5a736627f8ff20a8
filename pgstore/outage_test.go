package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/storetest"
)

// TestOutage stops PostgreSQL in the middle of a loop of operations: while
// it is down every call fails with an error that is not a keycard sentinel
// (the Manager answers 503); after it is back every acknowledged record is
// there and calls succeed.
func TestOutage(t *testing.T) {
	pg := testserver.StartPostgres(t)
	cfg, err := pgxpool.ParseConfig(pg.URL("") + "&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := open(t, pool, nil)
	storetest.Outage(t, s, storetest.OutageOptions{
		Stop: pg.Stop, Start: pg.Start, CallTimeout: 5 * time.Second,
		// The pool drops connections the restart broke on their first use.
		BrokenAfterRestart: 5,
	})
}

// TestContextStopsSlowCall holds a lock on the sessions table from another
// connection so that an Update waits; its context deadline must end the
// wait (pgx cancels the query on the server).
func TestContextStopsSlowCall(t *testing.T) {
	s := newStore(t)
	pool := newPool(t, testserver.SharedPostgres(t))
	r := storetest.NewRecord("alice")
	if err := s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), `LOCK TABLE `+s.TableName()+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Get", "Update"} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		if name == "Get" {
			_, err = s.Get(ctx, r.Hash)
		} else {
			err = s.Update(ctx, r.Clone())
		}
		elapsed := time.Since(start)
		cancel()
		if err == nil || storetest.IsSentinel(err) {
			t.Errorf("%s on a locked table: %v, want a non-sentinel error", name, err)
		}
		if elapsed > 3*time.Second {
			t.Errorf("%s returned after %v, want soon after the 200ms deadline", name, elapsed)
		}
	}
}
