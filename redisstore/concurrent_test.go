package redisstore_test

import (
	"sync"
	"testing"

	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/storetest"
)

// TestConcurrentDeleteSubject runs several revocations of one subject at
// once, as several nodes answering "sign out everywhere" would: every one
// succeeds and each session is counted once.
func TestConcurrentDeleteSubject(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) *redisstore.Store{"standalone": newStandalone, "cluster": newCluster} {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := t.Context()
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
				if l, err := s.List(ctx, "alice"); err != nil || len(l) != 0 {
					t.Errorf("round %d: List after the revocations = %d records, %v; want none", round, len(l), err)
				}
			}
		})
	}
}
