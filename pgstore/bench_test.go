package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/storetest"
)

func benchRecord(b *testing.B, s keycard.Store) *keycard.Record {
	r := storetest.NewRecord("alice")
	r.IP, r.UserAgent = "192.0.2.1", "Mozilla/5.0 (X11; Linux x86_64) Keycard-bench"
	r.Data = []byte(`{"cart":[1,2,3],"theme":"dark","csrf":"0123456789abcdef0123456789abcdef"}`)
	if err := s.Create(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkRawSelect is the floor: one pgx primary-key SELECT of one column
// of the same row, through the same pool.
func BenchmarkRawSelect(b *testing.B) {
	s := newStore(b)
	pool := newPool(b, testserver.SharedPostgres(b))
	r := benchRecord(b, s)
	ctx := context.Background()
	q := `SELECT data FROM ` + s.TableName() + ` WHERE hash = $1`
	var data []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := pool.QueryRow(ctx, q, r.Hash[:]).Scan(&data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := newStore(b)
	r := benchRecord(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Get(ctx, r.Hash); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	s := newStore(b)
	r := benchRecord(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.LastSeenAt = r.LastSeenAt.Add(time.Microsecond)
		if err := s.Update(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRotate(b *testing.B) {
	s := newStore(b)
	cur := benchRecord(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		next := cur.Clone()
		_, next.Hash = keycard.NewToken()
		if err := s.Rotate(ctx, cur, next, time.Now().Add(30*time.Second)); err != nil {
			b.Fatal(err)
		}
		cur = next
	}
}

// BenchmarkGetVsRaw alternates a raw SELECT and a Get on the same row, so
// that both see the same machine load, and reports their ratio.
func BenchmarkGetVsRaw(b *testing.B) {
	s := newStore(b)
	pool := newPool(b, testserver.SharedPostgres(b))
	r := benchRecord(b, s)
	ctx := context.Background()
	q := `SELECT data FROM ` + s.TableName() + ` WHERE hash = $1`
	var data []byte
	var raw, get time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := pool.QueryRow(ctx, q, r.Hash[:]).Scan(&data); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := s.Get(ctx, r.Hash); err != nil {
			b.Fatal(err)
		}
		get += time.Since(t1)
		raw += t1.Sub(t0)
	}
	b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(get.Nanoseconds())/float64(b.N), "get-ns/op")
	b.ReportMetric(float64(get)/float64(raw), "get/raw")
}
