package redisstore_test

import (
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

func TestMain(m *testing.M) { testserver.Main(m) }

var prefixSeq atomic.Int64

func prefix() string { return fmt.Sprintf("keycard-test-%d:", prefixSeq.Add(1)) }

func standaloneClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

func clusterClient(t testing.TB, addrs []string) *redis.ClusterClient {
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

func newStandalone(t testing.TB) *redisstore.Store {
	t.Helper()
	srv := testserver.SharedRedis(t)
	s, err := redisstore.New(standaloneClient(t, srv.Addr), &redisstore.Options{Prefix: prefix()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newCluster(t testing.TB) *redisstore.Store {
	t.Helper()
	cl := testserver.SharedRedisCluster(t)
	s, err := redisstore.New(clusterClient(t, cl.Addrs()), &redisstore.Options{Prefix: prefix()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformanceStandalone(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store { return newStandalone(t) })
}

func TestConformanceCluster(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store { return newCluster(t) })
}

// TestConformanceSentinel runs the suite through a Sentinel (a failover
// client), which gets the one-node algorithm.
func TestConformanceSentinel(t *testing.T) {
	sent := testserver.StartRedisSentinel(t)
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: sent.MasterName, SentinelAddrs: []string{sent.Sentinel.Addr}, ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })
	storetest.Run(t, func(t *testing.T) storage.Store {
		s, err := redisstore.New(c, &redisstore.Options{Prefix: prefix()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewRejects(t *testing.T) {
	if _, err := redisstore.New(nil, nil); err == nil {
		t.Error("New(nil client) succeeded")
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for _, p := range []string{"a{b}:", "{x}", "x}"} {
		if _, err := redisstore.New(c, &redisstore.Options{Prefix: p}); err == nil {
			t.Errorf("New with Prefix %q succeeded, want an error", p)
		}
	}
}

// TestMergeMovesExpiry: Redis drops a record by its key's expiry, so a merge
// that moves the idle deadline must move the expiry with it, or an active
// session would vanish at its old deadline.
func TestMergeMovesExpiry(t *testing.T) {
	srv := testserver.SharedRedis(t)
	c := standaloneClient(t, srv.Addr)
	p := prefix()
	s, err := redisstore.New(c, &redisstore.Options{Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRecord("alice")
	r.IdleExpiresAt = r.LastSeenAt.Add(5 * time.Second)
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	key := p + "r:{" + hex.EncodeToString(r.Hash[:]) + "}"
	if got := s.RecordKey(r.Hash); got != key {
		t.Fatalf("RecordKey = %q, want %q", got, key)
	}
	// The store rounds an expiry up to the next millisecond (PXAT), so that
	// a key never expires before its deadline: up to 5s and that millisecond.
	if ttl := c.PTTL(t.Context(), key).Val(); ttl <= 0 || ttl > 5*time.Second+time.Millisecond {
		t.Fatalf("TTL after Create = %v, want up to 5s (plus the millisecond of rounding)", ttl)
	}
	m := &storage.Merge{Kind: storage.KindBrowser, Now: storetest.Now(), IdleTimeout: time.Hour,
		Changes: []storage.Change{{Key: "a", Value: []byte("1")}}}
	got, err := s.Merge(t.Context(), r.Hash, m)
	if err != nil {
		t.Fatal(err)
	}
	ttl := c.PTTL(t.Context(), key).Val()
	if want := time.Until(got.IdleExpiresAt); ttl < want-time.Second || ttl > want+time.Second {
		t.Fatalf("TTL after Merge = %v, want the new idle deadline, %v away", ttl, want)
	}
}
