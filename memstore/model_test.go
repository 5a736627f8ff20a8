package memstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// model is the plainest reading of the Store contract, with memstore's own
// choices where the contract leaves room: Delete keeps the version, Rotate
// stores old.Version+1 in the tombstone and checks next.Hash after old.
type model struct {
	recs map[storage.Hash]*storage.Record
}

func (m *model) liveID(id string) *storage.Record {
	for _, r := range m.recs {
		if r.State == storage.StateLive && r.ID == id {
			return r
		}
	}
	return nil
}

func (m *model) create(r *storage.Record) error {
	if m.recs[r.Hash] != nil || m.liveID(r.ID) != nil {
		return storage.ErrExists
	}
	c := r.Clone()
	c.Version = 1
	m.recs[r.Hash] = c
	return nil
}

func (m *model) live(r *storage.Record) (*storage.Record, error) {
	cur := m.recs[r.Hash]
	if cur == nil || cur.State != storage.StateLive {
		return nil, storage.ErrNotFound
	}
	if cur.Version != r.Version {
		return nil, storage.ErrConflict
	}
	return cur, nil
}

func (m *model) update(r *storage.Record) error {
	cur, err := m.live(r)
	if err != nil {
		return err
	}
	c := r.Clone()
	c.ID, c.Subject, c.Version = cur.ID, cur.Subject, cur.Version+1
	m.recs[r.Hash] = c
	return nil
}

func (m *model) rotate(old, next *storage.Record, grace time.Time) error {
	cur, err := m.live(old)
	if err != nil {
		return err
	}
	if m.recs[next.Hash] != nil {
		return storage.ErrExists
	}
	ts := cur.Tombstone(storage.StateRotated, next.Hash, grace)
	ts.Version++
	m.recs[old.Hash] = ts
	n := next.Clone()
	n.Version = 1
	m.recs[next.Hash] = n
	return nil
}

func (m *model) destroy(r *storage.Record) {
	m.recs[r.Hash] = r.Tombstone(storage.StateDestroyed, storage.Hash{}, time.Time{})
}

func (m *model) list(subject string) []*storage.Record {
	var out []*storage.Record
	for _, r := range m.recs {
		if subject != "" && r.State == storage.StateLive && r.Subject == subject {
			out = append(out, r)
		}
	}
	return out
}

func (m *model) deleteExpired(now time.Time) int {
	n := 0
	for h, r := range m.recs {
		if r.KeepUntil().Before(now) {
			delete(m.recs, h)
			n++
		}
	}
	return n
}

func errClass(err error) string {
	for _, e := range []error{storage.ErrNotFound, storage.ErrExists, storage.ErrConflict} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "nil"
}

func sameSet(got, want []*storage.Record) string {
	key := func(r *storage.Record) string { return r.Hash.String() }
	slices.SortFunc(got, func(a, b *storage.Record) int { return cmpString(key(a), key(b)) })
	slices.SortFunc(want, func(a, b *storage.Record) int { return cmpString(key(a), key(b)) })
	if len(got) != len(want) {
		return fmt.Sprintf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		if d := storetest.Diff(got[i], want[i]); d != "" {
			return d
		}
	}
	return ""
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestAgainstModel applies random operations over small pools of hashes,
// IDs, subjects and minute-aligned deadlines to a Store and to the model,
// and compares every answer.
func TestAgainstModel(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(seed, 99))
			s := New(&Options{Shards: 1 << (seed % 4), SweepInterval: -1})
			defer s.Close()
			m := &model{recs: map[storage.Hash]*storage.Record{}}

			hashes := make([]storage.Hash, 40)
			for i := range hashes {
				hashes[i] = storetest.NewHash()
			}
			ids := []string{storetest.NewID(), storetest.NewID(), storetest.NewID(), storetest.NewID(),
				storetest.NewID(), storetest.NewID(), "odd id", "odd\x00id", "AAAAAAAAAAAAAAAAAAAAAB", "", "{x}"}
			subjects := []string{"", "alice", "bob", "alice\x00", "Alice"}
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := t0
			minute := func(lo, hi int) time.Time { return clock.Add(time.Duration(lo+rng.IntN(hi-lo)) * time.Minute) }
			newRec := func() *storage.Record {
				r := storetest.NewRecord(subjects[rng.IntN(len(subjects))])
				r.Hash = hashes[rng.IntN(len(hashes))]
				r.ID = ids[rng.IntN(len(ids))]
				r.IdleExpiresAt = minute(-2, 30)
				r.ExpiresAt = minute(-2, 60)
				if rng.IntN(4) == 0 {
					r.IdleExpiresAt = time.Time{}
				}
				if rng.IntN(3) == 0 {
					r.IP, r.Fingerprint = "192.0.2.1", "fp"
				}
				return r
			}
			// read returns what a caller would hold for h: the stored record,
			// sometimes with a stale version.
			read := func(h storage.Hash) *storage.Record {
				r := m.recs[h]
				if r == nil {
					r = newRec()
					r.Hash, r.Version = h, 1
				}
				r = r.Clone()
				if rng.IntN(5) == 0 {
					r.Version += uint64(rng.IntN(3)) - 1
				}
				return r
			}
			for step := range 3000 {
				fail := func(format string, args ...any) {
					t.Fatalf("step %d: "+format, append([]any{step}, args...)...)
				}
				h := hashes[rng.IntN(len(hashes))]
				id := ids[rng.IntN(len(ids))]
				sub := subjects[rng.IntN(len(subjects))]
				switch op := rng.IntN(11); op {
				case 0, 1:
					r := newRec()
					if g, w := errClass(s.Create(ctx, r.Clone())), errClass(m.create(r)); g != w {
						fail("Create: %s, want %s", g, w)
					}
				case 2:
					got, err := s.Get(ctx, h)
					want := m.recs[h]
					if (err == nil) != (want != nil) {
						fail("Get: %v, want present %v", err, want != nil)
					}
					if want != nil {
						if d := storetest.Diff(got, want); d != "" {
							fail("Get differs:%s", d)
						}
					}
				case 3:
					got, err := s.GetByID(ctx, id)
					want := m.liveID(id)
					if (err == nil) != (want != nil) {
						fail("GetByID(%q): %v, want present %v", id, err, want != nil)
					}
					if want != nil {
						if d := storetest.Diff(got, want); d != "" {
							fail("GetByID differs:%s", d)
						}
					}
				case 4:
					r := read(h)
					r.Data = fmt.Appendf(nil, `{"step":%d}`, step)
					r.IdleExpiresAt = minute(-2, 30)
					if g, w := errClass(s.Update(ctx, r.Clone())), errClass(m.update(r)); g != w {
						fail("Update: %s, want %s", g, w)
					}
				case 5:
					old := read(h)
					next := newRec()
					next.ID = old.ID
					grace := time.Time{}
					if rng.IntN(2) == 0 {
						grace = minute(0, 2)
					}
					if g, w := errClass(s.Rotate(ctx, old.Clone(), next.Clone(), grace)), errClass(m.rotate(old, next, grace)); g != w {
						fail("Rotate: %s, want %s", g, w)
					}
				case 6:
					want := storage.ErrNotFound
					if r := m.recs[h]; r != nil && r.State == storage.StateLive {
						m.destroy(r)
						want = nil
					}
					if g, w := errClass(s.Delete(ctx, h)), errClass(want); g != w {
						fail("Delete: %s, want %s", g, w)
					}
				case 7:
					want := storage.ErrNotFound
					if r := m.liveID(id); r != nil {
						m.destroy(r)
						want = nil
					}
					if g, w := errClass(s.DeleteByID(ctx, id)), errClass(want); g != w {
						fail("DeleteByID(%q): %s, want %s", id, g, w)
					}
				case 8:
					got, err := s.List(ctx, sub)
					if err != nil {
						fail("List: %v", err)
					}
					if d := sameSet(got, m.list(sub)); d != "" {
						fail("List(%q): %s", sub, d)
					}
				case 9:
					except := ids[rng.IntN(len(ids))]
					want := 0
					for _, r := range m.list(sub) {
						if except == "" || r.ID != except {
							m.destroy(r)
							want++
						}
					}
					if n, err := s.DeleteSubject(ctx, sub, except); err != nil || n != want {
						fail("DeleteSubject(%q, %q) = %d, %v; want %d", sub, except, n, err, want)
					}
				case 10:
					clock = clock.Add(time.Duration(rng.IntN(3)) * time.Minute)
					want := m.deleteExpired(clock)
					if n, err := s.DeleteExpired(ctx, clock, 1<<30); err != nil || n != want {
						fail("DeleteExpired(+%v) = %d, %v; want %d", clock.Sub(t0), n, err, want)
					}
				}
			}
			s.check(t)
		})
	}
}
