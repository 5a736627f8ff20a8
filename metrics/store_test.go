package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/metrics"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// TestInstrumentStoreConformance runs the Store conformance suite through
// the wrapper: instrumenting a store must not change what it does.
func TestInstrumentStoreConformance(t *testing.T) {
	c := newCollector(t)
	storetest.Run(t, func(t *testing.T) storage.Store {
		s := memstore.New(nil)
		t.Cleanup(s.Close)
		return c.InstrumentStore(s)
	})
	if n := observations(t, c, "keycard_store_duration_seconds", map[string]string{"op": "create", "result": "ok"}); n == 0 {
		t.Fatal("the conformance suite ran without a create{ok} observation")
	}
	// memstore is a Merger, so the suite's Merge tests ran through the
	// wrapper rather than being skipped.
	if n := observations(t, c, "keycard_store_duration_seconds", map[string]string{"op": "merge", "result": "ok"}); n == 0 {
		t.Fatal("the conformance suite ran without a merge{ok} observation")
	}
}

// TestInstrumentStoreOps calls every method through the wrapper, for every
// result, and checks the observation, the returned values and the error.
func TestInstrumentStoreOps(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		op   string
		call func(storage.Store) (any, error)
	}{
		{"get", func(s storage.Store) (any, error) { return s.Get(ctx, storage.Hash{1}) }},
		{"get_by_id", func(s storage.Store) (any, error) { return s.GetByID(ctx, "id") }},
		{"create", func(s storage.Store) (any, error) { return nil, s.Create(ctx, &storage.Record{}) }},
		{"update", func(s storage.Store) (any, error) { return nil, s.Update(ctx, &storage.Record{}) }},
		{"rotate", func(s storage.Store) (any, error) {
			return nil, s.Rotate(ctx, &storage.Record{}, &storage.Record{}, time.Time{})
		}},
		{"delete", func(s storage.Store) (any, error) { return nil, s.Delete(ctx, storage.Hash{1}) }},
		{"delete_by_id", func(s storage.Store) (any, error) { return nil, s.DeleteByID(ctx, "id") }},
		{"list", func(s storage.Store) (any, error) { return s.List(ctx, "alice") }},
		{"delete_subject", func(s storage.Store) (any, error) { return s.DeleteSubject(ctx, "alice", "") }},
		{"delete_expired", func(s storage.Store) (any, error) { return s.DeleteExpired(ctx, time.Now(), 10) }},
		{"merge", func(s storage.Store) (any, error) {
			m, ok := s.(storage.Merger)
			if !ok {
				return nil, errNotMerger
			}
			return m.Merge(ctx, storage.Hash{1}, &storage.Merge{})
		}},
	}
	results := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{storage.ErrNotFound, "not_found"},
		{storage.ErrConflict, "conflict"},
		{storage.ErrExists, "exists"},
		{fmt.Errorf("redisstore: %w", storage.ErrConflict), "conflict"},
		{errBroken, "error"},
		{context.Canceled, "error"},
		{context.DeadlineExceeded, "error"},
		{errors.New("keycard: session not found"), "error"}, // same text, not the sentinel
	}
	for _, call := range calls {
		for _, res := range results {
			t.Run(call.op+"/"+fmt.Sprint(res.err), func(t *testing.T) {
				c := newCollector(t)
				inner := &fakeMerger{fakeStore{err: res.err}}
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
	_, h := storetest.NewToken()
	rec := &storage.Record{Hash: h, ID: "id-1", Kind: keycard.KindBrowser, CreatedAt: now, RenewedAt: now,
		LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)}
	if err := s.Create(ctx, rec.Clone()); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, rec.Clone()); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	stale := rec.Clone()
	stale.Version = 7
	if err := s.Update(ctx, stale); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale Update: %v, want ErrConflict", err)
	}
	if _, err := s.Get(ctx, storage.Hash{9}); !errors.Is(err, storage.ErrNotFound) {
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

var errNotMerger = errors.New("the store does not implement storage.Merger")

// fakeMerger is a fakeStore that also implements storage.Merger.
type fakeMerger struct{ fakeStore }

func (f *fakeMerger) Merge(context.Context, storage.Hash, *storage.Merge) (*storage.Record, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &storage.Record{Version: 5}, nil
}

// casOnly hides the Merge method of the store it embeds: only the methods
// of storage.Store are promoted.
type casOnly struct{ storage.Store }

// TestInstrumentStoreOptionalInterfaces checks that the wrapper implements
// exactly the optional interfaces of the store it wraps, both ways: it must
// not hide one (a Manager would lose the store's fast path) nor claim one the
// store lacks (the Manager would call a method that cannot work).
func TestInstrumentStoreOptionalInterfaces(t *testing.T) {
	// optional lists the interfaces a Store may add that Keycard finds by
	// type assertion; grep for ".(keycard." when adding one.
	optional := []struct {
		name string
		has  func(storage.Store) bool
	}{
		{"storage.Merger", func(s storage.Store) bool { _, ok := s.(storage.Merger); return ok }},
	}
	newMem := func(t *testing.T) storage.Store {
		s := memstore.New(nil)
		t.Cleanup(s.Close)
		return s
	}
	stores := []struct {
		name  string
		inner func(*testing.T) storage.Store
	}{
		{"memstore", newMem},
		{"memstore without Merge", func(t *testing.T) storage.Store { return casOnly{newMem(t)} }},
		{"fake store", func(*testing.T) storage.Store { return &fakeStore{} }},
		{"fake merger", func(*testing.T) storage.Store { return &fakeMerger{} }},
		// Hostile rows: instrumented twice (two collectors on one store), and
		// the Merge of an instrumented store hidden before instrumenting again.
		{"instrumented memstore", func(t *testing.T) storage.Store { return newCollector(t).InstrumentStore(newMem(t)) }},
		{"instrumented memstore without Merge", func(t *testing.T) storage.Store {
			return casOnly{newCollector(t).InstrumentStore(newMem(t))}
		}},
		{"typed nil memstore", func(*testing.T) storage.Store { return (*memstore.Store)(nil) }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			inner := st.inner(t)
			s := newCollector(t).InstrumentStore(inner)
			for _, o := range optional {
				if got, want := o.has(s), o.has(inner); got != want {
					t.Errorf("wrapper implements %s: %v, want %v like the store it wraps", o.name, got, want)
				}
			}
		})
	}
}

// TestInstrumentStoreMerge merges through the wrapper of a memstore and
// checks the store's answer comes back unchanged and is observed as op merge.
func TestInstrumentStoreMerge(t *testing.T) {
	c := newCollector(t)
	inner := memstore.New(nil)
	t.Cleanup(inner.Close)
	s, ok := c.InstrumentStore(inner).(storage.Merger)
	if !ok {
		t.Fatal("the wrapper of a memstore does not implement storage.Merger")
	}
	ctx := context.Background()
	rec := storetest.NewRecord("alice")
	h := rec.Hash
	if err := s.Create(ctx, rec.Clone()); err != nil {
		t.Fatal(err)
	}
	m := &storage.Merge{Kind: keycard.KindBrowser, Now: rec.LastSeenAt.Add(time.Minute), IdleTimeout: time.Hour,
		Changes: []storage.Change{{Key: "color", Value: []byte(`"blue"`)}}}
	got, err := s.Merge(ctx, h, m)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	stored, err := inner.Get(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"color":"blue","k":"v"}`
	if string(got.Data) != want || got.Version != stored.Version || string(stored.Data) != want {
		t.Fatalf("Merge returned data %s version %d, store holds %s version %d, want %s in both",
			got.Data, got.Version, stored.Data, stored.Version, want)
	}
	// Declined merges: an unknown hash, another kind, a cancelled context.
	if _, err := s.Merge(ctx, storage.Hash{9}, m); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Merge of an unknown hash: %v, want ErrNotFound", err)
	}
	api := *m
	api.Kind = keycard.KindAPI
	if _, err := s.Merge(ctx, h, &api); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Merge of another kind: %v, want ErrNotFound", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Merge(cancelled, h, m); !errors.Is(err, context.Canceled) {
		t.Fatalf("Merge with a cancelled context: %v, want context.Canceled", err)
	}
	tests := []struct {
		result string
		want   uint64
	}{
		{"ok", 1},
		{"not_found", 2},
		{"error", 1},
	}
	for _, tt := range tests {
		labels := map[string]string{"op": "merge", "result": tt.result}
		if n := observations(t, c, "keycard_store_duration_seconds", labels); n != tt.want {
			t.Errorf("store_duration_seconds%v = %d observations, want %d", labels, n, tt.want)
		}
	}
}

// TestInstrumentStoreKeepsOneCallWrites runs a Manager on an instrumented
// memstore: a request that only writes a value must cost one Merge, as on
// the bare memstore, not a Get and an Update.
func TestInstrumentStoreKeepsOneCallWrites(t *testing.T) {
	c := newCollector(t)
	store := memstore.New(nil)
	t.Cleanup(store.Close)
	m, err := keycard.New(c.InstrumentStore(store), &keycard.Options{Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.Login(r.Context(), "alice"); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.FromContext(r.Context()).Put("color", "blue"); err != nil {
			http.Error(w, "no session", http.StatusBadRequest)
		}
	})
	h := m.Handler(mux)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatalf("login: status %d and no cookie", w.Code)
	}
	before := storeCalls(t, c)
	put := httptest.NewRequest("POST", "/put", nil)
	for _, ck := range cookies {
		put.AddCookie(ck)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, put)
	if w.Code != http.StatusOK {
		t.Fatalf("put: status %d", w.Code)
	}
	after := storeCalls(t, c)
	calls := map[string]uint64{}
	for op, n := range after {
		if d := n - before[op]; d != 0 {
			calls[op] = d
		}
	}
	if len(calls) != 1 || calls["merge/ok"] != 1 {
		t.Fatalf("a write-only request made the store calls %v, want one merge/ok", calls)
	}
}

// storeCalls returns the observations of keycard_store_duration_seconds so
// far, keyed by "op/result".
func storeCalls(t *testing.T, c *metrics.Collector) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, s := range gather(t, c)["keycard_store_duration_seconds"].samples {
		out[s.labels["op"]+"/"+s.labels["result"]] = s.count
	}
	return out
}
