package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/storetest"
)

// TestConcurrentDeleteSubject runs several revocations of one subject at
// once, as several nodes answering "sign out everywhere" would: every one
// succeeds (no deadlock reaches a caller) and each session is counted once.
func TestConcurrentDeleteSubject(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for round := range 5 {
		const n = 40
		for range n {
			if err := s.Create(ctx, storetest.NewRecord("alice")); err != nil {
				t.Fatal(err)
			}
		}
		const racers = 6
		counts := make([]int, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { counts[i], errs[i] = s.DeleteSubject(ctx, "alice", "") })
		}
		wg.Wait()
		total := 0
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d: DeleteSubject %d: %v", round, i, errs[i])
			}
			total += counts[i]
		}
		if total != n {
			t.Errorf("round %d: the revocations destroyed %d sessions in all, want %d", round, total, n)
		}
	}
}

// TestDeleteSubjectRacesRotate: a renewal racing "sign out everywhere" must
// not leave a live successor behind.
func TestDeleteSubjectRacesRotate(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for round := range 200 {
		r := storetest.NewRecord("alice")
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		next := storetest.NewRecord("alice")
		next.ID = r.ID
		var wg sync.WaitGroup
		var rotErr, delErr error
		start := make(chan struct{})
		wg.Go(func() { <-start; rotErr = s.Rotate(ctx, r, next, time.Time{}) })
		wg.Go(func() { <-start; _, delErr = s.DeleteSubject(ctx, "alice", "") })
		close(start)
		wg.Wait()
		if delErr != nil {
			t.Fatalf("round %d: DeleteSubject: %v", round, delErr)
		}
		if rotErr != nil && !errors.Is(rotErr, keycard.ErrNotFound) && !errors.Is(rotErr, keycard.ErrConflict) {
			t.Fatalf("round %d: Rotate: %v", round, rotErr)
		}
		if l, err := s.List(ctx, "alice"); err != nil || len(l) != 0 {
			t.Fatalf("round %d: after Rotate (%v) raced DeleteSubject, List = %d live records, %v; want none", round, rotErr, len(l), err)
		}
	}
}

// TestRotateChecksSubject: Rotate is a compare-and-swap on the version and
// the subject of old.
func TestRotateChecksSubject(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, subjects := range [][2]string{{"alice", "bob"}, {"", "bob"}, {"alice", ""}} {
		r := storetest.NewRecord(subjects[0])
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		stale := r.Clone()
		stale.Subject = subjects[1]
		next := storetest.NewRecord("carol")
		next.ID = r.ID
		if err := s.Rotate(ctx, stale, next, time.Time{}); !errors.Is(err, keycard.ErrConflict) {
			t.Errorf("Rotate with subject %q of a record of %q: %v, want ErrConflict", subjects[1], subjects[0], err)
		}
		if g, err := s.Get(ctx, r.Hash); err != nil || g.State != keycard.StateLive {
			t.Errorf("record after the refused Rotate: %v, %v; want live", g, err)
		}
	}
}
