package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/storetest"
)

func isSentinel(err error) bool {
	return errors.Is(err, keycard.ErrNotFound) || errors.Is(err, keycard.ErrExists) || errors.Is(err, keycard.ErrConflict)
}

// TestOutage stops redis-server (appendonly yes) in the middle of a loop of
// operations: while it is down every call fails with an error that is not a
// keycard sentinel (the Manager answers 503, nobody is logged out or in);
// after it is back every acknowledged record is there and calls succeed.
func TestOutage(t *testing.T) {
	srv := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true})
	c := redis.NewClient(&redis.Options{
		Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second,
	})
	defer c.Close()
	s, err := redisstore.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var acked []*keycard.Record
	step := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
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
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
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
	}
	for name, call := range calls {
		err := call()
		if err == nil || isSentinel(err) {
			t.Errorf("%s while Redis is down: got %v, want a non-sentinel error", name, err)
		}
	}
	cancel()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 50; i < 100; i++ {
		if err := step(i); err != nil {
			t.Fatalf("after the restart, step %d: %v", i, err)
		}
	}
	for i, r := range acked {
		got, err := s.Get(context.Background(), r.Hash)
		if err != nil {
			t.Fatalf("acknowledged record %d after restart: %v", i, err)
		}
		if d := storetest.Diff(got, r); d != "" {
			t.Errorf("acknowledged record %d after restart differs:%s", i, d)
		}
	}
	if l, err := s.List(context.Background(), "alice"); err != nil || len(l) != len(acked) {
		t.Errorf("List after restart = %d records, %v; want %d", len(l), err, len(acked))
	}
}

// TestContextStopsSlowCall pauses the server (CLIENT PAUSE) so that a Get
// waits; its context deadline must end the wait long before the pause does.
func TestContextStopsSlowCall(t *testing.T) {
	srv := testserver.StartRedis(t, nil)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	s, err := redisstore.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRecord("alice")
	if err := s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if _, err := testserver.RedisCommand(srv.Addr, "CLIENT", "PAUSE", "3000", "ALL"); err != nil {
		t.Fatal(err)
	}
	defer testserver.RedisCommand(srv.Addr, "CLIENT", "UNPAUSE")
	for _, name := range []string{"Get", "Update"} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		if name == "Get" {
			_, err = s.Get(ctx, r.Hash)
		} else {
			err = s.Update(ctx, r.Clone())
		}
		elapsed := time.Since(start)
		cancel()
		if err == nil || isSentinel(err) {
			t.Errorf("%s on a paused server: %v, want a non-sentinel error", name, err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("%s: %v (not wrapping context.DeadlineExceeded)", name, err)
		}
		if elapsed > 2*time.Second {
			t.Errorf("%s returned after %v, want soon after the 100ms deadline", name, elapsed)
		}
	}
}
