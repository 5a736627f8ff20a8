package memstore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// check verifies every index of st against the entries, with all locks held.
func (st *Store) check(t *testing.T) {
	t.Helper()
	for i := range st.shards {
		st.shards[i].mu.Lock()
		defer st.shards[i].mu.Unlock()
	}
	for i := range st.ids {
		st.ids[i].mu.Lock()
		defer st.ids[i].mu.Unlock()
	}
	live := 0
	for i := range st.shards {
		sh := &st.shards[i]
		used, blobs := 0, 0
		for local := range sh.top {
			e := sh.at(local)
			if e.flags&flagUsed == 0 {
				continue
			}
			used++
			if e.blob != 0 {
				blobs++
			}
			if v := sh.lookup(&e.hash); v != local+1 {
				t.Errorf("shard %d entry %d: hash index gives %d", i, local, v)
			}
			if e.state != storage.StateLive {
				if e.prev != 0 || e.next != 0 {
					t.Errorf("shard %d entry %d: tombstone in a subject chain", i, local)
				}
				continue
			}
			live++
			k := st.entryIDKey(sh, e)
			if v := st.idShardOf(&k).get(st, &k); v != sh.ref(local)+1 {
				t.Errorf("shard %d entry %d (ID %q): ID index gives %#x, want %#x", i, local, sh.record(e).ID, v, sh.ref(local)+1)
			}
			if e.subjLen > 0 {
				found := false
				for _, l := range sh.chain(maphash.Bytes(st.seed, sh.subject(e)), string(sh.subject(e)), nil) {
					found = found || l == local
				}
				if !found {
					t.Errorf("shard %d entry %d: not in the chain of %q", i, local, sh.subject(e))
				}
			}
		}
		if used != sh.byHash.n {
			t.Errorf("shard %d: %d entries in use, hash index holds %d", i, used, sh.byHash.n)
		}
		if int(sh.top)-len(sh.free) != used {
			t.Errorf("shard %d: top %d - %d free != %d in use", i, sh.top, len(sh.free), used)
		}
		if n := sh.arena.inUse(); n != blobs {
			t.Errorf("shard %d: arena holds %d blobs, entries have %d", i, n, blobs)
		}
	}
	indexed := 0
	for i := range st.ids {
		indexed += st.ids[i].tab.n + len(st.ids[i].odd)
	}
	if indexed != live {
		t.Errorf("ID index holds %d IDs, %d records are live", indexed, live)
	}
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
	}{
		{"defaults", nil},
		{"one shard", &Options{Shards: 1}},
		{"256 shards", &Options{Shards: 256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storage.Store {
				s := New(tt.opts)
				t.Cleanup(func() {
					s.Close()
					s.check(t)
				})
				return s
			})
		})
	}
}

// TestEntrySize keeps an entry at 152 bytes on 64-bit platforms, so that a
// chunk of 256 fits in 5 pages of 8 KiB and the benchmark's heap bytes per
// session hold.
func TestEntrySize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes differ on 32-bit platforms")
	}
	if got := unsafe.Sizeof(entry{}); got != 152 {
		t.Errorf("entry is %d bytes, want 152", got)
	}
}

// TestEntryHoldsNoPointers keeps the slab invisible to the garbage
// collector: a pointer in entry would make every collection visit every
// session again (see arena).
func TestEntryHoldsNoPointers(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		case reflect.Array:
			walk(typ.Elem(), path+"[]")
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		default:
			t.Errorf("entry%s is a %s, which holds a pointer", path, typ.Kind())
		}
	}
	walk(reflect.TypeFor[entry](), "")
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name   string
		opts   *Options
		shards int
	}{
		{"nil", nil, 64},
		{"zero", &Options{}, 64},
		{"one", &Options{Shards: 1}, 1},
		{"rounded up", &Options{Shards: 3}, 4},
		{"capped", &Options{Shards: 100000}, 256},
		{"negative", &Options{Shards: -5}, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.opts)
			defer s.Close()
			if got := len(s.shards); got != tt.shards {
				t.Errorf("shards = %d, want %d", got, tt.shards)
			}
		})
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{storetest.NewID(), true},
		{"AAAAAAAAAAAAAAAAAAAAAA", true},
		{"_____________________w", true},
		{"AAAAAAAAAAAAAAAAAAAAAB", false}, // stray low bits
		{"AAAAAAAAAAAAAAAAAAAA+/", false}, // standard alphabet
		{"AAAAAAAAAA\nAAAAAAAAAAA", false},
		{"AAAAAAAAAAAAAAAAAAAA\r\n", false},
		{"AAAAAAAAAAAAAAAAAAAAA", false},
		{"AAAAAAAAAAAAAAAAAAAAAAA", false},
		{"AAAAAAAAAAAAAAAAAAAAAA==", false},
		{"", false},
		{"AAAAAAAAAAAAAAAAAAAA\x00A", false},
	}
	for _, tt := range tests {
		b, ok := parseID(tt.id)
		if ok != tt.want {
			t.Errorf("parseID(%q) ok = %v, want %v", tt.id, ok, tt.want)
			continue
		}
		if ok {
			e := entry{id: b}
			if got := e.canonicalID(); got != tt.id {
				t.Errorf("parseID(%q) does not round-trip: %q", tt.id, got)
			}
		}
	}
}

func TestTimesRoundTrip(t *testing.T) {
	tests := []time.Time{
		{},
		time.Unix(0, 0).UTC(), // the epoch is not the zero time
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2026, 11, 24, 10, 0, 0, 123456000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	for _, tt := range tests {
		got := fromMicro(toMicro(tt))
		if !got.Equal(tt) || got.IsZero() != tt.IsZero() {
			t.Errorf("round trip of %v gave %v", tt, got)
		}
	}
}

func TestBucketOf(t *testing.T) {
	tests := []struct {
		us   int64
		want int32
	}{
		{0, 0},
		{bucketUS - 1, 0},
		{bucketUS, 1},
		{-1, -1},
		{-bucketUS, -1},
		{-bucketUS - 1, -2},
		{zeroMicro, int32(zeroMicro / bucketUS)},
		{1 << 62, 1<<31 - 1},
		{-1 << 62, -1 << 31},
	}
	for _, tt := range tests {
		if got := bucketOf(tt.us); got != tt.want {
			t.Errorf("bucketOf(%d) = %d, want %d", tt.us, got, tt.want)
		}
	}
}

func rec(subject string, now time.Time, idle time.Duration) *storage.Record {
	r := storetest.NewRecord(subject)
	r.CreatedAt, r.RenewedAt, r.LastSeenAt = now, now, now
	r.IdleExpiresAt = now.Add(idle)
	r.ExpiresAt = now.Add(12 * time.Hour)
	return r
}

// TestDeleteExpiredBuckets checks the exact counts DeleteExpired returns,
// its limit, and the one-minute granularity of expiry.
func TestDeleteExpiredBuckets(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := New(&Options{SweepInterval: -1})
	defer s.Close()
	var soon, later []*storage.Record
	for i := range 10 {
		r := rec("user-"+strconv.Itoa(i%3), t0, 5*time.Minute+time.Duration(i)*time.Second)
		soon = append(soon, r)
		mustCreate(t, s, r)
	}
	for range 5 {
		r := rec("user-0", t0, 2*time.Hour)
		later = append(later, r)
		mustCreate(t, s, r)
	}
	// Within the minute that holds the deadlines, nothing is dropped yet.
	if n, err := s.DeleteExpired(ctx, t0.Add(5*time.Minute+30*time.Second), 100); err != nil || n != 0 {
		t.Errorf("DeleteExpired inside the deadline's minute = %d, %v; want 0, nil", n, err)
	}
	var got []int
	for {
		n, err := s.DeleteExpired(ctx, t0.Add(10*time.Minute), 3)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		got = append(got, n)
	}
	if fmt.Sprint(got) != "[3 3 3 1]" {
		t.Errorf("DeleteExpired(limit 3) returned %v, want [3 3 3 1]", got)
	}
	for _, r := range soon {
		if _, err := s.Get(ctx, r.Hash); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(expired): %v, want ErrNotFound", err)
		}
	}
	l, err := s.List(ctx, "user-0")
	if err != nil || len(l) != len(later) {
		t.Errorf("List(user-0) = %d records, %v; want %d", len(l), err, len(later))
	}
	s.check(t)
}

// TestDeadlineMoves checks that an entry whose deadline moved later is not
// dropped at its old deadline, and one whose deadline moved earlier is
// dropped at the new one.
func TestDeadlineMoves(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := New(&Options{SweepInterval: -1})
	defer s.Close()
	later := rec("alice", t0, 10*time.Minute)
	earlier := rec("alice", t0, 3*time.Hour)
	mustCreate(t, s, later)
	mustCreate(t, s, earlier)
	later.IdleExpiresAt = t0.Add(2 * time.Hour)
	earlier.IdleExpiresAt = t0.Add(20 * time.Minute)
	for _, r := range []*storage.Record{later, earlier} {
		if err := s.Update(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.DeleteExpired(ctx, t0.Add(30*time.Minute), 100); n != 1 {
		t.Errorf("DeleteExpired(+30m) = %d, want 1", n)
	}
	if _, err := s.Get(ctx, later.Hash); err != nil {
		t.Errorf("Get(moved later): %v", err)
	}
	if _, err := s.Get(ctx, earlier.Hash); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get(moved earlier): %v, want ErrNotFound", err)
	}
	if n, _ := s.DeleteExpired(ctx, t0.Add(3*time.Hour), 100); n != 1 {
		t.Errorf("DeleteExpired(+3h) = %d, want 1", n)
	}
	s.check(t)
}

// TestBackgroundSweep runs the sweep goroutine on synctest's fake clock.
func TestBackgroundSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := New(nil)
		now := time.Now().UTC()
		short := rec("alice", now, 90*time.Second)
		long := rec("alice", now, time.Hour)
		mustCreate(t, s, short)
		mustCreate(t, s, long)

		time.Sleep(5 * time.Minute) // fake time: five sweeps
		synctest.Wait()
		if _, err := s.Get(ctx, short.Hash); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(expired) after sweeps: %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, long.Hash); err != nil {
			t.Errorf("Get(live): %v", err)
		}
		s.Close()
		s.Close() // a second Close is harmless
		time.Sleep(2 * time.Hour)
		// No sweep after Close: the record stays until DeleteExpired.
		if _, err := s.Get(ctx, long.Hash); err != nil {
			t.Errorf("Get after Close: %v", err)
		}
		if n, err := s.DeleteExpired(ctx, time.Now(), 10); n != 1 || err != nil {
			t.Errorf("DeleteExpired after Close = %d, %v; want 1, nil", n, err)
		}
	})
}

// TestNowOption checks that the background sweep asks the Store's clock.
func TestNowOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		s := New(&Options{now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }, SweepInterval: time.Second})
		defer s.Close()
		r := rec("alice", clock, 10*time.Minute)
		mustCreate(t, s, r)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if _, err := s.Get(t.Context(), r.Hash); err != nil {
			t.Fatalf("Get before the clock moved: %v", err)
		}
		mu.Lock()
		clock = clock.Add(time.Hour)
		mu.Unlock()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if _, err := s.Get(t.Context(), r.Hash); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get after the clock moved: %v, want ErrNotFound", err)
		}
	})
}

func mustCreate(t *testing.T, s *Store, r *storage.Record) {
	t.Helper()
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func TestRotateErrors(t *testing.T) {
	ctx := t.Context()
	s := New(nil)
	defer s.Close()
	old := storetest.NewRecord("alice")
	taken := storetest.NewRecord("bob")
	mustCreate(t, s, old)
	mustCreate(t, s, taken)
	tests := []struct {
		name string
		old  func() *storage.Record
		next func() *storage.Record
		want error // nil: any non-nil error that is none of the sentinels
	}{
		{"other ID", old.Clone, func() *storage.Record { return storetest.NewRecord("alice") }, nil},
		{"next hash taken", old.Clone, func() *storage.Record {
			n := storetest.NewRecord("alice")
			n.ID, n.Hash = old.ID, taken.Hash
			return n
		}, storage.ErrExists},
		{"next hash is old hash", old.Clone, func() *storage.Record {
			n := storetest.NewRecord("alice")
			n.ID, n.Hash = old.ID, old.Hash
			return n
		}, storage.ErrExists},
		{"wrong subject", func() *storage.Record { o := old.Clone(); o.Subject = "mallory"; return o }, func() *storage.Record {
			n := storetest.NewRecord("mallory")
			n.ID = old.ID
			return n
		}, storage.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, n := tt.old(), tt.next()
			err := s.Rotate(ctx, o, n, time.Time{})
			switch {
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("Rotate: %v, want %v", err, tt.want)
			case tt.want == nil && (err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrExists)):
				t.Errorf("Rotate: %v, want a usage error", err)
			}
			got, err := s.Get(ctx, old.Hash)
			if err != nil || got.State != storage.StateLive || got.Version != 1 {
				t.Errorf("old record changed: %v, %v", got, err)
			}
			if o.Version != 1 {
				t.Errorf("old.Version = %d, want 1", o.Version)
			}
			s.check(t)
		})
	}
}

// TestGetByIDDuringRotate checks that an ID that is always live is always
// found, while its session is rotated from shard to shard.
func TestGetByIDDuringRotate(t *testing.T) {
	ctx := t.Context()
	s := New(&Options{Shards: 4})
	defer s.Close()
	cur := storetest.NewRecord("alice")
	mustCreate(t, s, cur)
	id := cur.ID
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for range 2000 {
			next := storetest.NewRecord("alice")
			next.ID = id
			if err := s.Rotate(ctx, cur, next, time.Time{}); err != nil {
				t.Errorf("Rotate: %v", err)
				return
			}
			cur = next
		}
	})
	for i := 0; ; i++ {
		select {
		case <-done:
			wg.Wait()
			s.check(t)
			return
		default:
		}
		if _, err := s.GetByID(ctx, id); err != nil {
			t.Fatalf("GetByID during rotations (call %d): %v", i, err)
		}
		if l, err := s.List(ctx, "alice"); err != nil || len(l) != 1 {
			t.Fatalf("List during rotations (call %d) = %d records, %v; want 1", i, len(l), err)
		}
	}
}

// TestDeleteSubjectDuringRotate checks that sessions being rotated from
// shard to shard cannot escape DeleteSubject.
func TestDeleteSubjectDuringRotate(t *testing.T) {
	ctx := t.Context()
	const sessions = 4
	for round := range 100 {
		s := New(&Options{Shards: 256, SweepInterval: -1})
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range sessions {
			cur := storetest.NewRecord("alice")
			mustCreate(t, s, cur)
			wg.Go(func() {
				<-start
				for {
					next := storetest.NewRecord("alice")
					next.ID = cur.ID
					if err := s.Rotate(ctx, cur, next, time.Time{}); err != nil {
						if !errors.Is(err, storage.ErrNotFound) {
							t.Errorf("Rotate: %v", err)
						}
						return
					}
					cur = next
				}
			})
		}
		close(start)
		n, err := s.DeleteSubject(ctx, "alice", "")
		if err != nil || n != sessions {
			t.Fatalf("round %d: DeleteSubject = %d, %v; want %d, nil", round, n, err, sessions)
		}
		wg.Wait()
		if l, _ := s.List(ctx, "alice"); len(l) != 0 {
			t.Fatalf("round %d: %d sessions of alice survived DeleteSubject", round, len(l))
		}
		s.check(t)
		s.Close()
	}
}

// TestMixedLoad runs every operation at once on a few subjects and then
// checks the indexes.
func TestMixedLoad(t *testing.T) {
	ctx := t.Context()
	s := New(&Options{Shards: 4, SweepInterval: -1})
	defer s.Close()
	subjects := []string{"", "alice", "bob", "carol\x00", "{dave}"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			now := storetest.Now()
			for i := range 300 {
				sub := subjects[(w+i)%len(subjects)]
				r := storetest.NewRecord(sub)
				if i%4 == 0 {
					r.IdleExpiresAt = now.Add(-time.Hour) // already expired
				}
				if i%7 == 0 {
					r.ID = fmt.Sprintf("odd id %d/%d", w, i)
					r.IP = "192.0.2.1"
				}
				if err := s.Create(ctx, r); err != nil {
					t.Errorf("Create: %v", err)
					return
				}
				switch i % 5 {
				case 0:
					r.Data = []byte(`{"n":1}`)
					s.Update(ctx, r)
				case 1:
					next := storetest.NewRecord(subjects[(w+i+1)%len(subjects)])
					next.ID = r.ID
					s.Rotate(ctx, r, next, now.Add(time.Minute))
				case 2:
					s.DeleteByID(ctx, r.ID)
				case 3:
					s.DeleteSubject(ctx, sub, r.ID)
				case 4:
					s.DeleteExpired(ctx, now, 5)
				}
				s.GetByID(ctx, r.ID)
				s.List(ctx, sub)
			}
		})
	}
	wg.Wait()
	s.check(t)
	// Every session the subject lists is found by its ID, and the reverse.
	for _, sub := range subjects[1:] {
		l, err := s.List(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l {
			g, err := s.GetByID(ctx, r.ID)
			if err != nil || g.Hash != r.Hash {
				t.Errorf("List(%q) has %q, GetByID gives %v, %v", sub, r.ID, g, err)
			}
		}
	}
	if _, err := s.DeleteExpired(ctx, storetest.Now().Add(24*time.Hour), 1<<30); err != nil {
		t.Fatal(err)
	}
	s.check(t)
	for i := range s.shards {
		if n := s.shards[i].byHash.n; n != 0 {
			t.Errorf("shard %d holds %d entries after everything expired", i, n)
		}
	}
}

// TestSlotsReused checks that freed slots are reused rather than the slab
// growing.
func TestSlotsReused(t *testing.T) {
	ctx := t.Context()
	s := New(&Options{Shards: 2, SweepInterval: -1})
	defer s.Close()
	now := storetest.Now()
	top := func() (n uint32) {
		for i := range s.shards {
			n += s.shards[i].top
		}
		return n
	}
	for round := range 3 {
		for range 1000 {
			mustCreate(t, s, rec("alice", now, time.Minute))
		}
		if n, _ := s.DeleteExpired(ctx, now.Add(time.Hour), 1<<30); n != 1000 {
			t.Fatalf("round %d: DeleteExpired = %d, want 1000", round, n)
		}
		if got := top(); got > 1100 {
			t.Fatalf("round %d: %d slots handed out for 1000 sessions at a time", round, got)
		}
	}
	s.check(t)
}

// TestDeleteSubjectBatches checks DeleteSubject over more sessions of one
// subject in one shard than one batch holds.
func TestDeleteSubjectBatches(t *testing.T) {
	ctx := t.Context()
	s := New(&Options{Shards: 1, SweepInterval: -1})
	defer s.Close()
	const n = 3*sweepBatch + 7
	var keep *storage.Record
	for i := range n {
		r := storetest.NewRecord("alice")
		mustCreate(t, s, r)
		if i == n/2 {
			keep = r
		}
	}
	mustCreate(t, s, storetest.NewRecord("bob"))
	got, err := s.DeleteSubject(ctx, "alice", keep.ID)
	if err != nil || got != n-1 {
		t.Fatalf("DeleteSubject = %d, %v; want %d", got, err, n-1)
	}
	if l, _ := s.List(ctx, "alice"); len(l) != 1 || l[0].ID != keep.ID {
		t.Errorf("List(alice) after DeleteSubject = %d records, want only the kept one", len(l))
	}
	if l, _ := s.List(ctx, "bob"); len(l) != 1 {
		t.Errorf("List(bob) = %d records, want 1", len(l))
	}
	s.check(t)
}

// TestBackgroundSweepDefault: a store made with New(nil) drops expired
// records one minute after New, and not before, without anyone calling
// DeleteExpired; with SweepInterval negative it does not.
func TestBackgroundSweepDefault(t *testing.T) {
	tests := []struct {
		name  string
		opts  *Options
		every time.Duration
	}{
		{"default", nil, time.Minute},
		{"off", &Options{SweepInterval: -1}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.BackgroundSweep(t, tt.every, func(t *testing.T) storage.Store {
				s := New(tt.opts)
				t.Cleanup(s.Close)
				return s
			})
		})
	}
}
