package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storetest"
)

// TestDeleteSubjectRacesRotate: a renewal racing "sign out everywhere" must
// not leave a live successor behind, also when the two run in two processes
// (two Stores on one file).
func TestDeleteSubjectRacesRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	a := open(t, path, &sqlitestore.Options{SynchronousNormal: true})
	b := open(t, path, &sqlitestore.Options{SynchronousNormal: true})
	ctx := context.Background()
	for round := range 100 {
		r := storetest.NewRecord("alice")
		if err := a.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		next := storetest.NewRecord("alice")
		next.ID = r.ID
		var wg sync.WaitGroup
		var rotErr, delErr error
		start := make(chan struct{})
		wg.Go(func() { <-start; rotErr = a.Rotate(ctx, r, next, time.Time{}) })
		wg.Go(func() { <-start; _, delErr = b.DeleteSubject(ctx, "alice", "") })
		close(start)
		wg.Wait()
		if delErr != nil {
			t.Fatalf("round %d: DeleteSubject: %v", round, delErr)
		}
		if rotErr != nil && !errors.Is(rotErr, keycard.ErrNotFound) && !errors.Is(rotErr, keycard.ErrConflict) {
			t.Fatalf("round %d: Rotate: %v", round, rotErr)
		}
		if l, err := a.List(ctx, "alice"); err != nil || len(l) != 0 {
			t.Fatalf("round %d: after Rotate (%v) raced DeleteSubject, List = %d live records, %v; want none", round, rotErr, len(l), err)
		}
	}
}

// TestRotateChecksSubject: Rotate is a compare-and-swap on the version and
// the subject of old.
func TestRotateChecksSubject(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "keycard.db"), nil)
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
