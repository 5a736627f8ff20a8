package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// Run runs the conformance suite against the Store that newStore returns.
// newStore is called once per subtest and must return an empty store isolated
// from every other one (a fresh database, key prefix or schema); it registers
// its own cleanup with t.Cleanup and fails or skips t when it cannot. Run
// checks every clause of the storage.Store contract, and of storage.Merger,
// storage.Revocations, storage.RevocationWatcher and storage.Users (the
// subtests of the group Users) for a store that implements them (the
// subtests of one it does not implement are skipped);
// each subtest fails when the clause it is named after breaks. A store that
// means to be a Merger calls RunMerger instead, so that the Merge subtests
// can never be skipped.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateSetsVersion", testCreateSetsVersion},
		{"Copies", testCopies},
		{"Missing", testMissing},
		{"CreateExists", testCreateExists},
		{"CreateOverTombstone", testCreateOverTombstone},
		{"CreateReusesDestroyedID", testCreateReusesDestroyedID},
		{"Update", testUpdate},
		{"UpdateConflict", testUpdateConflict},
		{"Delete", testDelete},
		{"TombstoneRejectsWrites", testTombstoneRejectsWrites},
		{"Rotate", testRotate},
		{"RotateConflict", testRotateConflict},
		{"GetByID", testGetByID},
		{"DeleteByID", testDeleteByID},
		{"List", testList},
		{"DeleteSubject", testDeleteSubject},
		{"DeleteSubjectExcept", testDeleteSubjectExcept},
		{"ExpiryDropsPast", testExpiryDropsPast},
		{"ExpiryKeepsFuture", testExpiryKeepsFuture},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentRotateUpdate", testConcurrentRotateUpdate},
		{"ConcurrentRotate", testConcurrentRotate},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentDeleteSubject", testConcurrentDeleteSubject},
		{"DeleteSubjectRacesRotate", testDeleteSubjectRacesRotate},
		{"DeleteByIDRacesRotate", testDeleteByIDRacesRotate},
		{"RotateChecksSubject", testRotateChecksSubject},
		{"ContextCanceled", testContextCanceled},
		{"LargeValues", testLargeValues},
		{"HostileInputs", testHostileInputs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tt.fn(t, s)
		})
	}
	for _, tt := range mergeTests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			m, ok := s.(storage.Merger)
			if !ok {
				t.Skip("the store does not implement storage.Merger")
			}
			tt.fn(t, m)
		})
	}
	runRevocations(t, newStore)
	runUsers(t, newStore)
}

// RunMerger is Run for a store that implements storage.Merger: the Merge
// subtests, which check every clause of the Merger contract (what Merge
// applies and returns, the records it declines, its versions against
// Update and Rotate, the indexes and expiry after it, concurrent merges,
// hostile and large values, cancelled contexts), then always run, and a
// store that stops being a Merger no longer compiles in its test.
func RunMerger(t *testing.T, newStore func(t *testing.T) storage.Merger) {
	Run(t, func(t *testing.T) storage.Store { return newStore(t) })
}

// ctx returns a context that is cancelled when t ends.
func ctx(t *testing.T) context.Context { return t.Context() }

func mustCreate(t *testing.T, s storage.Store, r *storage.Record) {
	t.Helper()
	if err := s.Create(ctx(t), r); err != nil {
		t.Fatalf("Create(%q): %v", r.ID, err)
	}
}

func mustGet(t *testing.T, s storage.Store, h storage.Hash) *storage.Record {
	t.Helper()
	r, err := s.Get(ctx(t), h)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if r == nil {
		t.Fatal("Get returned a nil record and no error")
	}
	return r
}

// wantRecord checks that Get(want.Hash) returns exactly want.
func wantRecord(t *testing.T, s storage.Store, want *storage.Record) {
	t.Helper()
	got := mustGet(t, s, want.Hash)
	if d := Diff(got, want); d != "" {
		t.Errorf("Get(%q) differs:%s", want.ID, d)
	}
}

// wantTombstone checks that Get(live.Hash) returns the tombstone of live in
// the given state, with version at least minVersion.
func wantTombstone(t *testing.T, s storage.Store, live *storage.Record, state storage.State, successor storage.Hash, grace time.Time) *storage.Record {
	t.Helper()
	got := mustGet(t, s, live.Hash)
	want := live.Tombstone(state, successor, grace)
	want.Version = got.Version
	if d := tombstoneDiff(got, want); d != "" {
		t.Errorf("tombstone of %q differs:%s", live.ID, d)
	}
	if got.Version < live.Version {
		t.Errorf("tombstone of %q: Version %d, want at least the live version %d", live.ID, got.Version, live.Version)
	}
	return got
}

func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", op, err, want)
	}
}

func wantGone(t *testing.T, s storage.Store, h storage.Hash) {
	t.Helper()
	r, err := s.Get(ctx(t), h)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get: got (%v, %v), want ErrNotFound", r != nil, err)
	}
}

func wantNoID(t *testing.T, s storage.Store, id string) {
	t.Helper()
	r, err := s.GetByID(ctx(t), id)
	if !errors.Is(err, storage.ErrNotFound) {
		state := "nil"
		if r != nil {
			state = fmt.Sprint(r.State)
		}
		t.Errorf("GetByID(%q): got (%s, %v), want ErrNotFound", id, state, err)
	}
}

func wantByID(t *testing.T, s storage.Store, id string, h storage.Hash) *storage.Record {
	t.Helper()
	r, err := s.GetByID(ctx(t), id)
	if err != nil {
		t.Fatalf("GetByID(%q): %v", id, err)
	}
	if r.Hash != h || r.ID != id || r.State != storage.StateLive {
		t.Errorf("GetByID(%q): got hash %s ID %q state %v, want hash %s, the same ID, live", id, r.Hash, r.ID, r.State, h)
	}
	return r
}

// wantList checks that List(subject) returns exactly the live records want,
// field for field.
func wantList(t *testing.T, s storage.Store, subject string, want ...*storage.Record) {
	t.Helper()
	got, err := s.List(ctx(t), subject)
	if err != nil {
		t.Fatalf("List(%q): %v", subject, err)
	}
	byHash := make(map[storage.Hash]*storage.Record, len(want))
	for _, w := range want {
		byHash[w.Hash] = w
	}
	seen := make(map[storage.Hash]bool)
	for _, g := range got {
		w, ok := byHash[g.Hash]
		switch {
		case !ok:
			t.Errorf("List(%q) returned %q (subject %q, state %v), which it should not", subject, g.ID, g.Subject, g.State)
		case seen[g.Hash]:
			t.Errorf("List(%q) returned %q twice", subject, g.ID)
		default:
			if d := Diff(g, w); d != "" {
				t.Errorf("List(%q): record %q differs:%s", subject, w.ID, d)
			}
		}
		seen[g.Hash] = true
	}
	for _, w := range want {
		if !seen[w.Hash] {
			t.Errorf("List(%q) misses %q", subject, w.ID)
		}
	}
}

func testCreateGet(t *testing.T, s storage.Store) {
	tests := []struct {
		name string
		r    *storage.Record
	}{
		{"full", fullRecord("alice")},
		{"anonymous", NewRecord("")},
		{"empty data", func() *storage.Record { r := NewRecord("bob"); r.Data = nil; return r }()},
		{"no idle deadline", func() *storage.Record { r := NewRecord("carol"); r.IdleExpiresAt = time.Time{}; return r }()},
		{"far future", func() *storage.Record {
			r := NewRecord("dave")
			r.ExpiresAt = time.Date(2999, 12, 31, 23, 59, 59, 999999000, time.UTC)
			r.IdleExpiresAt = r.ExpiresAt.Add(-time.Microsecond)
			return r
		}()},
		{"odd microseconds", func() *storage.Record {
			r := NewRecord("erin")
			r.CreatedAt = time.Date(2026, 2, 28, 23, 59, 59, 123457000, time.UTC)
			r.LastSeenAt = time.Date(2026, 3, 1, 0, 0, 0, 1000, time.UTC)
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.r.Clone()
			want.Version = 1
			mustCreate(t, s, tt.r)
			wantRecord(t, s, want)
			if want.Subject != "" {
				wantList(t, s, want.Subject, want)
			}
			got := wantByID(t, s, want.ID, want.Hash)
			if d := Diff(got, want); d != "" {
				t.Errorf("GetByID differs:%s", d)
			}
		})
	}
}

func testCreateSetsVersion(t *testing.T, s storage.Store) {
	r := NewRecord("alice")
	r.Version = 41
	mustCreate(t, s, r)
	if r.Version != 1 {
		t.Errorf("after Create, r.Version = %d, want 1", r.Version)
	}
	if got := mustGet(t, s, r.Hash); got.Version != 1 {
		t.Errorf("stored Version = %d, want 1", got.Version)
	}
}

// testCopies checks that a store keeps no reference to the records it is
// given and returns a fresh copy each time.
func testCopies(t *testing.T, s storage.Store) {
	r := fullRecord("alice")
	want := r.Clone()
	want.Version = 1
	mustCreate(t, s, r)
	r.Data[0] = 'X'
	r.Meta[0] = 'X'
	r.Subject = "mallory"
	r.IP = "203.0.113.9"

	got := mustGet(t, s, want.Hash)
	got.Data[0] = 'Y'
	got.Meta[0] = 'Y'
	got.UserAgent = "changed"
	list, err := s.List(ctx(t), "alice")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, l := range list {
		if len(l.Data) > 0 {
			l.Data[0] = 'Z'
		}
	}
	byID, err := s.GetByID(ctx(t), want.ID)
	if err != nil {
		t.Fatalf("GetByID: %v", err)
	}
	byID.Data[0] = 'W'

	wantRecord(t, s, want)
	wantList(t, s, "alice", want)
	wantList(t, s, "mallory")

	// A record handed to Update is not retained either.
	u := mustGet(t, s, want.Hash)
	u.Data = []byte(`{"v":2}`)
	if err := s.Update(ctx(t), u); err != nil {
		t.Fatalf("Update: %v", err)
	}
	u.Data[1] = 'X'
	want.Data = []byte(`{"v":2}`)
	want.Version = 2
	wantRecord(t, s, want)
}

func testMissing(t *testing.T, s storage.Store) {
	c := ctx(t)
	// One record so that the store is not empty.
	other := NewRecord("alice")
	mustCreate(t, s, other)

	r := NewRecord("alice")
	r.Version = 1
	next := NewRecord("alice")
	next.ID = r.ID
	_, err := s.Get(c, r.Hash)
	wantErr(t, "Get", err, storage.ErrNotFound)
	_, err = s.Get(c, storage.Hash{})
	wantErr(t, "Get(zero hash)", err, storage.ErrNotFound)
	_, err = s.GetByID(c, r.ID)
	wantErr(t, "GetByID", err, storage.ErrNotFound)
	_, err = s.GetByID(c, "")
	wantErr(t, "GetByID(\"\")", err, storage.ErrNotFound)
	wantErr(t, "Update", s.Update(c, r), storage.ErrNotFound)
	wantErr(t, "Rotate", s.Rotate(c, r, next, time.Time{}), storage.ErrNotFound)
	wantErr(t, "Delete", s.Delete(c, r.Hash), storage.ErrNotFound)
	wantErr(t, "DeleteByID", s.DeleteByID(c, r.ID), storage.ErrNotFound)
	wantGone(t, s, next.Hash)
	wantList(t, s, "bob")
	n, err := s.DeleteSubject(c, "bob", "")
	if err != nil || n != 0 {
		t.Errorf("DeleteSubject(unknown) = %d, %v; want 0, nil", n, err)
	}
	wantList(t, s, "alice", other.Clone())
}

func testCreateExists(t *testing.T, s storage.Store) {
	orig := NewRecord("alice")
	mustCreate(t, s, orig)
	want := orig.Clone()

	tests := []struct {
		name string
		dup  func() *storage.Record
	}{
		{"same hash and ID", func() *storage.Record { return orig.Clone() }},
		{"same hash", func() *storage.Record { r := NewRecord("bob"); r.Hash = orig.Hash; return r }},
		{"same ID", func() *storage.Record { r := NewRecord("bob"); r.ID = orig.ID; return r }},
		{"same ID anonymous", func() *storage.Record { r := NewRecord(""); r.ID = orig.ID; return r }},
		{"same ID same subject", func() *storage.Record { r := NewRecord("alice"); r.ID = orig.ID; return r }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dup := tt.dup()
			wantErr(t, "Create(duplicate)", s.Create(ctx(t), dup), storage.ErrExists)
			wantRecord(t, s, want)
			wantByID(t, s, want.ID, want.Hash)
			if dup.Hash != orig.Hash {
				wantGone(t, s, dup.Hash)
			}
			if dup.ID != orig.ID {
				wantNoID(t, s, dup.ID)
			}
			wantList(t, s, "alice", want)
			wantList(t, s, "bob")
		})
	}
}

func testCreateOverTombstone(t *testing.T, s storage.Store) {
	c := ctx(t)
	destroyed := NewRecord("alice")
	mustCreate(t, s, destroyed)
	if err := s.Delete(c, destroyed.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	rotated := NewRecord("alice")
	mustCreate(t, s, rotated)
	next := NewRecord("alice")
	next.ID = rotated.ID
	grace := Now().Add(time.Minute)
	if err := s.Rotate(c, rotated, next, grace); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	tests := []struct {
		name  string
		old   *storage.Record
		state storage.State
		succ  storage.Hash
		grace time.Time
	}{
		{"destroyed", destroyed, storage.StateDestroyed, storage.Hash{}, time.Time{}},
		{"rotated", rotated, storage.StateRotated, next.Hash, grace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mustGet(t, s, tt.old.Hash)
			r := NewRecord("mallory")
			r.Hash = tt.old.Hash
			wantErr(t, "Create(over tombstone)", s.Create(ctx(t), r), storage.ErrExists)
			after := wantTombstone(t, s, tt.old, tt.state, tt.succ, tt.grace)
			if after.Version != before.Version {
				t.Errorf("tombstone Version changed from %d to %d", before.Version, after.Version)
			}
			wantNoID(t, s, r.ID)
			wantList(t, s, "mallory")
		})
	}
	wantByID(t, s, next.ID, next.Hash)
}

func testCreateReusesDestroyedID(t *testing.T, s storage.Store) {
	c := ctx(t)
	old := NewRecord("alice")
	mustCreate(t, s, old)
	if err := s.Delete(c, old.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// The contract reserves the ID of live records only.
	r := NewRecord("alice")
	r.ID = old.ID
	if err := s.Create(c, r); err != nil {
		t.Fatalf("Create with the ID of a destroyed session: %v, want success", err)
	}
	wantByID(t, s, r.ID, r.Hash)
	wantTombstone(t, s, old, storage.StateDestroyed, storage.Hash{}, time.Time{})
	wantList(t, s, "alice", r)
}

func testUpdate(t *testing.T, s storage.Store) {
	c := ctx(t)
	r := NewRecord("alice")
	mustCreate(t, s, r)
	now := Now()

	u := mustGet(t, s, r.Hash)
	u.LastSeenAt = now.Add(time.Minute + time.Microsecond)
	u.IdleExpiresAt = now.Add(31*time.Minute + 3*time.Microsecond)
	u.RenewedAt = now.Add(7 * time.Microsecond)
	u.AuthenticatedAt = now.Add(9 * time.Microsecond)
	u.IdleTimeout = time.Hour
	u.Persistent = true
	u.Kind = storage.KindAPI
	u.IP = "192.0.2.7"
	u.UserAgent = "curl/8"
	u.Fingerprint = "fp"
	u.Data = []byte(`{"k":"v2","n":1}`)
	u.Meta = []byte(`{"m":true}`)
	want := u.Clone()
	if err := s.Update(c, u); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if u.Version != 2 {
		t.Errorf("after Update, r.Version = %d, want 2", u.Version)
	}
	want.Version = 2
	wantRecord(t, s, want)
	wantList(t, s, "alice", want)

	// Fields can be cleared again.
	u.IP, u.UserAgent, u.Fingerprint, u.Data, u.Meta = "", "", "", nil, nil
	u.AuthenticatedAt = time.Time{}
	u.Persistent = false
	want = u.Clone()
	if err := s.Update(c, u); err != nil {
		t.Fatalf("second Update: %v", err)
	}
	want.Version = 3
	if u.Version != 3 {
		t.Errorf("after second Update, r.Version = %d, want 3", u.Version)
	}
	wantRecord(t, s, want)
	wantByID(t, s, r.ID, r.Hash)
}

func testUpdateConflict(t *testing.T, s storage.Store) {
	c := ctx(t)
	r := NewRecord("alice")
	mustCreate(t, s, r)
	a := mustGet(t, s, r.Hash)
	b := mustGet(t, s, r.Hash)
	a.Data = []byte(`{"by":"a"}`)
	if err := s.Update(c, a); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := a.Clone()

	tests := []struct {
		name    string
		version uint64
	}{
		{"stale", 1},
		{"ahead", 3},
		{"far ahead", 1 << 40},
		{"zero", 0},
		{"max", ^uint64(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stale := b.Clone()
			stale.Version = tt.version
			stale.Data = []byte(`{"by":"b"}`)
			wantErr(t, "Update", s.Update(ctx(t), stale), storage.ErrConflict)
			if stale.Version != tt.version {
				t.Errorf("a failed Update changed r.Version from %d to %d", tt.version, stale.Version)
			}
			wantRecord(t, s, want)
		})
	}
}

func testDelete(t *testing.T, s storage.Store) {
	c := ctx(t)
	r := fullRecord("alice")
	keep := NewRecord("alice")
	mustCreate(t, s, r)
	mustCreate(t, s, keep)
	u := mustGet(t, s, r.Hash)
	if err := s.Update(c, u); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := s.Delete(c, r.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantTombstone(t, s, u, storage.StateDestroyed, storage.Hash{}, time.Time{})
	wantNoID(t, s, r.ID)
	wantList(t, s, "alice", keep)
	wantErr(t, "second Delete", s.Delete(c, r.Hash), storage.ErrNotFound)
}

func testTombstoneRejectsWrites(t *testing.T, s storage.Store) {
	c := ctx(t)
	grace := Now().Add(30 * time.Second)
	tests := []struct {
		name  string
		kill  func(t *testing.T, r *storage.Record) storage.Hash // returns the successor, if any
		state storage.State
		grace time.Time
	}{
		{"Delete", func(t *testing.T, r *storage.Record) storage.Hash {
			if err := s.Delete(c, r.Hash); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			return storage.Hash{}
		}, storage.StateDestroyed, time.Time{}},
		{"DeleteByID", func(t *testing.T, r *storage.Record) storage.Hash {
			if err := s.DeleteByID(c, r.ID); err != nil {
				t.Fatalf("DeleteByID: %v", err)
			}
			return storage.Hash{}
		}, storage.StateDestroyed, time.Time{}},
		{"DeleteSubject", func(t *testing.T, r *storage.Record) storage.Hash {
			if n, err := s.DeleteSubject(c, r.Subject, ""); err != nil || n != 1 {
				t.Fatalf("DeleteSubject = %d, %v; want 1, nil", n, err)
			}
			return storage.Hash{}
		}, storage.StateDestroyed, time.Time{}},
		{"Rotate", func(t *testing.T, r *storage.Record) storage.Hash {
			next := NewRecord(r.Subject)
			next.ID = r.ID
			if err := s.Rotate(c, r.Clone(), next, grace); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			// Destroy the successor too so that only tombstones remain.
			if err := s.Delete(c, next.Hash); err != nil {
				t.Fatalf("Delete(next): %v", err)
			}
			return next.Hash
		}, storage.StateRotated, grace},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject := "user-" + string(rune('a'+i))
			r := NewRecord(subject)
			mustCreate(t, s, r)
			loaded := mustGet(t, s, r.Hash) // a request that loaded the session
			succ := tt.kill(t, r)
			ts := wantTombstone(t, s, r, tt.state, succ, tt.grace)

			stale := loaded.Clone()
			stale.Data = []byte(`{"resurrected":true}`)
			wantErr(t, "Update(tombstone)", s.Update(ctx(t), stale), storage.ErrNotFound)
			// Even with the tombstone's own version, it stays dead.
			stale.Version = ts.Version
			wantErr(t, "Update(tombstone, tombstone's version)", s.Update(ctx(t), stale), storage.ErrNotFound)
			next := NewRecord(subject)
			next.ID = r.ID
			wantErr(t, "Rotate(tombstone)", s.Rotate(ctx(t), loaded.Clone(), next, time.Time{}), storage.ErrNotFound)
			wantGone(t, s, next.Hash)
			wantErr(t, "Delete(tombstone)", s.Delete(ctx(t), r.Hash), storage.ErrNotFound)
			wantErr(t, "DeleteByID(tombstone)", s.DeleteByID(ctx(t), r.ID), storage.ErrNotFound)
			if n, err := s.DeleteSubject(ctx(t), subject, ""); err != nil || n != 0 {
				t.Errorf("DeleteSubject over tombstones = %d, %v; want 0, nil", n, err)
			}
			after := wantTombstone(t, s, r, tt.state, succ, tt.grace)
			if after.Version != ts.Version {
				t.Errorf("tombstone Version changed from %d to %d", ts.Version, after.Version)
			}
			wantNoID(t, s, r.ID)
			wantList(t, s, subject)
		})
	}
}

func testRotate(t *testing.T, s storage.Store) {
	tests := []struct {
		name        string
		from, to    string
		grace       time.Duration
		updateFirst bool
	}{
		{"login", "", "alice", 30 * time.Second, false},
		{"renew", "bob", "bob", 30 * time.Second, true},
		{"no grace", "carol", "carol", 0, false},
		{"switch user", "dave", "erin", time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctx(t)
			// A bystander session of each subject must stay as it is.
			var bystanders []*storage.Record
			for _, sub := range []string{tt.from, tt.to} {
				if sub == "" {
					continue
				}
				b := NewRecord(sub)
				mustCreate(t, s, b)
				bystanders = append(bystanders, b)
			}
			old := fullRecord(tt.from)
			mustCreate(t, s, old)
			if tt.updateFirst {
				if err := s.Update(c, old); err != nil {
					t.Fatalf("Update: %v", err)
				}
			}
			readVersion := old.Version
			oldSnapshot := old.Clone()

			next := fullRecord(tt.to)
			next.ID = old.ID
			next.Version = 99 // the store must store Version 1
			next.Data = []byte(`{"rotated":true}`)
			var grace time.Time
			if tt.grace != 0 {
				grace = Now().Add(tt.grace)
			}
			if err := s.Rotate(c, old, next, grace); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			if old.Version != readVersion+1 {
				t.Errorf("after Rotate, old.Version = %d, want %d", old.Version, readVersion+1)
			}

			ts := mustGet(t, s, old.Hash)
			wantTS := oldSnapshot.Tombstone(storage.StateRotated, next.Hash, grace)
			wantTS.Version = readVersion + 1
			if d := tombstoneDiff(ts, wantTS); d != "" {
				t.Errorf("rotated tombstone differs:%s", d)
			}
			if ts.GraceUntil.IsZero() != grace.IsZero() {
				t.Errorf("GraceUntil = %v, want %v", ts.GraceUntil, grace)
			}

			wantNext := next.Clone()
			wantNext.Version = 1
			wantRecord(t, s, wantNext)
			got := wantByID(t, s, old.ID, next.Hash)
			if d := Diff(got, wantNext); d != "" {
				t.Errorf("GetByID after Rotate differs:%s", d)
			}

			// The subject index follows the new subject.
			listFrom := []*storage.Record{}
			listTo := []*storage.Record{wantNext}
			for _, b := range bystanders {
				if b.Subject == tt.to {
					listTo = append(listTo, b)
				} else {
					listFrom = append(listFrom, b)
				}
			}
			if tt.from != tt.to && tt.from != "" {
				wantList(t, s, tt.from, listFrom...)
			}
			wantList(t, s, tt.to, listTo...)
			wantList(t, s, "")

			// The old token's loaded copy can no longer write.
			wantErr(t, "Update(rotated)", s.Update(c, oldSnapshot), storage.ErrNotFound)
			// The successor is a normal live record.
			n := mustGet(t, s, next.Hash)
			n.Data = []byte(`{"after":1}`)
			if err := s.Update(c, n); err != nil {
				t.Fatalf("Update(next): %v", err)
			}
			if n.Version != 2 {
				t.Errorf("Update(next): Version %d, want 2", n.Version)
			}
			for _, b := range bystanders {
				wantRecord(t, s, b)
			}
		})
	}
}

func testRotateConflict(t *testing.T, s storage.Store) {
	c := ctx(t)
	old := NewRecord("alice")
	mustCreate(t, s, old)
	stale := old.Clone()
	if err := s.Update(c, old); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := old.Clone()
	tests := []struct {
		name    string
		version uint64
	}{
		{"stale", 1},
		{"ahead", 3},
		{"zero", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := stale.Clone()
			o.Version = tt.version
			next := NewRecord("bob")
			next.ID = old.ID
			wantErr(t, "Rotate", s.Rotate(ctx(t), o, next, Now().Add(time.Minute)), storage.ErrConflict)
			if o.Version != tt.version {
				t.Errorf("a failed Rotate changed old.Version from %d to %d", tt.version, o.Version)
			}
			wantGone(t, s, next.Hash)
			wantRecord(t, s, want)
			wantByID(t, s, old.ID, old.Hash)
			wantList(t, s, "alice", want)
			wantList(t, s, "bob")
		})
	}
}

func testGetByID(t *testing.T, s storage.Store) {
	var recs []*storage.Record
	for i := range 20 {
		sub := []string{"", "alice", "bob"}[i%3]
		r := NewRecord(sub)
		mustCreate(t, s, r)
		recs = append(recs, r)
	}
	for _, r := range recs {
		got := wantByID(t, s, r.ID, r.Hash)
		if d := Diff(got, r); d != "" {
			t.Errorf("GetByID(%q) differs:%s", r.ID, d)
		}
	}
	wantNoID(t, s, NewID())
	// IDs are exact: a prefix or a case change is another ID.
	id := recs[0].ID
	wantNoID(t, s, id[:len(id)-1])
	wantNoID(t, s, id+"A")
	wantNoID(t, s, flipCase(id))
}

func flipCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	if string(b) == s {
		b[0] ^= 1
	}
	return string(b)
}

func testDeleteByID(t *testing.T, s storage.Store) {
	c := ctx(t)
	t.Run("live", func(t *testing.T) {
		r := fullRecord("alice")
		other := NewRecord("alice")
		mustCreate(t, s, r)
		mustCreate(t, s, other)
		if err := s.DeleteByID(c, r.ID); err != nil {
			t.Fatalf("DeleteByID: %v", err)
		}
		wantTombstone(t, s, r, storage.StateDestroyed, storage.Hash{}, time.Time{})
		wantNoID(t, s, r.ID)
		wantRecord(t, s, other)
		wantList(t, s, "alice", other)
		wantErr(t, "second DeleteByID", s.DeleteByID(c, r.ID), storage.ErrNotFound)
	})
	t.Run("after rotation", func(t *testing.T) {
		old := NewRecord("bob")
		mustCreate(t, s, old)
		oldSnap := old.Clone()
		next := NewRecord("bob")
		next.ID = old.ID
		grace := Now().Add(time.Minute)
		if err := s.Rotate(c, old, next, grace); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if err := s.DeleteByID(c, old.ID); err != nil {
			t.Fatalf("DeleteByID: %v", err)
		}
		// The live successor is destroyed; the rotated tombstone stays.
		wantTombstone(t, s, next, storage.StateDestroyed, storage.Hash{}, time.Time{})
		oldSnap.Version++
		wantTombstone(t, s, oldSnap, storage.StateRotated, next.Hash, grace)
		wantNoID(t, s, old.ID)
		wantList(t, s, "bob")
	})
}

func testList(t *testing.T, s storage.Store) {
	c := ctx(t)
	// Subjects that share prefixes or carry pattern characters of
	// SQL LIKE, Redis glob and Lua patterns must not match each other.
	subjects := []string{"user-1", "user-10", "user-1*", "user-1%", "user_1", "user-?", "user-[1]", "USER-1", "user-1 ", " user-1", "user-1.", "%", "*"}
	want := map[string][]*storage.Record{}
	for i, sub := range subjects {
		for j := 0; j <= i%3; j++ {
			r := NewRecord(sub)
			mustCreate(t, s, r)
			want[sub] = append(want[sub], r)
		}
	}
	for range 3 {
		mustCreate(t, s, NewRecord(""))
	}
	// A destroyed and a rotated session of user-1 are not listed; the successor is.
	dead := NewRecord("user-1")
	mustCreate(t, s, dead)
	if err := s.Delete(c, dead.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	rot := NewRecord("user-1")
	mustCreate(t, s, rot)
	next := NewRecord("user-1")
	next.ID = rot.ID
	if err := s.Rotate(c, rot, next, Now().Add(time.Minute)); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	next.Version = 1
	want["user-1"] = append(want["user-1"], next)

	for _, sub := range subjects {
		t.Run(sub, func(t *testing.T) { wantList(t, s, sub, want[sub]...) })
	}
	t.Run("empty subject", func(t *testing.T) { wantList(t, s, "") })
	t.Run("unknown", func(t *testing.T) { wantList(t, s, "user-2") })
}

func testDeleteSubject(t *testing.T, s storage.Store) {
	c := ctx(t)
	subjects := []string{"alice", "alice2", "Alice", "alic", "bob"}
	recs := map[string][]*storage.Record{}
	for i, sub := range subjects {
		for range 2 + i {
			r := NewRecord(sub)
			mustCreate(t, s, r)
			recs[sub] = append(recs[sub], r)
		}
	}
	anon := NewRecord("")
	mustCreate(t, s, anon)
	// A tombstone of alice is not counted again.
	dead := NewRecord("alice")
	mustCreate(t, s, dead)
	if err := s.Delete(c, dead.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	n, err := s.DeleteSubject(c, "alice", "")
	if err != nil || n != len(recs["alice"]) {
		t.Fatalf("DeleteSubject(alice) = %d, %v; want %d, nil", n, err, len(recs["alice"]))
	}
	for _, r := range recs["alice"] {
		wantTombstone(t, s, r, storage.StateDestroyed, storage.Hash{}, time.Time{})
		wantNoID(t, s, r.ID)
	}
	wantList(t, s, "alice")
	for _, sub := range subjects[1:] {
		wantList(t, s, sub, recs[sub]...)
		for _, r := range recs[sub] {
			wantRecord(t, s, r)
		}
	}
	wantRecord(t, s, anon)

	n, err = s.DeleteSubject(c, "alice", "")
	if err != nil || n != 0 {
		t.Errorf("second DeleteSubject(alice) = %d, %v; want 0, nil", n, err)
	}
	// The empty subject names no one: anonymous sessions are not a subject.
	n, err = s.DeleteSubject(c, "", "")
	if err != nil || n != 0 {
		t.Errorf("DeleteSubject(\"\") = %d, %v; want 0, nil", n, err)
	}
	wantRecord(t, s, anon)
	wantByID(t, s, anon.ID, anon.Hash)
}

func testDeleteSubjectExcept(t *testing.T, s storage.Store) {
	c := ctx(t)
	mk := func(sub string, n int) []*storage.Record {
		var rs []*storage.Record
		for range n {
			r := NewRecord(sub)
			mustCreate(t, s, r)
			rs = append(rs, r)
		}
		return rs
	}
	alice := mk("alice", 5)
	carol := mk("carol", 3)
	bob := NewRecord("bob")
	mustCreate(t, s, bob)

	t.Run("except one", func(t *testing.T) {
		keep := alice[2]
		n, err := s.DeleteSubject(c, "alice", keep.ID)
		if err != nil || n != len(alice)-1 {
			t.Fatalf("DeleteSubject(alice, keep) = %d, %v; want %d, nil", n, err, len(alice)-1)
		}
		wantRecord(t, s, keep)
		wantByID(t, s, keep.ID, keep.Hash)
		wantList(t, s, "alice", keep)
		for _, r := range alice {
			if r != keep {
				wantTombstone(t, s, r, storage.StateDestroyed, storage.Hash{}, time.Time{})
				wantNoID(t, s, r.ID)
			}
		}
		wantList(t, s, "bob", bob)
		wantList(t, s, "carol", carol...)
		n, err = s.DeleteSubject(c, "alice", keep.ID)
		if err != nil || n != 0 {
			t.Errorf("repeated DeleteSubject(alice, keep) = %d, %v; want 0, nil", n, err)
		}
		wantRecord(t, s, keep)
	})
	t.Run("except another subject's ID", func(t *testing.T) {
		// bob's session is not carol's: it protects none of hers and survives.
		n, err := s.DeleteSubject(c, "carol", bob.ID)
		if err != nil || n != len(carol) {
			t.Fatalf("DeleteSubject(carol, bob's ID) = %d, %v; want %d, nil", n, err, len(carol))
		}
		for _, r := range carol {
			wantTombstone(t, s, r, storage.StateDestroyed, storage.Hash{}, time.Time{})
		}
		wantList(t, s, "carol")
		wantRecord(t, s, bob)
		wantList(t, s, "bob", bob)
		wantList(t, s, "alice", alice[2])
	})
	t.Run("except unknown ID", func(t *testing.T) {
		n, err := s.DeleteSubject(c, "bob", NewID())
		if err != nil || n != 1 {
			t.Fatalf("DeleteSubject(bob, unknown ID) = %d, %v; want 1, nil", n, err)
		}
		wantTombstone(t, s, bob, storage.StateDestroyed, storage.Hash{}, time.Time{})
		wantList(t, s, "alice", alice[2])
	})
}
