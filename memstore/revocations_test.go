package memstore

import (
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// TestRevocationWatcher: memstore keeps the revocation state of sealed
// sessions (storage.RevocationWatcher is required of every Keycard store),
// and a watcher has seen a change by the time the call that made it returns.
func TestRevocationWatcher(t *testing.T) {
	var s storage.Store = New(nil)
	defer s.(*Store).Close()
	w, ok := s.(storage.RevocationWatcher)
	if !ok {
		t.Fatal("memstore.Store does not implement storage.RevocationWatcher")
	}
	storetest.RevocationsPropagate(t, s, s, 50)
	got := make(chan storage.RevocationEvent, 4)
	ctx := t.Context()
	go w.WatchRevocations(ctx, func(ev storage.RevocationEvent) { got <- ev })
	if ev := <-got; ev.Type != storage.RevocationsUp {
		t.Fatalf("first event %+v, want RevocationsUp", ev)
	}
	if err := w.DenyID(ctx, "x", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev != (storage.RevocationEvent{Type: storage.IDDenied, ID: "x"}) {
			t.Errorf("event %+v, want IDDenied x", ev)
		}
	default:
		t.Error("DenyID returned before the watcher was told")
	}
}

// TestRevocationSweep: the background sweep drops expired deny entries and
// generations with the sessions, on the Store's clock, in bounded batches.
func TestRevocationSweep(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := New(&Options{now: func() time.Time { return now }, SweepInterval: -1})
	defer s.Close()
	ctx := t.Context()
	for i := range 600 {
		id := storetest.NewID()
		until := now.Add(-time.Minute)
		if i%3 == 0 {
			until = now.Add(time.Hour)
		}
		if err := s.DenyID(ctx, id, until); err != nil {
			t.Fatal(err)
		}
		// Denied again with an earlier until: the later one stands.
		if err := s.DenyID(ctx, id, until.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeSubject(ctx, id, "", until); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for {
		n, err := s.DeleteExpired(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n > 100 {
			t.Fatalf("DeleteExpired(limit 100) = %d", n)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 800 {
		t.Errorf("DeleteExpired dropped %d entries, want 800 (400 deny entries, 400 generations)", total)
	}
	s.rev.mu.Lock()
	defer s.rev.mu.Unlock()
	if len(s.rev.denied) != 200 || len(s.rev.gens) != 200 {
		t.Errorf("left %d deny entries and %d generations, want 200 of each", len(s.rev.denied), len(s.rev.gens))
	}
}

// BenchmarkRevocationPropagation: memstore tells its watchers inside the
// call that made the change, so the delay after the call is 0 and the
// cycle is the call itself.
func BenchmarkRevocationPropagation(b *testing.B) {
	s := New(nil)
	defer s.Close()
	storetest.BenchRevocationPropagation(b, s, s)
}
