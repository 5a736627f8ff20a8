package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// BenchRecord creates in s a record the size of a typical browser session
// (client address, user agent, a few values) and returns it.
func BenchRecord(b *testing.B, s storage.Store) *storage.Record {
	r := NewRecord("alice")
	r.IP, r.UserAgent = "192.0.2.1", "Mozilla/5.0 (X11; Linux x86_64) Keycard-bench"
	r.Data = []byte(`{"cart":[1,2,3],"theme":"dark","csrf":"0123456789abcdef0123456789abcdef"}`)
	if err := s.Create(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchGet measures Get of a BenchRecord.
func BenchGet(b *testing.B, s storage.Store) {
	r := BenchRecord(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, r.Hash); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchUpdate measures Update of a BenchRecord, each moving LastSeenAt.
func BenchUpdate(b *testing.B, s storage.Store) {
	r := BenchRecord(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r.LastSeenAt = r.LastSeenAt.Add(time.Microsecond)
		if err := s.Update(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// benchMerge returns the merge BenchMerge and BenchGetUpdate apply to r,
// one value, at a time that each call moves on.
func benchMerge(r *storage.Record) func() *storage.Merge {
	m := &storage.Merge{Kind: r.Kind, Now: r.LastSeenAt, IdleTimeout: 30 * time.Minute,
		Changes: []storage.Change{{Key: "theme", Value: []byte(`"light"`)}}}
	return func() *storage.Merge {
		m.Now = m.Now.Add(time.Microsecond)
		return m
	}
}

// BenchMerge measures Merge of one value into a BenchRecord, each at a
// later time: the write of a request that sets a value without reading its
// session.
func BenchMerge(b *testing.B, s storage.Merger) {
	r := BenchRecord(b, s)
	next := benchMerge(r)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Merge(ctx, r.Hash, next()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchGetUpdate measures BenchMerge's writes without Merge: a Get of a
// BenchRecord, the same merge applied in Go (storage.Merge.Apply, which
// also moves the idle deadline) and an Update.
func BenchGetUpdate(b *testing.B, s storage.Store) {
	r := BenchRecord(b, s)
	next := benchMerge(r)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		cur, err := s.Get(ctx, r.Hash)
		if err != nil {
			b.Fatal(err)
		}
		if !next().Apply(cur) {
			b.Fatal("the merge does not apply")
		}
		if err := s.Update(ctx, cur); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchRotate measures Rotate of a BenchRecord to a new token, again and again.
func BenchRotate(b *testing.B, s storage.Store) {
	cur := BenchRecord(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		next := cur.Clone()
		next.Hash = NewHash()
		if err := s.Rotate(ctx, cur, next, time.Now().Add(30*time.Second)); err != nil {
			b.Fatal(err)
		}
		cur = next
	}
}

// BenchGetVsRaw alternates raw, the driver's own read of a value like r, and
// a Get of r, so that both see the same machine load, and reports their
// times and ratio (get/raw).
func BenchGetVsRaw(b *testing.B, s storage.Store, r *storage.Record, raw func() error) {
	ctx := context.Background()
	var rawTime, getTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := raw(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := s.Get(ctx, r.Hash); err != nil {
			b.Fatal(err)
		}
		getTime += time.Since(t1)
		rawTime += t1.Sub(t0)
	}
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(getTime.Nanoseconds())/float64(b.N), "get-ns/op")
	b.ReportMetric(float64(getTime)/float64(rawTime), "get/raw")
}
