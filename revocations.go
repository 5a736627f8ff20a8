package keycard

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keycard-go/keycard/internal/lru"
	"github.com/keycard-go/keycard/storage"
)

// revocationState answers, for a sealed session, whether its ID is denied
// and what its subject's revocation generation is. The answers come from
// the store's storage.Revocations (or, for a store without it,
// recordRevocations), and are cached on the node when the store announces
// every change (storage.RevocationWatcher), so that a steady-state sealed
// read makes no store call.
//
// The cache is never served while it may be stale: it is used only while
// the watcher is subscribed and has missed nothing (between RevocationsUp
// and RevocationsDown), everything cached is dropped at RevocationsDown,
// and an answer read from the store is cached only if no change was
// announced while it was read. While the channel is down every check reads
// the store, which answers 503 if it is down too.
type revocationState struct {
	src    storage.Revocations
	cancel context.CancelFunc // stops the watcher; nil without one
	done   chan struct{}      // closed when the watcher has returned
	ready  chan struct{}      // closed at the first RevocationsUp (then nil); guarded by mu

	mu    sync.Mutex
	up    bool                                 // the watcher is subscribed and has missed nothing since
	epoch uint64                               // bumped by every announced change and every Down
	ids   *lru.Cache[string, bool]             // denied or not, by session ID
	subs  *lru.Cache[string, cachedGeneration] // by subject
}

// cachedGeneration is a subject's generation in the cache; a subject whose
// generation changed is kept with ok false until it is read again.
type cachedGeneration struct {
	gen storage.Generation
	ok  bool
}

// revocationCacheSize bounds each of the two caches (denied IDs, subjects),
// least recently used first out: about 100 bytes an entry.
const revocationCacheSize = 1 << 16

func newRevocationState(store storage.Store) *revocationState {
	rs := &revocationState{}
	rs.clear()
	src, ok := store.(storage.Revocations)
	if !ok {
		src = recordRevocations{store}
	}
	rs.src = src
	if w, ok := store.(storage.RevocationWatcher); ok {
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		rs.cancel, rs.done, rs.ready = cancel, make(chan struct{}), ready
		go func() {
			defer close(rs.done)
			w.WatchRevocations(ctx, rs.event)
		}()
		// Wait briefly for the subscription, so that a new Manager serves
		// from its cache at once; past that it reads the store until the
		// watcher reports in.
		select {
		case <-ready:
		case <-rs.done:
		case <-time.After(watchStartWait):
		}
	}
	return rs
}

// watchStartWait bounds how long New waits for the revocation watcher to
// subscribe.
const watchStartWait = 250 * time.Millisecond

// close stops the watcher; checks then read the store.
func (rs *revocationState) close() {
	if rs.cancel == nil {
		return
	}
	rs.cancel()
	<-rs.done
	rs.mu.Lock()
	rs.up = false
	rs.mu.Unlock()
}

// event applies what the watcher reports.
func (rs *revocationState) event(e storage.RevocationEvent) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.epoch++
	switch e.Type {
	case storage.RevocationsUp:
		rs.up = true
		if rs.ready != nil {
			close(rs.ready)
			rs.ready = nil
		}
	case storage.RevocationsDown:
		rs.up = false
		rs.clear()
	case storage.IDDenied:
		rs.ids.Add(e.ID, true) // a denial only ends when the session could no longer open anyway
	case storage.SubjectRevoked:
		if rs.subs.Contains(e.Subject) {
			rs.subs.Add(e.Subject, cachedGeneration{})
		}
	}
}

// clear empties the caches. rs.mu is held, or rs is not shared yet.
func (rs *revocationState) clear() {
	rs.ids = lru.New[string, bool](revocationCacheSize)
	rs.subs = lru.New[string, cachedGeneration](revocationCacheSize)
}

// check returns whether id is denied and subject's current generation.
func (rs *revocationState) check(ctx context.Context, id, subject string) (bool, storage.Generation, error) {
	rs.mu.Lock()
	if rs.up {
		denied := rs.ids.Get(id)
		gen := &cachedGeneration{ok: true}
		if subject != "" {
			gen = rs.subs.Get(subject)
		}
		if denied != nil && gen != nil && gen.ok {
			d, g := *denied, gen.gen
			rs.mu.Unlock()
			return d, g, nil
		}
	}
	epoch, up := rs.epoch, rs.up
	rs.mu.Unlock()

	denied, gen, err := rs.src.Revocation(ctx, id, subject)
	if err != nil {
		return false, storage.Generation{}, err
	}
	if up {
		rs.mu.Lock()
		if rs.up && rs.epoch == epoch { // nothing announced meanwhile
			rs.ids.Add(id, denied)
			if subject != "" {
				rs.subs.Add(subject, cachedGeneration{gen: gen, ok: true})
			}
		}
		rs.mu.Unlock()
	}
	return denied, gen, nil
}

// deny denies id until until, and the local cache at once: a node must
// refuse a session it just ended without waiting for its own announcement.
func (rs *revocationState) deny(ctx context.Context, id string, until time.Time) error {
	if err := rs.src.DenyID(ctx, id, until); err != nil {
		return err
	}
	rs.event(storage.RevocationEvent{Type: storage.IDDenied, ID: id})
	return nil
}

// revokeSubject starts a new generation for subject, and drops the local
// cache of it at once.
func (rs *revocationState) revokeSubject(ctx context.Context, subject, exceptID string, until time.Time) (storage.Generation, error) {
	gen, err := rs.src.RevokeSubject(ctx, subject, exceptID, until)
	if err != nil {
		return gen, err
	}
	rs.event(storage.RevocationEvent{Type: storage.SubjectRevoked, Subject: subject})
	return gen, nil
}

// recordRevocations keeps revocation entries in a Store that does not
// implement storage.Revocations, as records of storage.KindRevocation. They
// are not sessions: they have no subject (so no List or DeleteSubject sees
// them), their hashes are not the hash of any token (a token is 43
// base64url characters, the hashed names start with "keycard-revocation"),
// and their IDs start with "~", which no session ID does, so neither
// Manager.Revoke nor Manager.Active nor Lookup can name them. Each check
// costs two store reads; no cache, since nothing announces changes.
type recordRevocations struct{ store storage.Store }

func revocationKey(kind, name string) (storage.Hash, string) {
	sum := sha256.Sum256([]byte("keycard-revocation\x00" + kind + "\x00" + name))
	return sum, "~" + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

// generationData is the Data of a generation record.
type generationData struct {
	N      uint64 `json:"n"`
	Except string `json:"except,omitempty"`
}

func (rr recordRevocations) DenyID(ctx context.Context, id string, until time.Time) error {
	if err := storage.CheckDenyID(id, until); err != nil {
		return err
	}
	h, rid := revocationKey("deny", id)
	return rr.upsert(ctx, h, rid, until, func([]byte) ([]byte, error) { return nil, nil })
}

// RevokeSubject takes N from a store-wide counter, so that N never starts
// again from a lower value once a subject's entry has been dropped (see
// storage.Revocations). The counter is one record, kept for a century.
func (rr recordRevocations) RevokeSubject(ctx context.Context, subject, exceptID string, until time.Time) (storage.Generation, error) {
	if err := storage.CheckRevokeSubject(subject, until); err != nil {
		return storage.Generation{}, err
	}
	var n uint64
	ch, cid := revocationKey("counter", "")
	err := rr.upsert(ctx, ch, cid, until.AddDate(100, 0, 0), func(old []byte) ([]byte, error) {
		var d generationData
		if len(old) > 0 {
			if err := json.Unmarshal(old, &d); err != nil {
				return nil, err
			}
		}
		d.N++
		n = d.N
		return json.Marshal(d)
	})
	if err != nil {
		return storage.Generation{}, err
	}
	h, rid := revocationKey("generation", subject)
	err = rr.upsert(ctx, h, rid, until, func(old []byte) ([]byte, error) {
		d := generationData{N: n, Except: exceptID}
		var prev generationData
		if len(old) > 0 && json.Unmarshal(old, &prev) == nil && prev.N > n {
			d = prev // a concurrent RevokeSubject took a later N: never lower it
		}
		return json.Marshal(d)
	})
	if err != nil {
		return storage.Generation{}, err
	}
	return storage.Generation{N: n, Except: exceptID}, nil
}

func (rr recordRevocations) Revocation(ctx context.Context, id, subject string) (bool, storage.Generation, error) {
	h, _ := revocationKey("deny", id)
	r, err := rr.store.Get(ctx, h)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, storage.Generation{}, err
	}
	denied := err == nil && r.State == storage.StateLive && r.Kind == storage.KindRevocation
	if subject == "" {
		return denied, storage.Generation{}, nil
	}
	h, _ = revocationKey("generation", subject)
	r, err = rr.store.Get(ctx, h)
	if errors.Is(err, storage.ErrNotFound) {
		return denied, storage.Generation{}, nil
	}
	if err != nil {
		return false, storage.Generation{}, err
	}
	if r.State != storage.StateLive || r.Kind != storage.KindRevocation {
		return denied, storage.Generation{}, nil
	}
	var d generationData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return false, storage.Generation{}, fmt.Errorf("keycard: revocation generation of a subject does not decode: %w", err)
	}
	return denied, storage.Generation{N: d.N, Except: d.Except}, nil
}

// upsert creates or updates the record under h, with Data from data(old
// Data), kept until the later of its deadline and until.
func (rr recordRevocations) upsert(ctx context.Context, h storage.Hash, id string, until time.Time, data func([]byte) ([]byte, error)) error {
	until = until.UTC().Truncate(time.Microsecond)
	for range maxCommitAttempts {
		cur, err := rr.store.Get(ctx, h)
		switch {
		case errors.Is(err, storage.ErrNotFound) || err == nil && cur.State != storage.StateLive:
			d, derr := data(nil)
			if derr != nil {
				return derr
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			r := &storage.Record{Hash: h, ID: id, Kind: storage.KindRevocation, CreatedAt: now, RenewedAt: now, LastSeenAt: now,
				IdleExpiresAt: until, ExpiresAt: until, Data: d}
			if err = rr.store.Create(ctx, r); err == nil {
				return nil
			}
		case err == nil:
			d, derr := data(cur.Data)
			if derr != nil {
				return derr
			}
			next := cur.Clone()
			next.Data = d
			if until.After(next.ExpiresAt) {
				next.IdleExpiresAt, next.ExpiresAt = until, until
			}
			if err = rr.store.Update(ctx, next); err == nil {
				return nil
			}
		}
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrExists) && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return storage.ErrConflict
}
