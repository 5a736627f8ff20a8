package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// TestRevocationRacesRotateTwoProcesses is the conformance suite's
// DeleteSubjectRacesRotate and DeleteByIDRacesRotate with the renewal and
// the revocation in two processes (two Stores on one file).
func TestRevocationRacesRotateTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	a := open(t, path, &sqlitestore.Options{SynchronousNormal: true})
	b := open(t, path, &sqlitestore.Options{SynchronousNormal: true})
	storetest.DeleteSubjectRacesRotate(t, a, b, 100)
	storetest.DeleteByIDRacesRotate(t, a, b, 100)
}

// TestReadersShared runs more concurrent reads than there are read
// connections, next to writes: every read waits for a free reader and gets
// the right record.
func TestReadersShared(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "keycard.db"), &sqlitestore.Options{ReadConns: 2, SynchronousNormal: true})
	ctx := context.Background()
	recs := make([]*storage.Record, 8)
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
	if _, err := s.Get(ctx, r.Hash); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get after Close: %v, want an error that is not ErrNotFound", err)
	}
	if _, err := s.List(ctx, "alice"); err == nil {
		t.Error("List after Close succeeded")
	}
}

// TestTwoProcesses: two Stores on one file, as two Keycard processes on one
// machine would have: each sees the other's writes and revocations at once.
func TestTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	storetest.TwoNodes(t, open(t, path, nil), open(t, path, nil))
}

// TestMergesRaceUpdatesTwoProcesses: merges in one process racing read and
// compare-and-swap writes in another (two Stores on one file) lose nothing.
func TestMergesRaceUpdatesTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	a := open(t, path, &sqlitestore.Options{SynchronousNormal: true})
	b := open(t, path, &sqlitestore.Options{SynchronousNormal: true})
	storetest.MergesRaceUpdates(t, a, b)
}
