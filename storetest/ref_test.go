package storetest_test

import (
	"context"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// refStore is the simplest Merger that keeps the contract: one lock, plain
// maps and a scan for DeleteExpired. It checks the suite itself: whatever
// the suite demands of every store, this one must pass.
type refStore struct {
	bug   string // a deliberate bug, for TestSuiteCatchesMutants
	mu    sync.Mutex
	byH   map[storage.Hash]*storage.Record
	byID  map[string]storage.Hash              // live records only
	bySub map[string]map[storage.Hash]struct{} // live records only
	rev   refRevocations                       // ref_revocation_test.go
}

func newRefStore() *refStore {
	return &refStore{
		bug:   os.Getenv(mutantEnv),
		byH:   map[storage.Hash]*storage.Record{},
		byID:  map[string]storage.Hash{},
		bySub: map[string]map[storage.Hash]struct{}{},
	}
}

func (s *refStore) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil && s.bug != "ignore ctx" {
		return err
	}
	s.mu.Lock()
	return nil
}

func (s *refStore) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	r, ok := s.byH[h]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return r.Clone(), nil
}

func (s *refStore) GetByID(ctx context.Context, id string) (*storage.Record, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	h, ok := s.byID[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return s.byH[h].Clone(), nil
}

func (s *refStore) link(r *storage.Record) {
	s.byH[r.Hash] = r
	s.byID[r.ID] = r.Hash
	if r.Subject != "" {
		if s.bySub[r.Subject] == nil {
			s.bySub[r.Subject] = map[storage.Hash]struct{}{}
		}
		s.bySub[r.Subject][r.Hash] = struct{}{}
	}
}

func (s *refStore) unlink(r *storage.Record) {
	if s.byID[r.ID] == r.Hash {
		delete(s.byID, r.ID)
	}
	if m := s.bySub[r.Subject]; m != nil {
		delete(m, r.Hash)
		if len(m) == 0 {
			delete(s.bySub, r.Subject)
		}
	}
}

func (s *refStore) Create(ctx context.Context, r *storage.Record) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if old, ok := s.byH[r.Hash]; ok && (old.State == storage.StateLive || s.bug != "create over tombstone") {
		return storage.ErrExists
	}
	if _, ok := s.byID[r.ID]; ok {
		return storage.ErrExists
	}
	if s.bug == "tombstone ID taken" {
		for _, o := range s.byH {
			if o.ID == r.ID {
				return storage.ErrExists
			}
		}
	}
	r.Version = 1
	c := r.Clone()
	switch s.bug {
	case "retain":
		c = r
	case "cut at NUL":
		c.Subject, _, _ = strings.Cut(c.Subject, "\x00")
	case "millisecond times":
		c.LastSeenAt = c.LastSeenAt.Truncate(time.Millisecond)
	}
	s.link(c)
	return nil
}

func (s *refStore) live(r *storage.Record) (*storage.Record, error) {
	cur, ok := s.byH[r.Hash]
	if !ok || cur.State != storage.StateLive && s.bug != "write tombstone" {
		return nil, storage.ErrNotFound
	}
	if cur.Version != r.Version && s.bug != "no CAS" {
		return nil, storage.ErrConflict
	}
	return cur, nil
}

func (s *refStore) Update(ctx context.Context, r *storage.Record) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, err := s.live(r)
	if err != nil {
		return err
	}
	c := r.Clone()
	c.ID, c.Subject, c.State = cur.ID, cur.Subject, storage.StateLive
	c.Version++
	s.byH[r.Hash] = c
	r.Version++
	return nil
}

// Merge applies m as m.Apply defines, under the lock.
func (s *refStore) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	cur, ok := s.byH[h]
	if !ok {
		return nil, storage.ErrNotFound
	}
	c := cur.Clone()
	mm := *m
	switch s.bug {
	case "merge any kind":
		mm.Kind = c.Kind
	case "merge past the idle deadline":
		if !m.Now.Before(c.IdleExpiresAt) {
			c.IdleExpiresAt = m.Now.Add(time.Microsecond)
		}
	case "merge first change only":
		mm.Changes = mm.Changes[:min(1, len(mm.Changes))]
	case "merge not atomic":
		// Read, then write in a second step, as a store that merges outside
		// a transaction would: a merge in between is lost.
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
	}
	if !mm.Apply(c) {
		return nil, storage.ErrNotFound
	}
	if s.bug != "merge keeps version" {
		c.Version++
	}
	s.byH[h] = c
	if s.bug == "merge returns the old record" {
		return cur.Clone(), nil
	}
	return c.Clone(), nil
}

func (s *refStore) Rotate(ctx context.Context, old, next *storage.Record, grace time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, err := s.live(old)
	if err != nil {
		return err
	}
	if cur.Subject != old.Subject && s.bug != "rotate ignores subject" {
		return storage.ErrConflict
	}
	if _, ok := s.byH[next.Hash]; ok {
		return storage.ErrExists
	}
	s.unlink(cur)
	ts := cur.Tombstone(storage.StateRotated, next.Hash, grace)
	ts.Version++
	s.byH[old.Hash] = ts
	n := next.Clone()
	n.Version, n.State, n.ID = 1, storage.StateLive, cur.ID
	if s.bug == "rotate keeps subject" {
		n.Subject = cur.Subject
	}
	s.link(n)
	if s.bug == "rotate keeps ID index" {
		s.byID[cur.ID] = cur.Hash
	}
	if s.bug != "rotate keeps version" {
		old.Version++
	}
	return nil
}

func (s *refStore) destroy(cur *storage.Record) {
	if s.bug == "forget" {
		s.unlink(cur)
		delete(s.byH, cur.Hash)
		return
	}
	if s.bug != "list tombstones" {
		s.unlink(cur)
	}
	s.byH[cur.Hash] = cur.Tombstone(storage.StateDestroyed, storage.Hash{}, time.Time{})
}

func (s *refStore) Delete(ctx context.Context, h storage.Hash) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.byH[h]
	if !ok || cur.State != storage.StateLive {
		return storage.ErrNotFound
	}
	s.destroy(cur)
	return nil
}

func (s *refStore) DeleteByID(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	h, ok := s.byID[id]
	if !ok {
		return storage.ErrNotFound
	}
	if s.bug == "by ID from a stale index" {
		// The ID is resolved, then the record destroyed in a second step, as
		// a store without a lock over both would: a Rotate in between moves
		// the ID to a successor that this DeleteByID never sees.
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
		if cur := s.byH[h]; cur.State != storage.StateLive {
			return storage.ErrNotFound
		}
	}
	s.destroy(s.byH[h])
	return nil
}

func (s *refStore) List(ctx context.Context, subject string) ([]*storage.Record, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []*storage.Record
	if subject == "" {
		return out, nil
	}
	for h := range s.bySub[subject] {
		out = append(out, s.byH[h].Clone())
	}
	if s.bug == "prefix subjects" {
		for sub, m := range s.bySub {
			if sub != subject && strings.HasPrefix(sub, subject) {
				for h := range m {
					out = append(out, s.byH[h].Clone())
				}
			}
		}
	}
	return out, nil
}

func (s *refStore) DeleteSubject(ctx context.Context, subject, exceptID string) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	if subject == "" && s.bug != "delete anonymous" {
		return 0, nil
	}
	n := 0
	if subject == "" {
		for _, r := range s.byH {
			if r.Subject == "" && r.State == storage.StateLive {
				s.destroy(r)
				n++
			}
		}
	}
	for h := range s.bySub[subject] {
		if r := s.byH[h]; r.ID != exceptID || s.bug == "ignore except" {
			s.destroy(r)
			n++
		}
	}
	return n, nil
}

func (s *refStore) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for h, r := range s.byH {
		if n >= limit && s.bug != "ignore limit" {
			break
		}
		deadline := r.KeepUntil()
		if s.bug == "tombstone by idle" && r.State != storage.StateLive {
			deadline = r.CreatedAt.Add(time.Hour)
		}
		if s.bug == "early expiry" {
			deadline = deadline.Add(-90 * time.Minute)
		}
		if deadline.Before(now) {
			if r.State == storage.StateLive {
				s.unlink(r)
			}
			delete(s.byH, h)
			n++
		}
	}
	return n + s.expireRevocations(now, limit-n), nil
}
