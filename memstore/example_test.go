package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

func Example() {
	ctx := context.Background()
	store := memstore.New(nil)
	defer store.Close()

	now := time.Now().UTC().Truncate(time.Microsecond)
	_, hash := storetest.NewToken()
	r := &storage.Record{
		Hash:          hash,
		ID:            "TGV0J3MgbWVldCBhdCBub29u",
		Subject:       "alice",
		Kind:          storage.KindBrowser,
		CreatedAt:     now,
		IdleExpiresAt: now.Add(30 * time.Minute),
		ExpiresAt:     now.Add(12 * time.Hour),
		Data:          []byte(`{"theme":"dark"}`),
	}
	if err := store.Create(ctx, r); err != nil {
		panic(err)
	}
	got, _ := store.Get(ctx, hash)
	fmt.Println(got.Subject, got.Version, string(got.Data))

	// Sign alice out everywhere: her session becomes a tombstone.
	n, _ := store.DeleteSubject(ctx, "alice", "")
	got, _ = store.Get(ctx, hash)
	fmt.Println(n, got.State == storage.StateDestroyed)
	// Output:
	// alice 1 {"theme":"dark"}
	// 1 true
}

func ExampleStore_DeleteExpired() {
	ctx := context.Background()
	// No background sweep: the caller drives expiry with its own clock.
	store := memstore.New(&memstore.Options{SweepInterval: -1})
	defer store.Close()

	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i, idle := range []time.Duration{10 * time.Minute, 20 * time.Minute, 3 * time.Hour} {
		_, hash := storetest.NewToken()
		store.Create(ctx, &storage.Record{
			Hash:          hash,
			ID:            fmt.Sprintf("session-%d", i),
			Kind:          storage.KindAPI,
			IdleExpiresAt: t0.Add(idle),
			ExpiresAt:     t0.Add(12 * time.Hour),
		})
	}
	n, _ := store.DeleteExpired(ctx, t0.Add(time.Hour), 100)
	fmt.Println("dropped", n)
	_, err := store.GetByID(ctx, "session-2")
	fmt.Println("session-2:", err)
	// Output:
	// dropped 2
	// session-2: <nil>
}
