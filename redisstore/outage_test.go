package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/storetest"
)

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
	storetest.Outage(t, s, storetest.OutageOptions{
		Stop: srv.Stop, Start: srv.Start, CallTimeout: 2 * time.Second,
		Offline: []string{"DeleteExpired"}, // Redis expires keys itself
	})
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
		if err == nil || storetest.IsSentinel(err) {
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
