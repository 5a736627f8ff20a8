package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storetest"
)

func isSentinel(err error) bool {
	return errors.Is(err, keycard.ErrNotFound) || errors.Is(err, keycard.ErrExists) || errors.Is(err, keycard.ErrConflict)
}

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
	defer pool.Close()
	s, err := pgstore.New(context.Background(), pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	var acked []*keycard.Record
	step := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r := storetest.NewRecord("alice")
		if err := s.Create(ctx, r); err != nil {
			return err
		}
		acked = append(acked, r)
		if i%2 == 0 {
			u := r.Clone()
			u.Data = []byte(`{"n":1}`)
			if err := s.Update(ctx, u); err != nil {
				return err
			}
			acked[len(acked)-1] = u
		}
		_, err := s.Get(ctx, r.Hash)
		return err
	}
	for i := range 50 {
		if err := step(i); err != nil {
			t.Fatalf("before the outage, step %d: %v", i, err)
		}
	}
	pg.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	calls := map[string]func() error{
		"Get":     func() error { _, err := s.Get(ctx, acked[0].Hash); return err },
		"GetByID": func() error { _, err := s.GetByID(ctx, acked[0].ID); return err },
		"Create":  func() error { return s.Create(ctx, storetest.NewRecord("alice")) },
		"Update":  func() error { return s.Update(ctx, acked[1].Clone()) },
		"Rotate": func() error {
			n := storetest.NewRecord("alice")
			return s.Rotate(ctx, acked[1].Clone(), n, time.Time{})
		},
		"Delete":        func() error { return s.Delete(ctx, acked[1].Hash) },
		"DeleteByID":    func() error { return s.DeleteByID(ctx, acked[1].ID) },
		"List":          func() error { _, err := s.List(ctx, "alice"); return err },
		"DeleteSubject": func() error { _, err := s.DeleteSubject(ctx, "alice", ""); return err },
		"DeleteExpired": func() error { _, err := s.DeleteExpired(ctx, time.Now(), 10); return err },
	}
	for name, call := range calls {
		err := call()
		if err == nil || isSentinel(err) {
			t.Errorf("%s while PostgreSQL is down: got %v, want a non-sentinel error", name, err)
		}
	}
	cancel()
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	// Connections broken by the restart are dropped by the pool on their
	// first use; allow a bounded number of such failures, then none.
	var i, failures int
	for i = 50; i < 100; i++ {
		if err := step(i); err != nil {
			failures++
			if failures > 5 || i > 60 {
				t.Fatalf("after the restart, step %d: %v", i, err)
			}
		}
	}
	t.Logf("%d calls failed on connections broken by the restart", failures)
	for j, r := range acked {
		got, err := s.Get(context.Background(), r.Hash)
		if err != nil {
			t.Fatalf("acknowledged record %d after restart: %v", j, err)
		}
		if d := storetest.Diff(got, r); d != "" {
			t.Errorf("acknowledged record %d after restart differs:%s", j, d)
		}
	}
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
		if err == nil || isSentinel(err) {
			t.Errorf("%s on a locked table: %v, want a non-sentinel error", name, err)
		}
		if elapsed > 3*time.Second {
			t.Errorf("%s returned after %v, want soon after the 200ms deadline", name, elapsed)
		}
	}
}
