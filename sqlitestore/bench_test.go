package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/sqlitestore"
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

func benchStores(b *testing.B) []struct {
	name string
	s    keycard.Store
} {
	dir := b.TempDir()
	return []struct {
		name string
		s    keycard.Store
	}{
		{"memstore", memstore.New(nil)},
		{"sqlite", open(b, filepath.Join(dir, "full.db"), nil)},
		{"sqlite-normal", open(b, filepath.Join(dir, "normal.db"), &sqlitestore.Options{SynchronousNormal: true})},
	}
}

func BenchmarkGet(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			r := benchRecord(b, st.s)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := st.s.Get(ctx, r.Hash); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			r := benchRecord(b, st.s)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.LastSeenAt = r.LastSeenAt.Add(time.Microsecond)
				if err := st.s.Update(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRotate(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			cur := benchRecord(b, st.s)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				next := cur.Clone()
				_, next.Hash = keycard.NewToken()
				if err := st.s.Rotate(ctx, cur, next, time.Now().Add(30*time.Second)); err != nil {
					b.Fatal(err)
				}
				cur = next
			}
		})
	}
}
