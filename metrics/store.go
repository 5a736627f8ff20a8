package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// The op label values of keycard_store_duration_seconds, one per Store method
// and one per method of the optional store interfaces the wrapper keeps.
const (
	opGet           = "get"
	opGetByID       = "get_by_id"
	opCreate        = "create"
	opUpdate        = "update"
	opRotate        = "rotate"
	opDelete        = "delete"
	opDeleteByID    = "delete_by_id"
	opList          = "list"
	opDeleteSubject = "delete_subject"
	opDeleteExpired = "delete_expired"
	opMerge         = "merge" // storage.Merger
)

// InstrumentStore returns a storage.Store that passes every call to s and
// observes its latency in keycard_store_duration_seconds, labelled with the
// operation (get, get_by_id, create, update, rotate, delete, delete_by_id,
// list, delete_subject, delete_expired, merge) and the result: ok,
// not_found, conflict, exists (the Store sentinels, also when wrapped) or
// error for anything else, a cancelled context included. Results and errors
// are returned unchanged. Give the wrapper to keycard.New and keep s to
// close it:
//
//	sessions, err := keycard.New(collector.InstrumentStore(store), opts)
//
// The wrapper implements exactly the optional interfaces s implements, so
// the Manager finds the same abilities through it as in s: when s is a
// storage.Merger, so is the wrapper, and a request that only writes values
// stays one Merge call (op merge; a Merge the store declines counts as
// not_found) instead of becoming a Get and an Update. When s is not a
// Merger, neither is the wrapper.
//
// The wrapper is safe for concurrent use when s is.
func (c *Collector) InstrumentStore(s storage.Store) storage.Store {
	// The wrapper type is chosen once, here, by what s implements (the way
	// go-chi/chi's middleware.NewWrapResponseWriter picks a writer that
	// keeps http.Flusher and friends): a wrapper without Merge would hide
	// the store's one-round-trip write path from the Manager.
	base := &instrumentedStore{next: s, c: c}
	if m, ok := s.(storage.Merger); ok {
		return &instrumentedMerger{instrumentedStore: base, merger: m}
	}
	return base
}

// instrumentedStore instruments the methods of storage.Store.
type instrumentedStore struct {
	next storage.Store
	c    *Collector
}

// instrumentedMerger is the wrapper of a store that implements
// storage.Merger: the Store methods of instrumentedStore, and Merge.
type instrumentedMerger struct {
	*instrumentedStore
	merger storage.Merger
}

var _ storage.Merger = (*instrumentedMerger)(nil)

// observe records one call of op that began at start and ended with err.
func (s *instrumentedStore) observe(op string, start time.Time, err error) {
	s.c.storeDuration.WithLabelValues(op, result(err)).Observe(time.Since(start).Seconds())
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, storage.ErrNotFound):
		return "not_found"
	case errors.Is(err, storage.ErrConflict):
		return "conflict"
	case errors.Is(err, storage.ErrExists):
		return "exists"
	}
	return "error"
}

func (s *instrumentedStore) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	start := time.Now()
	r, err := s.next.Get(ctx, h)
	s.observe(opGet, start, err)
	return r, err
}

func (s *instrumentedStore) GetByID(ctx context.Context, id string) (*storage.Record, error) {
	start := time.Now()
	r, err := s.next.GetByID(ctx, id)
	s.observe(opGetByID, start, err)
	return r, err
}

func (s *instrumentedStore) Create(ctx context.Context, r *storage.Record) error {
	start := time.Now()
	err := s.next.Create(ctx, r)
	s.observe(opCreate, start, err)
	return err
}

func (s *instrumentedStore) Update(ctx context.Context, r *storage.Record) error {
	start := time.Now()
	err := s.next.Update(ctx, r)
	s.observe(opUpdate, start, err)
	return err
}

func (s *instrumentedStore) Rotate(ctx context.Context, old, next *storage.Record, graceUntil time.Time) error {
	start := time.Now()
	err := s.next.Rotate(ctx, old, next, graceUntil)
	s.observe(opRotate, start, err)
	return err
}

func (s *instrumentedStore) Delete(ctx context.Context, h storage.Hash) error {
	start := time.Now()
	err := s.next.Delete(ctx, h)
	s.observe(opDelete, start, err)
	return err
}

func (s *instrumentedStore) DeleteByID(ctx context.Context, id string) error {
	start := time.Now()
	err := s.next.DeleteByID(ctx, id)
	s.observe(opDeleteByID, start, err)
	return err
}

func (s *instrumentedStore) List(ctx context.Context, subject string) ([]*storage.Record, error) {
	start := time.Now()
	rs, err := s.next.List(ctx, subject)
	s.observe(opList, start, err)
	return rs, err
}

func (s *instrumentedStore) DeleteSubject(ctx context.Context, subject, exceptID string) (int, error) {
	start := time.Now()
	n, err := s.next.DeleteSubject(ctx, subject, exceptID)
	s.observe(opDeleteSubject, start, err)
	return n, err
}

func (s *instrumentedStore) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	start := time.Now()
	n, err := s.next.DeleteExpired(ctx, now, limit)
	s.observe(opDeleteExpired, start, err)
	return n, err
}

func (s *instrumentedMerger) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	start := time.Now()
	r, err := s.merger.Merge(ctx, h, m)
	s.observe(opMerge, start, err)
	return r, err
}
