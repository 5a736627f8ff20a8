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

// TestReadersShared runs more concurrent reads than there are read
// connections, next to writes: every read waits for a free reader and gets
// the right record.
func TestReadersShared(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "keycard.db"), &sqlitestore.Options{ReadConns: 2, SynchronousNormal: true})
	ctx := context.Background()
	recs := make([]*keycard.Record, 8)
	for i := range recs {
		recs[i] = storetest.NewRecord("alice")
		if err := s.Create(ctx, recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i, r := range recs {
		wg.Go(func() {
			for range 100 {
				if got, err := s.Get(ctx, r.Hash); err != nil || got.ID != r.ID {
					t.Errorf("Get = %v, %v", got, err)
					return
				}
				if got, err := s.GetByID(ctx, r.ID); err != nil || got.Hash != r.Hash {
					t.Errorf("GetByID = %v, %v", got, err)
					return
				}
				if l, err := s.List(ctx, "alice"); err != nil || len(l) < len(recs) {
					t.Errorf("List = %d records, %v", len(l), err)
					return
				}
				if i%2 == 0 {
					if err := s.Create(ctx, storetest.NewRecord("bob")); err != nil {
						t.Errorf("Create: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestCloseWithReadsUnderWay closes the Store while reads run: Close waits
// for them, later reads fail, nothing hangs or panics.
func TestCloseWithReadsUnderWay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	s, err := sqlitestore.Open(path, &sqlitestore.Options{ReadConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := storetest.NewRecord("alice")
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 6)
	for range 6 {
		wg.Go(func() {
			started <- struct{}{}
			for {
				if _, err := s.Get(ctx, r.Hash); err != nil {
					return // closed
				}
			}
		})
	}
	for range 6 {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reads still running 10s after Close")
	}
	if _, err := s.Get(ctx, r.Hash); err == nil || errors.Is(err, keycard.ErrNotFound) {
		t.Errorf("Get after Close: %v, want an error that is not ErrNotFound", err)
	}
	if _, err := s.List(ctx, "alice"); err == nil {
		t.Error("List after Close succeeded")
	}
}
