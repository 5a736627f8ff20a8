package memstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// benchBase is the fixed clock of the benchmarks.
var benchBase = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// benchHash returns a token hash derived from i, so that benchmarks need not
// keep a million hashes on the heap they measure.
func benchHash(i int) storage.Hash {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(b[:])
}

func benchID(i int) string {
	h := benchHash(-1 - i)
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

// benchRecord is a typical logged-in session: a subject like "user-123456",
// an ID, Data {"k":"v"}, no IP or user agent. Every other session's idle
// deadline falls 30 minutes after benchBase, the rest two hours after.
func benchRecord(i int) *storage.Record {
	idle := benchBase.Add(2 * time.Hour)
	if i%2 == 0 {
		idle = benchBase.Add(30 * time.Minute)
	}
	return &storage.Record{
		Hash:            benchHash(i),
		ID:              benchID(i),
		Subject:         fmt.Sprintf("user-%06d", i),
		Kind:            storage.KindBrowser,
		CreatedAt:       benchBase,
		AuthenticatedAt: benchBase,
		RenewedAt:       benchBase,
		LastSeenAt:      benchBase,
		IdleExpiresAt:   idle.Add(time.Duration(i%60) * time.Second),
		ExpiresAt:       benchBase.Add(12 * time.Hour),
		Data:            []byte(`{"k":"v"}`),
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// readDuring calls Get in a loop on another goroutine while f runs and
// returns the latency of every Get.
func readDuring(st *Store, n int, f func()) []time.Duration {
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	lat := make([]time.Duration, 0, 1<<18)
	started := make(chan struct{})
	wg.Go(func() {
		close(started)
		for i := 0; !stop.Load(); i++ {
			h := benchHash(int(uint64(i) * 2654435761 % uint64(n)))
			t0 := time.Now()
			st.Get(ctx, h)
			lat = append(lat, time.Since(t0))
		}
	})
	<-started
	f()
	stop.Store(true)
	wg.Wait()
	return lat
}

// gapsDuring runs a loop that only reads the clock, on another goroutine,
// for d and returns the gaps between successive readings over 50µs: the
// stalls of a thread that touches no store, allocates nothing and takes no
// lock, which only the machine and the Go runtime can cause.
func gapsDuring(d time.Duration) []time.Duration {
	var gaps []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		prev := start
		for prev.Sub(start) < d {
			now := time.Now()
			if g := now.Sub(prev); g > 50*time.Microsecond {
				gaps = append(gaps, g)
			}
			prev = now
		}
	}()
	<-done
	return gaps
}

// latencyStats returns the longest, the 99.9th percentile and the number
// over one millisecond.
func latencyStats(lat []time.Duration) (longest, p999 time.Duration, over1ms int) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	for _, d := range s {
		if d > time.Millisecond {
			over1ms++
		}
	}
	return s[len(s)-1], s[len(s)*999/1000], over1ms
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkMillionSessions fills a Store with 1,000,000 live sessions and
// reports:
//
//   - B/session: heap bytes per session (HeapAlloc after runtime.GC);
//   - max-create-ms, max-create-cpu-ms: the longest Create, index growth
//     included, in wall time and in CPU time of its thread (Linux);
//   - max-stall-ms, p999-stall-ms, gets-over-1ms: the latency of Gets on a
//     concurrent reader while the sweep drops the half of the sessions that
//     expired (sweep-ms);
//   - idle-max-stall-ms, idle-p999-stall-ms, idle-gets-over-1ms: the same
//     reader for as long with no sweep running;
//   - noise-max-gap-ms, noise-gaps-over-1ms: for as long again, a loop that
//     only reads the clock (see gapsDuring): the noise of the machine, which
//     no store can go below;
//   - max-batch-ms and max-batch-cpu-ms: the longest single batch (one shard
//     lock hold) while the other half expires, in wall time and in CPU time
//     of its thread (Linux), which a busy machine does not inflate.
func BenchmarkMillionSessions(b *testing.B) {
	b.Run("background", func(b *testing.B) { benchmarkMillion(b, sweepPause) })
	b.Run("DeleteExpired", func(b *testing.B) { benchmarkMillion(b, 0) })
}

// benchmarkMillion runs BenchmarkMillionSessions with the sweep of the
// background goroutine (pause > 0) or of DeleteExpired.
func benchmarkMillion(b *testing.B, pause time.Duration) {
	const n = 1_000_000
	ctx := context.Background()
	for b.Loop() {
		before := heapAlloc()
		st := New(&Options{SweepInterval: -1, now: func() time.Time { return benchBase }})
		var maxCreate, maxCreateCPU time.Duration
		runtime.LockOSThread()
		for i := range n {
			r := benchRecord(i)
			t0, c0 := time.Now(), threadCPU()
			if err := st.Create(ctx, r); err != nil {
				b.Fatal(err)
			}
			maxCreateCPU = max(maxCreateCPU, threadCPU()-c0)
			maxCreate = max(maxCreate, time.Since(t0))
		}
		runtime.UnlockOSThread()
		after := heapAlloc()

		var dropped int
		var err error
		var sweepTime time.Duration
		lat := readDuring(st, n, func() {
			t0 := time.Now()
			dropped, err = st.sweep(ctx, toMicro(benchBase.Add(time.Hour)), math.MaxInt, pause)
			sweepTime = time.Since(t0)
		})
		if err != nil || dropped != n/2 {
			b.Fatalf("sweep dropped %d, %v; want %d", dropped, err, n/2)
		}
		idle := readDuring(st, n, func() { time.Sleep(sweepTime) })
		gaps := gapsDuring(sweepTime)

		// The other half, one batch at a time, timing each lock hold.
		runtime.LockOSThread()
		var maxBatch, maxBatchCPU time.Duration
		now := toMicro(benchBase.Add(3 * time.Hour))
		total := 0
		for more := true; more; {
			more = false
			for i := range st.shards {
				t0, c0 := time.Now(), threadCPU()
				d, again := st.shards[i].sweep(now, sweepBatch, math.MaxInt)
				maxBatchCPU = max(maxBatchCPU, threadCPU()-c0)
				maxBatch = max(maxBatch, time.Since(t0))
				total += d
				more = more || again
			}
		}
		runtime.UnlockOSThread()
		if total != n/2 {
			b.Fatalf("second sweep dropped %d, want %d", total, n/2)
		}

		b.ReportMetric(float64(after-before)/n, "B/session")
		b.ReportMetric(ms(maxCreate), "max-create-ms")
		b.ReportMetric(ms(maxCreateCPU), "max-create-cpu-ms")
		longest, p999, over := latencyStats(lat)
		b.ReportMetric(ms(longest), "max-stall-ms")
		b.ReportMetric(ms(p999), "p999-stall-ms")
		b.ReportMetric(float64(over), "gets-over-1ms")
		longest, p999, over = latencyStats(idle)
		b.ReportMetric(ms(longest), "idle-max-stall-ms")
		b.ReportMetric(ms(p999), "idle-p999-stall-ms")
		b.ReportMetric(float64(over), "idle-gets-over-1ms")
		longest, _, over = latencyStats(gaps)
		b.ReportMetric(ms(longest), "noise-max-gap-ms")
		b.ReportMetric(float64(over), "noise-gaps-over-1ms")
		b.ReportMetric(ms(maxBatch), "max-batch-ms")
		b.ReportMetric(ms(maxBatchCPU), "max-batch-cpu-ms")
		b.ReportMetric(float64(sweepTime.Milliseconds()), "sweep-ms")
		b.ReportMetric(float64(len(lat)), "gets-during-sweep")
		runtime.KeepAlive(st)
	}
}

// fill returns a store holding n benchmark sessions.
func fill(b *testing.B, n int) *Store {
	st := New(&Options{SweepInterval: -1})
	b.Cleanup(st.Close)
	for i := range n {
		if err := st.Create(context.Background(), benchRecord(i)); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

const benchSize = 100_000

func BenchmarkGet(b *testing.B) {
	st := fill(b, benchSize)
	ctx := context.Background()
	hashes := make([]storage.Hash, 1024)
	for i := range hashes {
		hashes[i] = benchHash(i * 97 % benchSize)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.Get(ctx, hashes[i%len(hashes)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGetParallel(b *testing.B) {
	st := fill(b, benchSize)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := st.Get(ctx, benchHash(i%benchSize)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkGetByID(b *testing.B) {
	st := fill(b, benchSize)
	ctx := context.Background()
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = benchID(i * 97 % benchSize)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.GetByID(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkUpdate(b *testing.B) {
	st := fill(b, benchSize)
	ctx := context.Background()
	recs := make([]*storage.Record, 1024)
	for i := range recs {
		r, err := st.Get(ctx, benchHash(i*97%benchSize))
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = r
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := recs[i%len(recs)]
		r.LastSeenAt = r.LastSeenAt.Add(time.Second)
		r.IdleExpiresAt = r.IdleExpiresAt.Add(time.Second)
		if err := st.Update(ctx, r); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCreate(b *testing.B) {
	st := New(&Options{SweepInterval: -1})
	b.Cleanup(st.Close)
	ctx := context.Background()
	recs := make([]*storage.Record, b.N)
	for i := range recs {
		recs[i] = benchRecord(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := st.Create(ctx, recs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRotate(b *testing.B) {
	st := fill(b, benchSize)
	ctx := context.Background()
	cur := make([]*storage.Record, benchSize)
	for i := range cur {
		cur[i] = benchRecord(i)
		cur[i].Version = 1
	}
	nexts := make([]*storage.Record, b.N)
	for i := range nexts {
		nexts[i] = benchRecord(benchSize + i)
		nexts[i].Subject = cur[i%benchSize].Subject
	}
	grace := benchBase.Add(30 * time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := i % benchSize
		next := nexts[i]
		next.ID = cur[j].ID
		if err := st.Rotate(ctx, cur[j], next, grace); err != nil {
			b.Fatal(err)
		}
		cur[j] = next
	}
}

func BenchmarkList(b *testing.B) {
	st := New(&Options{SweepInterval: -1})
	b.Cleanup(st.Close)
	ctx := context.Background()
	for i := range benchSize {
		r := benchRecord(i)
		r.Subject = fmt.Sprintf("user-%06d", i%(benchSize/5)) // 5 sessions per user
		if err := st.Create(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l, err := st.List(ctx, fmt.Sprintf("user-%06d", i%(benchSize/5)))
		if err != nil || len(l) != 5 {
			b.Fatal(len(l), err)
		}
		i++
	}
}
