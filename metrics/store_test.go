package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storetest"
)

// TestInstrumentStoreConformance runs the Store conformance suite through
// the wrapper: instrumenting a store must not change what it does.
func TestInstrumentStoreConformance(t *testing.T) {
	c := newCollector(t)
	storetest.Run(t, func(t *testing.T) keycard.Store {
		s := memstore.New(nil)
		t.Cleanup(s.Close)
		return c.InstrumentStore(s)
	})
	if n := observations(t, c, "keycard_store_duration_seconds", map[string]string{"op": "create", "result": "ok"}); n == 0 {
		t.Fatal("the conformance suite ran without a create{ok} observation")
	}
}

// TestInstrumentStoreOps calls every method through the wrapper, for every
// result, and checks the observation, the returned values and the error.
func TestInstrumentStoreOps(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		op   string
		call func(keycard.Store) (any, error)
	}{
		{"get", func(s keycard.Store) (any, error) { return s.Get(ctx, keycard.Hash{1}) }},
		{"get_by_id", func(s keycard.Store) (any, error) { return s.GetByID(ctx, "id") }},
		{"create", func(s keycard.Store) (any, error) { return nil, s.Create(ctx, &keycard.Record{}) }},
		{"update", func(s keycard.Store) (any, error) { return nil, s.Update(ctx, &keycard.Record{}) }},
		{"rotate", func(s keycard.Store) (any, error) {
			return nil, s.Rotate(ctx, &keycard.Record{}, &keycard.Record{}, time.Time{})
		}},
		{"delete", func(s keycard.Store) (any, error) { return nil, s.Delete(ctx, keycard.Hash{1}) }},
		{"delete_by_id", func(s keycard.Store) (any, error) { return nil, s.DeleteByID(ctx, "id") }},
		{"list", func(s keycard.Store) (any, error) { return s.List(ctx, "alice") }},
		{"delete_subject", func(s keycard.Store) (any, error) { return s.DeleteSubject(ctx, "alice", "") }},
		{"delete_expired", func(s keycard.Store) (any, error) { return s.DeleteExpired(ctx, time.Now(), 10) }},
	}
	results := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{keycard.ErrNotFound, "not_found"},
		{keycard.ErrConflict, "conflict"},
		{keycard.ErrExists, "exists"},
		{fmt.Errorf("redisstore: %w", keycard.ErrConflict), "conflict"},
		{errBroken, "error"},
		{context.Canceled, "error"},
		{context.DeadlineExceeded, "error"},
		{errors.New("keycard: session not found"), "error"}, // same text, not the sentinel
	}
	for _, call := range calls {
		for _, res := range results {
			t.Run(call.op+"/"+fmt.Sprint(res.err), func(t *testing.T) {
				c := newCollector(t)
				inner := &fakeStore{err: res.err}
				s := c.InstrumentStore(inner)
				wantV, wantErr := call.call(inner)
				gotV, gotErr := call.call(s)
				if gotErr != wantErr {
					t.Fatalf("error = %v, want %v unchanged", gotErr, wantErr)
				}
				if fmt.Sprint(gotV) != fmt.Sprint(wantV) {
					t.Fatalf("result = %v, want %v", gotV, wantV)
				}
				labels := map[string]string{"op": call.op, "result": res.want}
				if n := observations(t, c, "keycard_store_duration_seconds", labels); n != 1 {
					t.Fatalf("store_duration_seconds%v observations = %d, want 1", labels, n)
				}
				if n := len(gather(t, c)["keycard_store_duration_seconds"].samples); n != 1 {
					t.Fatalf("store_duration_seconds has %d series, want 1", n)
				}
			})
		}
	}
}

// TestInstrumentStoreRealErrors checks the result labels against memstore's
// own answers rather than a fake's.
func TestInstrumentStoreRealErrors(t *testing.T) {
	c := newCollector(t)
	inner := memstore.New(nil)
	t.Cleanup(inner.Close)
	s := c.InstrumentStore(inner)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, h := keycard.NewToken()
	rec := &keycard.Record{Hash: h, ID: "id-1", Kind: keycard.KindBrowser, CreatedAt: now, RenewedAt: now,
		LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)}
	if err := s.Create(ctx, rec.Clone()); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, rec.Clone()); !errors.Is(err, keycard.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	stale := rec.Clone()
	stale.Version = 7
	if err := s.Update(ctx, stale); !errors.Is(err, keycard.ErrConflict) {
		t.Fatalf("stale Update: %v, want ErrConflict", err)
	}
	if _, err := s.Get(ctx, keycard.Hash{9}); !errors.Is(err, keycard.ErrNotFound) {
		t.Fatalf("Get unknown: %v, want ErrNotFound", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(cancelled, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context: %v, want context.Canceled", err)
	}
	tests := []struct {
		op, result string
		want       uint64
	}{
		{"create", "ok", 1},
		{"create", "exists", 1},
		{"update", "conflict", 1},
		{"get", "not_found", 1},
		{"get", "error", 1}, // the cancelled context
	}
	for _, tt := range tests {
		labels := map[string]string{"op": tt.op, "result": tt.result}
		if n := observations(t, c, "keycard_store_duration_seconds", labels); n != tt.want {
			t.Errorf("store_duration_seconds%v = %d observations, want %d", labels, n, tt.want)
		}
	}
}
