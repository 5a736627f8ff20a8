package storetest

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// BackgroundSweep checks a store's background sweep on testing/synctest's
// fake clock. It calls open inside a synctest bubble, so that the store's
// sweep goroutine and its ticker run on the fake clock; open returns a new,
// empty store made there (a store on a server opens its connections there
// too) and registers its Close with t.Cleanup. every is the interval the
// store sweeps at, or a negative value for a store whose background sweep
// is off.
//
// The store gets live records whose idle or absolute deadline passed a
// minute ago, a destroyed and a rotated tombstone whose ExpiresAt passed,
// a live record whose idle deadline comes half an interval later, and one
// that stays. A millisecond before the first interval has passed, every one
// is still there: nobody called DeleteExpired and nothing swept. A
// millisecond after, all but the last are gone, without anyone calling
// DeleteExpired, and the last is unchanged. With the sweep off, all are
// still there ten minutes later, until DeleteExpired drops them.
//
// A store whose sweep works in coarser steps than its interval (memstore
// files deadlines in one-minute buckets) passes with its default interval
// of one minute: the bubble's clock starts on a minute.
func BackgroundSweep(t *testing.T, every time.Duration, open func(t *testing.T) storage.Store) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		s := open(t)
		c := ctx(t)
		now := Now()
		step := every
		if every < 0 {
			step = time.Minute
		}
		const sub = "sweep"
		record := func(idle, abs time.Duration) *storage.Record {
			r := NewRecord(sub)
			r.IdleExpiresAt, r.ExpiresAt = now.Add(idle), now.Add(abs)
			mustCreate(t, s, r)
			return r
		}
		var expired []*storage.Record
		for range 3 {
			expired = append(expired, record(-time.Minute, time.Hour))
		}
		expired = append(expired, record(time.Hour, -time.Minute), record(-2*time.Minute, -time.Minute))
		destroyed := record(-time.Minute, -time.Minute)
		if err := s.Delete(c, destroyed.Hash); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		rotated := record(-time.Minute, -time.Minute)
		next := NewRecord(sub)
		next.ID, next.IdleExpiresAt, next.ExpiresAt = rotated.ID, now.Add(-time.Minute), now.Add(-time.Minute)
		if err := s.Rotate(c, rotated, next, now.Add(-time.Minute)); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		expired = append(expired, destroyed, rotated, next, record(step/2, time.Hour))
		keep := record(30*time.Minute, 12*time.Hour)
		keepWant := keep.Clone()

		present := func(when string) {
			t.Helper()
			for i, r := range append(expired, keep) {
				if _, err := s.Get(c, r.Hash); err != nil {
					t.Fatalf("%s: Get of record %d: %v, want it still there", when, i, err)
				}
			}
		}
		time.Sleep(step - time.Millisecond)
		synctest.Wait()
		present("a millisecond before the first sweep")
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if every < 0 {
			present("a millisecond after the first sweep would have run, with the sweep off")
			time.Sleep(10 * time.Minute)
			synctest.Wait()
			present("ten minutes later, with the sweep off")
			if n := drainExpired(t, s, time.Now(), 100); n != len(expired) {
				t.Errorf("DeleteExpired dropped %d records and tombstones, want the %d expired", n, len(expired))
			}
		}
		for i, r := range expired {
			if _, err := s.Get(c, r.Hash); err == nil {
				t.Fatalf("expired record %d is still there after the first sweep", i)
			} else {
				wantErr(t, "Get after the sweep", err, storage.ErrNotFound)
			}
		}
		wantRecord(t, s, keepWant)
		wantList(t, s, sub, keepWant)
	})
}
