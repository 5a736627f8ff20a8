package memstore

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/storage"
)

// Options configures a Store. The zero value, and a nil *Options, give the
// defaults.
type Options struct {
	// SweepInterval is how often the background sweep drops expired records
	// and tombstones. Default: one minute. A negative value turns the
	// background sweep off; DeleteExpired still works.
	SweepInterval time.Duration

	// Shards is the number of shards, rounded up to a power of two and capped
	// at 256. More shards mean less lock contention and smaller pauses when a
	// shard's index grows, but List and DeleteSubject visit every shard.
	// Default: 64.
	Shards int

	// now is the clock the background sweep uses to decide what has
	// expired: time.Now unless Keycard's own tests set another through
	// internal/testhook. Applications test under testing/synctest.
	now func() time.Time
}

// Store is an in-memory storage.Store. It is safe for concurrent use. The
// zero value is not usable: create one with New, and stop its background
// sweep with Close.
//
// Records live only as long as the process: a restart logs everybody out. Use
// it for tests, development and single-process deployments.
type Store struct {
	shards  []shard
	ids     []idShard
	stripes [256]sync.Mutex // serialise List, DeleteSubject and Rotate per subject
	mask    uint32
	seed    maphash.Seed

	idHashFn func(uint32) uint64

	now      func() time.Time
	interval time.Duration
	stop     context.CancelFunc // cancels the background sweep
	done     chan struct{}
	close    sync.Once
	cursor   uint32 // where the next sweep starts; guarded by sweepMu
	sweepMu  sync.Mutex

	rev   revocations // the revocation state of sealed sessions (revocations.go)
	users users       // the local users of keycard serve (users.go)
}

var _ storage.Merger = (*Store)(nil)

func init() {
	testhook.Register(func(o *Options, now func() time.Time) { o.now = now })
}

// New returns an empty Store. Unless opts.SweepInterval is negative it starts
// a goroutine that drops expired records every SweepInterval; call Close to
// stop it.
func New(opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = time.Minute
	}
	n := 64
	if o.Shards > 0 {
		n = 1
		for n < o.Shards && n < maxShards {
			n *= 2
		}
	}
	st := &Store{
		shards:   make([]shard, n),
		ids:      make([]idShard, n),
		mask:     uint32(n - 1),
		seed:     maphash.MakeSeed(),
		now:      o.now,
		interval: o.SweepInterval,
		done:     make(chan struct{}),
	}
	st.rev.init()
	st.idHashFn = func(v uint32) uint64 {
		e := st.entryAt(v - 1)
		return maphash.Bytes(st.seed, e.id[:])
	}
	for i := range st.shards {
		st.shards[i].init(st, uint32(i))
		st.ids[i].odd = make(map[string]uint32)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.stop = cancel
	if st.interval > 0 {
		go st.run(ctx)
	} else {
		close(st.done)
	}
	return st
}

// Close stops the background sweep, interrupting one in progress after its
// current batch, and waits for it to return. The Store stays usable. Close
// may be called more than once.
func (st *Store) Close() {
	st.close.Do(func() {
		st.stop()
		<-st.done
	})
}

func (st *Store) run(ctx context.Context) {
	defer close(st.done)
	t := time.NewTicker(st.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st.sweep(ctx, toMicro(st.now()), math.MaxInt, sweepPause)
		}
	}
}

func (st *Store) shardOf(h *storage.Hash) *shard { return &st.shards[uint32(h[0])&st.mask] }

func (st *Store) stripe(subject string) int {
	return int(maphash.String(st.seed, subject) & 255)
}

// lockStripes locks the subject stripes of the non-empty subjects a and b,
// in order, and returns them for unlockStripes (-1: none). It does not
// allocate: Rotate is on every login's path.
func (st *Store) lockStripes(a, b string) (i, j int) {
	i, j = -1, -1
	if a != "" {
		i = st.stripe(a)
	}
	if b != "" {
		j = st.stripe(b)
	}
	if i > j {
		i, j = j, i
	}
	if i == j {
		j = -1
	}
	if i >= 0 {
		st.stripes[i].Lock()
	}
	if j >= 0 {
		st.stripes[j].Lock()
	}
	return i, j
}

func (st *Store) unlockStripes(i, j int) {
	if j >= 0 {
		st.stripes[j].Unlock()
	}
	if i >= 0 {
		st.stripes[i].Unlock()
	}
}

// Get implements storage.Store.
func (st *Store) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := st.shardOf(&h)
	sh.mu.Lock()
	v := sh.lookup(&h)
	if v == 0 {
		sh.mu.Unlock()
		return nil, storage.ErrNotFound
	}
	r := sh.record(sh.at(v - 1))
	sh.mu.Unlock()
	return r, nil
}

// find returns the shard and local index of the live entry whose ID is k,
// with that shard locked, or nil.
func (st *Store) find(ctx context.Context, k *idKey) (*shard, uint32, error) {
	is := st.idShardOf(k)
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		is.mu.Lock()
		v := is.get(st, k)
		is.mu.Unlock()
		if v == 0 {
			return nil, 0, storage.ErrNotFound
		}
		ref := v - 1
		sh := &st.shards[ref>>localBits]
		local := ref & (1<<localBits - 1)
		sh.mu.Lock()
		if e := sh.at(local); e.flags&flagUsed != 0 && e.state == storage.StateLive && k.matches(sh, e) {
			return sh, local, nil
		}
		// Rotated or destroyed since the index was read: look again.
		sh.mu.Unlock()
	}
}

// GetByID implements storage.Store.
func (st *Store) GetByID(ctx context.Context, id string) (*storage.Record, error) {
	k := st.idKeyOf(id)
	sh, local, err := st.find(ctx, &k)
	if err != nil {
		return nil, err
	}
	r := sh.record(sh.at(local))
	sh.mu.Unlock()
	return r, nil
}

// Create implements storage.Store.
func (st *Store) Create(ctx context.Context, r *storage.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := st.idKeyOf(r.ID)
	sh := st.shardOf(&r.Hash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.lookup(&r.Hash) != 0 {
		return storage.ErrExists
	}
	is := st.idShardOf(&k)
	is.mu.Lock()
	if is.get(st, &k) != 0 {
		is.mu.Unlock()
		return storage.ErrExists
	}
	local, err := sh.alloc()
	if err != nil {
		is.mu.Unlock()
		return err
	}
	sh.newEntry(local, r, &k)
	if k.odd {
		k.s = strings.Clone(k.s) // the index's copy, not the caller's string
	}
	is.add(st, &k, sh.ref(local)+1)
	is.mu.Unlock()
	sh.link(local, r.Subject)
	r.Version = 1
	return nil
}

// newEntry fills the free slot local with r at Version 1.
func (sh *shard) newEntry(local uint32, r *storage.Record, k *idKey) {
	e := sh.at(local)
	*e = entry{hash: r.Hash, version: 1}
	var odd string
	if k.odd {
		e.flags = flagOddID
		odd = k.s
	} else {
		e.id = k.b
	}
	fillEntry(sh, e, r, r.Subject, odd)
}

// live returns the local index of the live entry r.Hash when its version is
// r.Version.
func (sh *shard) live(r *storage.Record) (uint32, error) {
	v := sh.lookup(&r.Hash)
	if v == 0 || sh.at(v-1).state != storage.StateLive {
		return 0, storage.ErrNotFound
	}
	if sh.at(v-1).version != r.Version {
		return 0, storage.ErrConflict
	}
	return v - 1, nil
}

// Update implements storage.Store. It keeps the stored ID and Subject.
func (st *Store) Update(ctx context.Context, r *storage.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := st.shardOf(&r.Hash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	local, err := sh.live(r)
	if err != nil {
		return err
	}
	e := sh.at(local)
	sh.refill(e, r)
	e.version++
	sh.refile(local)
	r.Version++
	return nil
}

// Merge implements storage.Merger: the record is read, changed as m.Apply
// says and written back under the shard lock, so no other operation on it
// runs in between.
func (st *Store) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := st.shardOf(&h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v := sh.lookup(&h)
	if v == 0 {
		return nil, storage.ErrNotFound
	}
	e := sh.at(v - 1)
	if e.state != storage.StateLive || e.kind != m.Kind {
		return nil, storage.ErrNotFound
	}
	r := sh.record(e)
	if !m.Apply(r) {
		return nil, storage.ErrNotFound
	}
	sh.refill(e, r)
	e.version++
	sh.refile(v - 1)
	r.Version = e.version
	return r, nil
}

var errRotateID = errors.New("memstore: Rotate: next.ID differs from old.ID")

// Rotate implements storage.Store. It is atomic: no other operation sees the
// old record turned into a tombstone without the new one live, or the
// reverse. It fails with ErrConflict when old.Subject is not the stored
// subject and with ErrExists when next.Hash is taken.
func (st *Store) Rotate(ctx context.Context, old, next *storage.Record, graceUntil time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if next.ID != old.ID {
		return errRotateID
	}
	si, sj := st.lockStripes(old.Subject, next.Subject)
	defer st.unlockStripes(si, sj)
	a, b := st.shardOf(&old.Hash), st.shardOf(&next.Hash)
	if a == b {
		a.mu.Lock()
		defer a.mu.Unlock()
	} else {
		first, second := a, b
		if b.num < a.num {
			first, second = b, a
		}
		first.mu.Lock()
		defer first.mu.Unlock()
		second.mu.Lock()
		defer second.mu.Unlock()
	}
	la, err := a.live(old)
	if err != nil {
		return err
	}
	ea := a.at(la)
	k := st.idKeyOf(old.ID)
	if string(a.subject(ea)) != old.Subject || !k.matches(a, ea) {
		return storage.ErrConflict
	}
	if b.lookup(&next.Hash) != 0 {
		return storage.ErrExists
	}
	lb, err := b.alloc()
	if err != nil {
		return err
	}
	var oddKey idKey
	if k.odd {
		oddKey = idKey{odd: true, s: string(a.oddID(ea))}
	} else {
		oddKey = k
	}
	b.newEntry(lb, next, &oddKey)

	is := st.idShardOf(&k)
	is.mu.Lock()
	is.swap(&k, a.ref(la)+1, b.ref(lb)+1)
	is.mu.Unlock()

	b.link(lb, next.Subject)
	a.unlinkSubject(la)
	ea = a.at(la) // b.alloc may have grown the directory; chunks never move
	a.bury(ea, storage.StateRotated, next.Hash, graceUntil)
	ea.version++
	a.refile(la)
	old.Version++
	next.Version = 1
	return nil
}

// Delete implements storage.Store.
func (st *Store) Delete(ctx context.Context, h storage.Hash) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := st.shardOf(&h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v := sh.lookup(&h)
	if v == 0 || sh.at(v-1).state != storage.StateLive {
		return storage.ErrNotFound
	}
	sh.destroy(v - 1)
	return nil
}

// DeleteByID implements storage.Store.
func (st *Store) DeleteByID(ctx context.Context, id string) error {
	k := st.idKeyOf(id)
	sh, local, err := st.find(ctx, &k)
	if err != nil {
		return err
	}
	sh.destroy(local)
	sh.mu.Unlock()
	return nil
}

// List implements storage.Store. It visits every shard: it costs
// O(shards + the subject's sessions).
func (st *Store) List(ctx context.Context, subject string) ([]*storage.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if subject == "" {
		return nil, nil
	}
	si, sj := st.lockStripes(subject, "")
	h := maphash.String(st.seed, subject)
	var out []*storage.Record
	var locals []uint32
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		locals = sh.chain(h, subject, locals[:0])
		for _, l := range locals {
			out = append(out, sh.record(sh.at(l)))
		}
		sh.mu.Unlock()
	}
	st.unlockStripes(si, sj)
	return out, nil
}

// DeleteSubject implements storage.Store. It visits every shard: it costs
// O(shards + the subject's sessions). A Rotate of one of the subject's
// sessions waits for it, so that no session escapes by moving to a shard
// already visited.
func (st *Store) DeleteSubject(ctx context.Context, subject, exceptID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if subject == "" {
		return 0, nil
	}
	except := st.idKeyOf(exceptID)
	si, sj := st.lockStripes(subject, "")
	defer st.unlockStripes(si, sj)
	h := maphash.String(st.seed, subject)
	n := 0
	var locals []uint32
	for i := range st.shards {
		sh := &st.shards[i]
		// Destroyed entries leave the chain, so each batch starts again
		// from its head, and the shard lock is released between batches.
		for full := true; full; {
			sh.mu.Lock()
			locals = sh.chainN(h, subject, locals[:0], sweepBatch+1) // +1: the excepted one
			done := 0
			for _, l := range locals {
				if exceptID != "" && except.matches(sh, sh.at(l)) {
					continue
				}
				if done == sweepBatch {
					break
				}
				sh.destroy(l)
				done++
			}
			sh.mu.Unlock()
			n += done
			full = done == sweepBatch
		}
	}
	return n, nil
}

// DeleteExpired implements storage.Store. It sweeps the shards in batches of
// at most 256 entries per lock hold. Expiry works in one-minute buckets: a
// record is dropped once the minute that holds its deadline has ended by now.
// Then it drops the deny entries and generations whose until is before now,
// within the same limit.
func (st *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return st.sweep(ctx, toMicro(now), limit, 0)
}

// sweepPause is how long the background sweep sleeps after each batch that
// found work. On a busy machine a thread that runs for long is preempted by
// the kernel at some point, and if it holds a shard lock then, requests on
// that shard wait until it runs again: milliseconds. A sweep that works in
// short bursts and sleeps in between is rarely preempted in a burst.
const sweepPause = 50 * time.Microsecond

// sweep drops up to limit expired entries, visiting the shards round-robin
// one batch at a time so that no shard lock is held for more than one batch.
// After every batch that found work it sleeps for pause (the background
// sweep) or, with pause 0, yields (DeleteExpired). Either way a request that
// waited for the batch runs at once: the unlock queues it on this thread's
// processor, where it would otherwise wait behind the sweep for the
// scheduler to preempt it (4 ms stalls on a 2-core machine).
func (st *Store) sweep(ctx context.Context, now int64, limit int, pause time.Duration) (int, error) {
	st.sweepMu.Lock()
	start := st.cursor
	st.cursor++
	st.sweepMu.Unlock()
	dropped := 0
	pending := make([]bool, len(st.shards))
	for i := range pending {
		pending[i] = true
	}
	for more := true; more && dropped < limit; {
		more = false
		for i := range st.shards {
			j := (start + uint32(i)) & st.mask
			if !pending[j] || dropped >= limit {
				continue
			}
			n, again := st.shards[j].sweep(now, sweepBatch, limit-dropped)
			dropped += n
			pending[j] = again
			more = more || again
			if n == 0 && !again {
				continue
			}
			if pause > 0 {
				time.Sleep(pause)
			} else {
				runtime.Gosched()
			}
			if err := ctx.Err(); err != nil {
				return dropped, err
			}
		}
	}
	n, err := st.sweepRevocations(ctx, now, limit-dropped)
	return dropped + n, err
}
