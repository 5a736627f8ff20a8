package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/redisstore"
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

func benchRecord(b *testing.B, s keycard.Store) *keycard.Record {
	r := storetest.NewRecord("alice")
	r.IP, r.UserAgent = "192.0.2.1", "Mozilla/5.0 (X11; Linux x86_64) Keycard-bench"
	r.Data = []byte(`{"cart":[1,2,3],"theme":"dark","csrf":"0123456789abcdef0123456789abcdef"}`)
	if err := s.Create(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkRawGet is the floor: one GET of a value the size of a record.
func BenchmarkRawGet(b *testing.B) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			ctx := context.Background()
			r := benchRecord(b, tg.store)
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

func BenchmarkGet(b *testing.B) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			ctx := context.Background()
			r := benchRecord(b, tg.store)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := tg.store.Get(ctx, r.Hash); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			ctx := context.Background()
			r := benchRecord(b, tg.store)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.LastSeenAt = r.LastSeenAt.Add(time.Microsecond)
				if err := tg.store.Update(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRotate(b *testing.B) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			ctx := context.Background()
			cur := benchRecord(b, tg.store)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				next := cur.Clone()
				_, next.Hash = keycard.NewToken()
				if err := tg.store.Rotate(ctx, cur, next, time.Now().Add(30*time.Second)); err != nil {
					b.Fatal(err)
				}
				cur = next
			}
		})
	}
}

// BenchmarkGetVsRaw alternates a raw GET of a value the size of a record and
// a Get, so that both see the same machine load, and reports their ratio.
func BenchmarkGetVsRaw(b *testing.B) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			ctx := context.Background()
			r := benchRecord(b, tg.store)
			key := "keycard-bench-raw:" + r.ID
			if err := tg.c.Set(ctx, key, make([]byte, 220), time.Hour).Err(); err != nil {
				b.Fatal(err)
			}
			var raw, get time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := tg.c.Get(ctx, key).Bytes(); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := tg.store.Get(ctx, r.Hash); err != nil {
					b.Fatal(err)
				}
				get += time.Since(t1)
				raw += t1.Sub(t0)
			}
			b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns/op")
			b.ReportMetric(float64(get.Nanoseconds())/float64(b.N), "get-ns/op")
			b.ReportMetric(float64(get)/float64(raw), "get/raw")
		})
	}
}
