package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// benchTargets returns the client and Store of each deployment benchmarked.
func benchTargets(b *testing.B) []struct {
	name  string
	c     redis.UniversalClient
	store *redisstore.Store
} {
	srv := testserver.SharedRedis(b)
	cl := testserver.SharedRedisCluster(b)
	sc := standaloneClient(b, srv.Addr)
	cc := clusterClient(b, cl.Addrs())
	mk := func(c redis.UniversalClient) *redisstore.Store {
		s, err := redisstore.New(c, &redisstore.Options{Prefix: prefix()})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	return []struct {
		name  string
		c     redis.UniversalClient
		store *redisstore.Store
	}{{"standalone", sc, mk(sc)}, {"cluster", cc, mk(cc)}}
}

// BenchmarkRawGet is the floor: one GET of a value the size of a record.
func BenchmarkRawGet(b *testing.B) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			ctx := context.Background()
			r := storetest.BenchRecord(b, tg.store)
			s := tg.store
			got, _ := s.Get(ctx, r.Hash)
			val := make([]byte, 0, 256)
			val = append(val, got.Data...)
			val = append(val, got.UserAgent...)
			key := "keycard-bench-raw:" + r.ID
			if err := tg.c.Set(ctx, key, val, time.Hour).Err(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := tg.c.Get(ctx, key).Bytes(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet(b *testing.B)    { forTargets(b, storetest.BenchGet) }
func BenchmarkUpdate(b *testing.B) { forTargets(b, storetest.BenchUpdate) }
func BenchmarkRotate(b *testing.B) { forTargets(b, storetest.BenchRotate) }

func forTargets(b *testing.B, bench func(*testing.B, storage.Store)) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) { bench(b, tg.store) })
	}
}

// BenchmarkGetVsRaw alternates a raw GET of the record's key and a Get.
func BenchmarkGetVsRaw(b *testing.B) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			ctx := context.Background()
			r := storetest.BenchRecord(b, tg.store)
			key := tg.store.RecordKey(r.Hash)
			storetest.BenchGetVsRaw(b, tg.store, r, func() error { return tg.c.Get(ctx, key).Err() })
		})
	}
}

// BenchmarkRevocationPropagation: a revocation made through one Store (one
// Keycard node) reaching a watcher of another on the same Redis; median-ns
// and max-ns are the delay from the write returning to the event.
func BenchmarkRevocationPropagation(b *testing.B) {
	srv := testserver.SharedRedis(b)
	cl := testserver.SharedRedisCluster(b)
	pair := func(mk func() redis.UniversalClient) (*redisstore.Store, *redisstore.Store) {
		p := prefix()
		x, err := redisstore.New(mk(), &redisstore.Options{Prefix: p})
		if err != nil {
			b.Fatal(err)
		}
		y, err := redisstore.New(mk(), &redisstore.Options{Prefix: p})
		if err != nil {
			b.Fatal(err)
		}
		return x, y
	}
	targets := []struct {
		name string
		mk   func() redis.UniversalClient
	}{
		{"standalone", func() redis.UniversalClient { return standaloneClient(b, srv.Addr) }},
		{"cluster", func() redis.UniversalClient { return clusterClient(b, cl.Addrs()) }},
	}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			x, y := pair(tg.mk)
			storetest.BenchRevocationPropagation(b, x, y)
		})
	}
}
