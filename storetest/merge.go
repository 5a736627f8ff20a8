package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// mergeTests check the storage.Merger clauses; RunMerger always runs them,
// Run runs them on stores that implement Merger and skips them on others.
var mergeTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Merger)
}{
	{"MergeApplies", testMergeApplies},
	{"MergeIdleTimeouts", testMergeIdleTimeouts},
	{"MergeDeclines", testMergeDeclines},
	{"MergeAndCompareAndSwap", testMergeAndCompareAndSwap},
	{"MergeKeepsIndexes", testMergeKeepsIndexes},
	{"MergeThenEnd", testMergeThenEnd},
	{"ConcurrentMerges", testConcurrentMerges},
	{"ConcurrentMergesAndUpdates", func(t *testing.T, s storage.Merger) { MergesRaceUpdates(t, s, s) }},
	{"MergeHostileInputs", testMergeHostileInputs},
	{"MergeLargeValue", testMergeLargeValue},
	{"MergeContextCanceled", testMergeContextCanceled},
}

// merged returns what m makes of r under a conforming Merger: m.Apply's
// changes and the next version.
func merged(t *testing.T, r *storage.Record, m *storage.Merge) *storage.Record {
	t.Helper()
	want := r.Clone()
	if !m.Apply(want) {
		t.Fatalf("test bug: the merge does not apply to %s", r.ID)
	}
	want.Version = r.Version + 1
	return want
}

// mustMerge merges m into the record under h and checks both the returned
// record and the stored one against want.
func mustMerge(t *testing.T, s storage.Merger, h storage.Hash, m *storage.Merge, want *storage.Record) *storage.Record {
	t.Helper()
	got, err := s.Merge(ctx(t), h, m)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if d := Diff(got, want); d != "" {
		t.Errorf("Merge returned a record that differs:%s", d)
	}
	wantRecord(t, s, want)
	return got
}

func set(k, v string) storage.Change { return storage.Change{Key: k, Value: json.RawMessage(v)} }
func del(k string) storage.Change    { return storage.Change{Key: k} }

func testMergeApplies(t *testing.T, s storage.Merger) {
	r := fullRecord("alice")
	r.Kind = storage.KindBrowser
	r.IdleTimeout = 0
	r.Data = []byte(`{"keep":[1,2],"k":"v","gone":true}`)
	mustCreate(t, s, r)
	m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt.Add(time.Minute), IdleTimeout: 20 * time.Minute,
		Changes: []storage.Change{set("k", `"w"`), set("new", `{"a":null}`), del("gone"), set("k", `"last wins"`), del("never set")}}
	want := merged(t, r, m)
	if got := string(want.Data); got != `{"k":"last wins","keep":[1,2],"new":{"a":null}}` {
		t.Fatalf("test bug: MergeData gave %s", got)
	}
	got := mustMerge(t, s, r.Hash, m, want)

	// A second merge applies on top of the first, and deleting every key
	// leaves no data.
	m2 := &storage.Merge{Kind: storage.KindBrowser, Now: m.Now.Add(time.Second), IdleTimeout: 20 * time.Minute,
		Changes: []storage.Change{del("keep"), del("k"), del("new")}}
	want2 := merged(t, got, m2)
	if want2.Data != nil {
		t.Fatalf("test bug: MergeData gave %s, want nil", want2.Data)
	}
	mustMerge(t, s, r.Hash, m2, want2)

	// A record without data gets some.
	e := NewRecord("")
	e.Data = nil
	mustCreate(t, s, e)
	m3 := &storage.Merge{Kind: storage.KindBrowser, Now: e.LastSeenAt, IdleTimeout: time.Minute, Changes: []storage.Change{set("a", "1")}}
	mustMerge(t, s, e.Hash, m3, merged(t, e, m3))
}

// testMergeIdleTimeouts: the record's own idle timeout wins over the
// Manager's, and the idle deadline never passes the absolute one.
func testMergeIdleTimeouts(t *testing.T, s storage.Merger) {
	own := NewRecord("alice")
	own.IdleTimeout = 5*time.Minute + 7*time.Microsecond
	mustCreate(t, s, own)
	m := &storage.Merge{Kind: storage.KindBrowser, Now: own.LastSeenAt.Add(time.Second), IdleTimeout: time.Hour,
		Changes: []storage.Change{set("x", "1")}}
	want := merged(t, own, m)
	if !want.IdleExpiresAt.Equal(m.Now.Add(own.IdleTimeout)) {
		t.Fatalf("test bug: Apply set IdleExpiresAt %v", want.IdleExpiresAt)
	}
	mustMerge(t, s, own.Hash, m, want)

	capped := NewRecord("alice")
	capped.ExpiresAt = capped.LastSeenAt.Add(10 * time.Second)
	capped.IdleExpiresAt = capped.ExpiresAt
	mustCreate(t, s, capped)
	m = &storage.Merge{Kind: storage.KindBrowser, Now: capped.LastSeenAt.Add(time.Second), IdleTimeout: time.Hour,
		Changes: []storage.Change{set("x", "1")}}
	want = merged(t, capped, m)
	if !want.IdleExpiresAt.Equal(capped.ExpiresAt) {
		t.Fatalf("test bug: Apply set IdleExpiresAt %v", want.IdleExpiresAt)
	}
	mustMerge(t, s, capped.Hash, m, want)
}

// testMergeDeclines: every record a merge does not apply to is left exactly
// as it was, and the caller gets ErrNotFound.
func testMergeDeclines(t *testing.T, s storage.Merger) {
	c := ctx(t)
	now := Now()
	change := []storage.Change{set("evil", `"written"`)}
	browser := func(at time.Time) *storage.Merge {
		return &storage.Merge{Kind: storage.KindBrowser, Now: at, IdleTimeout: time.Hour, Changes: change}
	}

	destroyed := NewRecord("alice")
	mustCreate(t, s, destroyed)
	if err := s.Delete(c, destroyed.Hash); err != nil {
		t.Fatal(err)
	}
	rotated := NewRecord("alice")
	mustCreate(t, s, rotated)
	next := NewRecord("alice")
	next.ID = rotated.ID
	if err := s.Rotate(c, rotated.Clone(), next, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	api := NewRecord("bob")
	api.Kind = storage.KindAPI
	mustCreate(t, s, api)
	idle := NewRecord("carol")
	idle.IdleExpiresAt = now.Add(time.Minute)
	mustCreate(t, s, idle)
	absolute := NewRecord("dave")
	absolute.ExpiresAt = now.Add(time.Minute)
	absolute.IdleExpiresAt = absolute.ExpiresAt
	mustCreate(t, s, absolute)

	tests := []struct {
		name string
		h    storage.Hash
		m    *storage.Merge
	}{
		{"absent", NewHash(), browser(now)},
		{"destroyed tombstone", destroyed.Hash, browser(now)},
		{"rotated tombstone in its grace window", rotated.Hash, browser(now)},
		{"another kind", api.Hash, browser(now)},
		{"api merge on a browser record", next.Hash, &storage.Merge{Kind: storage.KindAPI, Now: now, IdleTimeout: time.Hour, Changes: change}},
		{"idle deadline reached", idle.Hash, browser(idle.IdleExpiresAt)},
		{"idle deadline passed", idle.Hash, browser(idle.IdleExpiresAt.Add(time.Hour))},
		{"absolute deadline reached", absolute.Hash, browser(absolute.ExpiresAt)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeErr := s.Get(c, tt.h)
			got, err := s.Merge(c, tt.h, tt.m)
			if !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Merge = %v, %v; want ErrNotFound", got, err)
			}
			after, afterErr := s.Get(c, tt.h)
			if !errors.Is(afterErr, beforeErr) {
				t.Fatalf("Get after a declined Merge: %v, before: %v", afterErr, beforeErr)
			}
			if before != nil {
				if d := Diff(after, before); d != "" {
					t.Errorf("a declined Merge changed the stored record:%s", d)
				}
			}
		})
	}
}

// testMergeAndCompareAndSwap: a merge is a write like Update: a caller who
// read before it conflicts, one who read after it does not, and merges see
// what Update wrote.
func testMergeAndCompareAndSwap(t *testing.T, s storage.Merger) {
	c := ctx(t)
	r := NewRecord("alice")
	mustCreate(t, s, r)
	stale := mustGet(t, s, r.Hash)
	m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour, Changes: []storage.Change{set("a", "1")}}
	got := mustMerge(t, s, r.Hash, m, merged(t, r, m))

	stale.Data = []byte(`{"lost":true}`)
	wantErr(t, "Update of a record read before a Merge", s.Update(c, stale), storage.ErrConflict)
	next := NewRecord("alice")
	next.ID = r.ID
	wantErr(t, "Rotate of a record read before a Merge", s.Rotate(c, stale, next, time.Time{}), storage.ErrConflict)

	fresh := got.Clone()
	fresh.Data = []byte(`{"from":"update"}`)
	if err := s.Update(c, fresh); err != nil {
		t.Fatalf("Update of the merged record: %v", err)
	}
	m2 := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour, Changes: []storage.Change{set("b", "2")}}
	want := merged(t, fresh, m2)
	if string(want.Data) != `{"b":2,"from":"update"}` {
		t.Fatalf("test bug: %s", want.Data)
	}
	mustMerge(t, s, r.Hash, m2, want)
}

// testMergeKeepsIndexes: the merged record is what GetByID and List return,
// and expiry follows its new idle deadline.
func testMergeKeepsIndexes(t *testing.T, s storage.Merger) {
	c := ctx(t)
	r := NewRecord("alice")
	r.IdleExpiresAt = r.LastSeenAt.Add(time.Minute)
	mustCreate(t, s, r)
	m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt.Add(30 * time.Second), IdleTimeout: time.Hour,
		Changes: []storage.Change{set("a", "1")}}
	want := mustMerge(t, s, r.Hash, m, merged(t, r, m))
	if d := Diff(wantByID(t, s, r.ID, r.Hash), want); d != "" {
		t.Errorf("GetByID after Merge differs:%s", d)
	}
	wantList(t, s, "alice", want)
	// The old idle deadline has passed, the new one has not: the record stays.
	drainExpired(t, s, r.IdleExpiresAt.Add(time.Minute), 100)
	if _, err := s.Get(c, r.Hash); err != nil {
		t.Errorf("Get after DeleteExpired between the old and the new idle deadline: %v", err)
	}
}

// testConcurrentMerges: merges of different keys of one record, all at
// once, lose nothing.
func testConcurrentMerges(t *testing.T, s storage.Merger) {
	r := NewRecord("alice")
	r.Data = nil
	mustCreate(t, s, r)
	const workers = 50
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour,
				Changes: []storage.Change{set(fmt.Sprintf("key%02d", i), fmt.Sprint(i))}}
			if _, err := s.Merge(ctx(t), r.Hash, m); err != nil {
				t.Errorf("Merge %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	want := map[string]int{}
	for i := range workers {
		want[fmt.Sprintf("key%02d", i)] = i
	}
	wantValues(t, s, r.Hash, want, workers+1)
}

// wantValues checks that the record under h has the given version and data
// holding exactly the members of want.
func wantValues(t *testing.T, s storage.Store, h storage.Hash, want map[string]int, version uint64) {
	t.Helper()
	got := mustGet(t, s, h)
	var vals map[string]int
	if err := json.Unmarshal(got.Data, &vals); err != nil {
		t.Fatalf("Data %q: %v", got.Data, err)
	}
	for k, w := range want {
		if v, ok := vals[k]; !ok || v != w {
			t.Errorf("%s = %d, %v; want %d", k, v, ok, w)
		}
	}
	for k := range vals {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected member %q", k)
		}
	}
	if got.Version != version {
		t.Errorf("Version = %d, want %d", got.Version, version)
	}
}

// MergesRaceUpdates checks that merges racing read-modify-write Updates
// (each retried on ErrConflict, as the Manager does) of other keys of one
// record lose nothing: an Update never writes back data read before a
// merge, and a merge never works on data an Update replaced. a and b are
// two stores on one database (two nodes, two processes on one file), or
// one store twice; the suite runs it as ConcurrentMergesAndUpdates.
func MergesRaceUpdates(t *testing.T, a, b storage.Merger) {
	c := ctx(t)
	r := NewRecord("alice")
	r.Data = []byte(`{"seed":0}`)
	mustCreate(t, a, r)
	const workers = 20
	var wg sync.WaitGroup
	for i := range workers {
		merger, updater := a, b
		if i%2 == 1 {
			merger, updater = b, a
		}
		wg.Go(func() {
			m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour,
				Changes: []storage.Change{set(fmt.Sprintf("merge%02d", i), fmt.Sprint(i))}}
			if _, err := merger.Merge(c, r.Hash, m); err != nil {
				t.Errorf("Merge %d: %v", i, err)
			}
		})
		wg.Go(func() {
			for {
				cur, err := updater.Get(c, r.Hash)
				if err != nil {
					t.Errorf("Get %d: %v", i, err)
					return
				}
				cur.Data = storage.MergeData(cur.Data, []storage.Change{set(fmt.Sprintf("update%02d", i), fmt.Sprint(i))})
				err = updater.Update(c, cur)
				if errors.Is(err, storage.ErrConflict) {
					continue
				}
				if err != nil {
					t.Errorf("Update %d: %v", i, err)
				}
				return
			}
		})
	}
	wg.Wait()
	want := map[string]int{"seed": 0}
	for i := range workers {
		want[fmt.Sprintf("merge%02d", i)], want[fmt.Sprintf("update%02d", i)] = i, i
	}
	wantValues(t, b, r.Hash, want, 2*workers+1)
}

// testMergeHostileInputs: keys and values with quotes, NULs, Unicode, SQL
// and Lua metacharacters come back byte-exact.
func testMergeHostileInputs(t *testing.T, s storage.Merger) {
	r := NewRecord(`o'brien "x" \ %a`)
	r.Data = []byte(`{"seed":"\u0000 ]] %s"}`)
	mustCreate(t, s, r)
	cur := r
	for _, h := range hostile {
		v, err := json.Marshal(h.s)
		if err != nil {
			t.Fatal(err)
		}
		m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour,
			Changes: []storage.Change{{Key: h.s, Value: v}, {Key: "v " + h.s, Value: v}, del("seed")}}
		cur = mustMerge(t, s, r.Hash, m, merged(t, cur, m))
	}
	var vals map[string]string
	if err := json.Unmarshal(cur.Data, &vals); err != nil {
		t.Fatalf("Data %q: %v", cur.Data, err)
	}
	for _, h := range hostile {
		if vals[h.s] != h.s || vals["v "+h.s] != h.s {
			t.Errorf("%s: key or value changed: %q", h.name, vals[h.s])
		}
	}
}

func testMergeLargeValue(t *testing.T, s storage.Merger) {
	r := NewRecord("alice")
	mustCreate(t, s, r)
	big := bigValue(1 << 20)
	m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour,
		Changes: []storage.Change{{Key: "big", Value: big}}}
	got := mustMerge(t, s, r.Hash, m, merged(t, r, m))
	m2 := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour,
		Changes: []storage.Change{set("small", "1")}}
	mustMerge(t, s, r.Hash, m2, merged(t, got, m2))
}

func testMergeContextCanceled(t *testing.T, s storage.Merger) {
	r := NewRecord("alice")
	mustCreate(t, s, r)
	cc, cancel := context.WithCancel(ctx(t))
	cancel()
	m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour, Changes: []storage.Change{set("a", "1")}}
	if _, err := s.Merge(cc, r.Hash, m); err == nil {
		t.Error("Merge with a cancelled context returned nil, want an error")
	}
	wantRecord(t, s, r)
}

// testMergeThenEnd: a merged record ends like any other: Rotate (with the
// version Merge returned), Delete and DeleteSubject leave the tombstones the
// contract describes, and merges into them are declined.
func testMergeThenEnd(t *testing.T, s storage.Merger) {
	c := ctx(t)
	mergeInto := func(r *storage.Record) *storage.Record {
		t.Helper()
		m := &storage.Merge{Kind: storage.KindBrowser, Now: r.LastSeenAt, IdleTimeout: time.Hour, Changes: []storage.Change{set("a", "1")}}
		return mustMerge(t, s, r.Hash, m, merged(t, r, m))
	}
	decline := func(h storage.Hash) {
		t.Helper()
		m := &storage.Merge{Kind: storage.KindBrowser, Now: Now(), IdleTimeout: time.Hour, Changes: []storage.Change{set("b", "2")}}
		if _, err := s.Merge(c, h, m); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Merge into a tombstone: %v, want ErrNotFound", err)
		}
	}

	r := NewRecord("alice")
	mustCreate(t, s, r)
	r = mergeInto(r)
	if err := s.Delete(c, r.Hash); err != nil {
		t.Fatalf("Delete of a merged record: %v", err)
	}
	wantTombstone(t, s, r, storage.StateDestroyed, storage.Hash{}, time.Time{})
	decline(r.Hash)

	old := NewRecord("alice")
	mustCreate(t, s, old)
	old = mergeInto(old)
	next := old.Clone()
	next.Hash = NewHash()
	grace := Now().Add(time.Minute)
	if err := s.Rotate(c, old, next, grace); err != nil {
		t.Fatalf("Rotate of a merged record: %v", err)
	}
	wantTombstone(t, s, old, storage.StateRotated, next.Hash, grace)
	decline(old.Hash)
	// Whether Rotate sets next.Version in place is not checked (see the
	// package doc): merge into what is stored.
	next = mergeInto(mustGet(t, s, next.Hash))

	if n, err := s.DeleteSubject(c, "alice", ""); err != nil || n != 1 {
		t.Fatalf("DeleteSubject = %d, %v; want 1", n, err)
	}
	wantTombstone(t, s, next, storage.StateDestroyed, storage.Hash{}, time.Time{})
	decline(next.Hash)
}
