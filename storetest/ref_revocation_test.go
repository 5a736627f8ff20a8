package storetest_test

import (
	"context"
	"runtime"
	"strings"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// refRevocations is the reference store's revocation state: plain maps
// under the store's lock, and a RevocationHub for its watchers.
type refRevocations struct {
	denied map[string]time.Time
	gens   map[string]refGeneration
	seq    uint64
	hub    storage.RevocationHub
}

type refGeneration struct {
	gen   storage.Generation
	until time.Time
}

var _ storage.RevocationWatcher = (*refStore)(nil)

func (s *refStore) DenyID(ctx context.Context, id string, until time.Time) error {
	if err := storage.CheckDenyID(id, until); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	if s.rev.denied == nil {
		s.rev.denied = map[string]time.Time{}
	}
	if cur, ok := s.rev.denied[id]; !ok || until.After(cur) || s.bug == "deny keeps earlier until" {
		s.rev.denied[id] = until
	}
	if s.bug == "deny ends the session" {
		if h, ok := s.byID[id]; ok {
			s.destroy(s.byH[h])
		}
	}
	s.mu.Unlock()
	s.rev.hub.Publish(storage.RevocationEvent{Type: storage.IDDenied, ID: id})
	return nil
}

func (s *refStore) RevokeSubject(ctx context.Context, subject, exceptID string, until time.Time) (storage.Generation, error) {
	if err := storage.CheckRevokeSubject(subject, until); err != nil {
		return storage.Generation{}, err
	}
	if err := s.lock(ctx); err != nil {
		return storage.Generation{}, err
	}
	if s.rev.gens == nil {
		s.rev.gens = map[string]refGeneration{}
	}
	s.rev.seq++
	g, ok := s.rev.gens[subject]
	if s.bug == "revoke not atomic" {
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
	}
	switch {
	case ok:
		g.gen.N++
		if until.After(g.until) {
			g.until = until
		}
	case s.bug == "generation restarts":
		g = refGeneration{gen: storage.Generation{N: 1}, until: until}
	default:
		g = refGeneration{gen: storage.Generation{N: s.rev.seq}, until: until}
	}
	g.gen.Except = exceptID
	s.rev.gens[subject] = g
	s.mu.Unlock()
	if s.bug != "revoke unannounced" {
		s.rev.hub.Publish(storage.RevocationEvent{Type: storage.SubjectRevoked, Subject: subject})
	}
	return g.gen, nil
}

func (s *refStore) Revocation(ctx context.Context, id, subject string) (bool, storage.Generation, error) {
	if err := s.lock(ctx); err != nil {
		return false, storage.Generation{}, err
	}
	defer s.mu.Unlock()
	_, denied := s.rev.denied[id]
	switch s.bug {
	case "kinds share keys":
		_, asSubject := s.rev.gens[id]
		denied = denied || asSubject
	case "deny by prefix":
		for k := range s.rev.denied {
			denied = denied || (id != "" && strings.HasPrefix(k, id))
		}
	}
	return denied, s.rev.gens[subject].gen, nil
}

func (s *refStore) WatchRevocations(ctx context.Context, fn func(storage.RevocationEvent)) {
	s.rev.hub.Watch(ctx, fn)
}

// expireRevocations drops up to limit revocation entries whose until is
// before now; s.mu is held.
func (s *refStore) expireRevocations(now time.Time, limit int) int {
	if s.bug == "sweep keeps revocations" {
		return 0
	}
	n := 0
	for id, u := range s.rev.denied {
		if n < limit && u.Before(now) {
			delete(s.rev.denied, id)
			n++
		}
	}
	for sub, g := range s.rev.gens {
		if n < limit && g.until.Before(now) {
			delete(s.rev.gens, sub)
			n++
		}
	}
	return n
}
