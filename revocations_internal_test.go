package keycard

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storage"
)

// plainStore hides every optional interface of the store it wraps.
type plainStore struct{ storage.Store }

// TestRecordRevocations: the fallback that keeps revocation entries as
// records in a plain Store keeps the storage.Revocations contract: a
// generation never starts again lower after its entry was dropped,
// concurrent revocations of one subject get distinct generations, the
// later until wins, and bad arguments are refused.
func TestRecordRevocations(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	mem := memstore.New(&memstore.Options{SweepInterval: -1})
	defer mem.Close()
	rr := recordRevocations{plainStore{mem}}

	if err := rr.DenyID(ctx, "", now.Add(time.Hour)); err == nil {
		t.Error("DenyID of an empty ID worked")
	}
	if _, err := rr.RevokeSubject(ctx, "", "", now.Add(time.Hour)); err == nil {
		t.Error("RevokeSubject of an empty subject worked")
	}
	if _, err := rr.RevokeSubject(ctx, "alice", "", time.Time{}); err == nil {
		t.Error("RevokeSubject until the zero time worked")
	}

	if err := rr.DenyID(ctx, "id1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := rr.DenyID(ctx, "id1", now.Add(time.Hour)); err != nil { // the later until is kept
		t.Fatal(err)
	}
	g1, err := rr.RevokeSubject(ctx, "alice", "keep", now.Add(time.Minute))
	if err != nil || g1.N == 0 || g1.Except != "keep" {
		t.Fatalf("first RevokeSubject = %+v, %v", g1, err)
	}
	denied, gen, err := rr.Revocation(ctx, "id1", "alice")
	if err != nil || !denied || gen != g1 {
		t.Fatalf("Revocation = %v, %+v, %v; want denied and %+v", denied, gen, err, g1)
	}
	if d, g, _ := rr.Revocation(ctx, "other", "bob"); d || g != (storage.Generation{}) {
		t.Fatalf("Revocation of nothing = %v, %+v", d, g)
	}

	// Half an hour on, the generation's entry is dropped; the deny entry is not.
	for {
		n, err := mem.DeleteExpired(ctx, now.Add(30*time.Minute), 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if d, g, _ := rr.Revocation(ctx, "id1", "alice"); !d || g != (storage.Generation{}) {
		t.Fatalf("after the generation expired: %v, %+v; want still denied, no generation", d, g)
	}
	g2, err := rr.RevokeSubject(ctx, "alice", "", now.Add(time.Hour))
	if err != nil || g2.N <= g1.N {
		t.Fatalf("RevokeSubject after the entry was dropped = %+v, %v; want an N above %d", g2, err, g1.N)
	}

	var wg sync.WaitGroup
	seen := make(chan uint64, 16)
	for range 16 {
		wg.Go(func() {
			g, err := rr.RevokeSubject(ctx, "carol", "", now.Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			seen <- g.N
		})
	}
	wg.Wait()
	close(seen)
	distinct, max := map[uint64]bool{}, uint64(0)
	for n := range seen {
		distinct[n] = true
		max = maxOf(max, n)
	}
	if len(distinct) != 16 {
		t.Fatalf("16 concurrent RevokeSubject calls got %d distinct generations", len(distinct))
	}
	if _, g, _ := rr.Revocation(ctx, "", "carol"); g.N != max {
		t.Fatalf("stored generation %d after concurrent revocations, want the highest, %d", g.N, max)
	}
	// None of it is a session.
	if list, _ := mem.List(ctx, ""); len(list) != 0 {
		t.Fatalf("List lists %d revocation records", len(list))
	}
}

func maxOf(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
