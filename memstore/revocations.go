package memstore

import (
	"container/heap"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/keycard-go/keycard/storage"
)

var _ storage.RevocationWatcher = (*Store)(nil)

// revocations is the revocation state of sealed sessions: deny entries and
// generations, in maps of their own, apart from the session shards, so that
// nothing that reads or destroys sessions can reach them. One mutex guards
// it: revocations are written on logout and read on a node's cache misses,
// not on every request.
type revocations struct {
	mu     sync.Mutex
	denied map[string]int64 // ID -> until, Unix µs
	gens   map[string]*generation
	// seq counts every RevokeSubject of the Store: the N of a subject whose
	// entry was dropped starts from it, above every N returned before.
	seq     uint64
	expiry  expiryHeap
	watches storage.RevocationHub
}

type generation struct {
	gen   storage.Generation
	until int64 // Unix µs
}

// expiring is an entry of the expiry heap. An entry denied again with a
// later until, or a generation kept longer, gets a new one; the old one is
// stale and skipped when it comes up (its until no longer matches).
type expiring struct {
	until   int64
	key     string
	subject bool // a generation, else a deny entry
}

type expiryHeap []expiring

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until < h[j].until }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiring)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func (rv *revocations) init() {
	rv.denied = map[string]int64{}
	rv.gens = map[string]*generation{}
}

// DenyID implements storage.Revocations. Every watcher of the Store has
// been told before it returns.
func (st *Store) DenyID(ctx context.Context, id string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.CheckDenyID(id, until); err != nil {
		return err
	}
	u := until.UnixMicro()
	rv := &st.rev
	rv.mu.Lock()
	if cur, ok := rv.denied[id]; !ok || u > cur {
		id = strings.Clone(id) // the Store's copy, not the caller's memory
		rv.denied[id] = u
		heap.Push(&rv.expiry, expiring{until: u, key: id})
	}
	rv.mu.Unlock()
	rv.watches.Publish(storage.RevocationEvent{Type: storage.IDDenied, ID: id})
	return nil
}

// RevokeSubject implements storage.Revocations. Every watcher of the Store
// has been told before it returns.
func (st *Store) RevokeSubject(ctx context.Context, subject, exceptID string, until time.Time) (storage.Generation, error) {
	if err := ctx.Err(); err != nil {
		return storage.Generation{}, err
	}
	if err := storage.CheckRevokeSubject(subject, until); err != nil {
		return storage.Generation{}, err
	}
	u := until.UnixMicro()
	rv := &st.rev
	rv.mu.Lock()
	rv.seq++
	g, ok := rv.gens[subject]
	if !ok {
		subject = strings.Clone(subject)
		g = &generation{gen: storage.Generation{N: rv.seq}, until: u}
		rv.gens[subject] = g
		heap.Push(&rv.expiry, expiring{until: u, key: subject, subject: true})
	} else {
		g.gen.N++
		if u > g.until {
			g.until = u
			heap.Push(&rv.expiry, expiring{until: u, key: subject, subject: true})
		}
	}
	g.gen.Except = strings.Clone(exceptID)
	gen := g.gen
	rv.mu.Unlock()
	rv.watches.Publish(storage.RevocationEvent{Type: storage.SubjectRevoked, Subject: subject})
	return gen, nil
}

// Revocation implements storage.Revocations.
func (st *Store) Revocation(ctx context.Context, id, subject string) (bool, storage.Generation, error) {
	if err := ctx.Err(); err != nil {
		return false, storage.Generation{}, err
	}
	rv := &st.rev
	rv.mu.Lock()
	defer rv.mu.Unlock()
	_, denied := rv.denied[id]
	var gen storage.Generation
	if g, ok := rv.gens[subject]; ok {
		gen = g.gen
	}
	return denied, gen, nil
}

// WatchRevocations implements storage.RevocationWatcher: it reports
// RevocationsUp at once, then every DenyID and RevokeSubject of the Store,
// from inside the call that made it, until ctx is done. The channel never
// goes down.
func (st *Store) WatchRevocations(ctx context.Context, fn func(storage.RevocationEvent)) {
	st.rev.watches.Watch(ctx, fn)
}

// sweepRevocations drops up to limit deny entries and generations whose
// until is before now (Unix µs), at most sweepBatch per lock hold, and
// returns how many it dropped.
func (st *Store) sweepRevocations(ctx context.Context, now int64, limit int) (int, error) {
	rv := &st.rev
	dropped := 0
	for dropped < limit {
		if err := ctx.Err(); err != nil {
			return dropped, err
		}
		n, more := rv.sweepBatch(now, min(limit-dropped, sweepBatch))
		dropped += n
		if !more {
			break
		}
	}
	return dropped, nil
}

// sweepBatch drops up to limit expired entries under the lock, popping at
// most 2*sweepBatch heap entries (stale ones included), and reports whether
// expired ones may be left.
func (rv *revocations) sweepBatch(now int64, limit int) (int, bool) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	n := 0
	for pops := 0; pops < 2*sweepBatch && rv.expiry.Len() > 0 && rv.expiry[0].until < now; pops++ {
		if n == limit {
			return n, true
		}
		e := heap.Pop(&rv.expiry).(expiring)
		if e.subject {
			if g, ok := rv.gens[e.key]; ok && g.until == e.until {
				delete(rv.gens, e.key)
				n++
			}
		} else if u, ok := rv.denied[e.key]; ok && u == e.until {
			delete(rv.denied, e.key)
			n++
		}
	}
	return n, rv.expiry.Len() > 0 && rv.expiry[0].until < now
}
