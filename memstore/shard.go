package memstore

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keycard-go/keycard/storage"
)

const (
	chunkBits  = 8
	chunkSize  = 1 << chunkBits
	localBits  = 24               // a global reference is shard<<localBits | local index
	maxLocal   = 1<<localBits - 3 // so that reference+1 is neither 0 nor tombValue
	bucketUS   = 60 * 1000 * 1000 // expiry buckets are one minute wide
	sweepBatch = 256              // entries examined (or destroyed) per lock hold by sweeps and DeleteSubject
	maxShards  = 1 << (32 - localBits)
)

var errFull = errors.New("memstore: shard full")

type chunk [chunkSize]entry

// shard holds the records and tombstones whose token hash falls into it: a
// slab of entries addressed by local index, the hash index, the heads of the
// subject chains and the expiry buckets. Everything in it is guarded by mu,
// except the chunk directory, which ID-index lookups read (see idShard).
type shard struct {
	mu     sync.Mutex
	dir    atomic.Pointer[[]*chunk]
	top    uint32   // slots handed out so far
	free   []uint32 // freed local indexes, reused first
	arena  arena    // the entries' blobs
	byHash table    // tagged local index+1 (see tagged), keyed by token hash
	bySubj table    // tagged local index+1 of the first entry of each subject's chain

	buckets map[int32][]uint32 // expiry minute → local index+1 (some stale)
	due     []int32            // min-heap of the keys of buckets

	st     *Store
	num    uint32
	hashFn func(uint32) uint64
	subjFn func(uint32) uint64
	_      [64]byte // keep hot shards on separate cache lines
}

func (sh *shard) init(st *Store, num uint32) {
	sh.st, sh.num = st, num
	sh.dir.Store(new([]*chunk))
	sh.buckets = make(map[int32][]uint32)
	sh.hashFn = func(v uint32) uint64 { return hashKey(&sh.at(untag(v)).hash) }
	sh.subjFn = func(v uint32) uint64 { return maphash.Bytes(st.seed, sh.subject(sh.at(untag(v)))) }
}

// hashKey spreads a token hash over table slots; shardOf uses other bits.
func hashKey(h *storage.Hash) uint64 { return binary.LittleEndian.Uint64(h[8:16]) }

func (sh *shard) at(local uint32) *entry {
	dir := *sh.dir.Load()
	return &dir[local>>chunkBits][local&(chunkSize-1)]
}

func (sh *shard) ref(local uint32) uint32 { return sh.num<<localBits | local }

func (sh *shard) alloc() (uint32, error) {
	if n := len(sh.free); n > 0 {
		local := sh.free[n-1]
		sh.free = sh.free[:n-1]
		return local, nil
	}
	if sh.top > maxLocal {
		return 0, errFull
	}
	local := sh.top
	if local%chunkSize == 0 {
		old := *sh.dir.Load()
		dir := make([]*chunk, len(old)+1)
		copy(dir, old)
		dir[len(old)] = new(chunk)
		sh.dir.Store(&dir)
	}
	sh.top++
	return local, nil
}

// lookup returns the local index+1 of the entry under h, or 0.
func (sh *shard) lookup(h *storage.Hash) uint32 {
	k := hashKey(h)
	tag := tagged(k, 0) &^ localMask
	v := sh.byHash.find(k, func(v uint32) bool { return v&^localMask == tag && sh.at(untag(v)).hash == *h })
	return v & localMask
}

// The values of a shard's own indexes carry the top 8 bits of their key's
// hash above the local index+1 (which fits in localBits), so that a probe
// touches an entry only when the tags match: 255 times in 256 a collision in
// the table costs no cache miss on the entry.
const localMask = 1<<localBits - 1

// tagged returns the index value for local under a key hashing to h.
func tagged(h uint64, local uint32) uint32 { return uint32(h>>56)<<localBits | (local + 1) }

// untag returns the local index in an index value.
func untag(v uint32) uint32 { return v&localMask - 1 }

func (sh *shard) subjectHead(subject string) (uint64, uint32) {
	h := maphash.String(sh.st.seed, subject)
	return h, sh.head(h, subject)
}

// head returns the local index+1 of the first entry of subject's chain, or 0;
// h is the subject's hash.
func (sh *shard) head(h uint64, subject string) uint32 {
	tag := tagged(h, 0) &^ localMask
	v := sh.bySubj.find(h, func(v uint32) bool { return v&^localMask == tag && string(sh.subject(sh.at(untag(v)))) == subject })
	return v & localMask
}

// link adds a new entry, whose subject is subject, to the hash index, its
// subject's chain and the expiry buckets.
func (sh *shard) link(local uint32, subject string) {
	e := sh.at(local)
	k := hashKey(&e.hash)
	sh.byHash.insert(k, tagged(k, local), sh.hashFn)
	sh.linkSubject(local, subject)
	e.filed = bucketOf(e.deadline())
	sh.addToBucket(e.filed, local+1)
}

func (sh *shard) linkSubject(local uint32, subject string) {
	e := sh.at(local)
	e.prev, e.next = 0, 0
	if e.subjLen == 0 {
		return
	}
	h, head := sh.subjectHead(subject)
	if head == 0 {
		sh.bySubj.insert(h, tagged(h, local), sh.subjFn)
		return
	}
	he := sh.at(head - 1)
	e.prev, e.next = head, he.next
	if he.next != 0 {
		sh.at(he.next - 1).prev = local + 1
	}
	he.next = local + 1
}

func (sh *shard) unlinkSubject(local uint32) {
	e := sh.at(local)
	if e.subjLen == 0 {
		return
	}
	switch {
	case e.prev != 0:
		sh.at(e.prev - 1).next = e.next
		if e.next != 0 {
			sh.at(e.next - 1).prev = e.prev
		}
	case e.next != 0:
		h := maphash.Bytes(sh.st.seed, sh.subject(e))
		sh.bySubj.replace(h, tagged(h, local), tagged(h, e.next-1))
		sh.at(e.next - 1).prev = 0
	default:
		h := maphash.Bytes(sh.st.seed, sh.subject(e))
		sh.bySubj.remove(h, tagged(h, local), sh.subjFn)
	}
	e.prev, e.next = 0, 0
}

// chain returns the local indexes of subject's live entries in this shard;
// h is the subject's hash.
func (sh *shard) chain(h uint64, subject string, dst []uint32) []uint32 {
	return sh.chainN(h, subject, dst, -1)
}

// chainN is chain that stops after max entries (max < 0: no limit).
func (sh *shard) chainN(h uint64, subject string, dst []uint32, max int) []uint32 {
	for v := sh.head(h, subject); v != 0 && max != 0; max-- {
		dst = append(dst, v-1)
		v = sh.at(v - 1).next
	}
	return dst
}

// refile moves e to an earlier expiry bucket when its deadline moved earlier.
// A deadline that moved later is left for the sweep to notice (lazy).
func (sh *shard) refile(local uint32) {
	e := sh.at(local)
	if b := bucketOf(e.deadline()); b < e.filed {
		e.filed = b
		sh.addToBucket(b, local+1)
	}
}

func (sh *shard) addToBucket(b int32, v uint32) {
	list, ok := sh.buckets[b]
	if !ok {
		heapPush(&sh.due, b)
	}
	sh.buckets[b] = append(list, v)
}

// destroy turns a live entry into a StateDestroyed tombstone.
func (sh *shard) destroy(local uint32) {
	sh.unindexID(local)
	sh.unlinkSubject(local)
	sh.bury(sh.at(local), storage.StateDestroyed, storage.Hash{}, time.Time{})
	sh.refile(local)
}

// unindexID removes a live entry from the ID index.
func (sh *shard) unindexID(local uint32) {
	k := sh.st.entryIDKey(sh, sh.at(local))
	is := sh.st.idShardOf(&k)
	is.mu.Lock()
	is.remove(sh.st, &k, sh.ref(local)+1)
	is.mu.Unlock()
}

// drop forgets an entry entirely and frees its slot.
func (sh *shard) drop(local uint32) {
	e := sh.at(local)
	if e.state == storage.StateLive {
		sh.unindexID(local)
		sh.unlinkSubject(local)
	}
	k := hashKey(&e.hash)
	sh.byHash.remove(k, tagged(k, local), sh.hashFn)
	sh.arena.free(e.blob)
	*e = entry{}
	sh.free = append(sh.free, local)
}

// sweep drops entries whose deadline is before now, examining at most work
// bucket items and dropping at most max. Only buckets that ended by now are
// swept; their entries whose deadline moved later are filed again. It reports
// how many it dropped and whether due buckets remain.
func (sh *shard) sweep(now int64, work, max int) (dropped int, more bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur := bucketOf(now)
	for work > 0 && dropped < max && len(sh.due) > 0 && sh.due[0] < cur {
		b := sh.due[0]
		list := sh.buckets[b]
		for len(list) > 0 && work > 0 && dropped < max {
			v := list[len(list)-1]
			list = list[:len(list)-1]
			work--
			e := sh.at(v - 1)
			if e.flags&flagUsed == 0 || e.filed != b {
				continue // stale: freed, or filed elsewhere since
			}
			if d := e.deadline(); d < now {
				sh.drop(v - 1)
				dropped++
			} else {
				e.filed = bucketOf(d) // later than b: d >= now >= end of b
				sh.addToBucket(e.filed, v)
			}
		}
		if len(list) == 0 {
			delete(sh.buckets, b)
			heapPop(&sh.due)
		} else {
			sh.buckets[b] = list
		}
	}
	return dropped, len(sh.due) > 0 && sh.due[0] < cur
}

func bucketOf(us int64) int32 {
	b := us / bucketUS
	if us < 0 && us%bucketUS != 0 {
		b--
	}
	return int32(min(max(b, math.MinInt32), math.MaxInt32))
}

func heapPush(h *[]int32, b int32) {
	*h = append(*h, b)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func heapPop(h *[]int32) {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < n && s[l] < s[small] {
			small = l
		}
		if r := l + 1; r < n && s[r] < s[small] {
			small = r
		}
		if small == i {
			break
		}
		s[i], s[small] = s[small], s[i]
		i = small
	}
	*h = s
}

// idShard is one shard of the ID index, which maps the public ID of every
// live record to the global reference (plus one) of its entry.
//
// The table compares keys by reading the id field of entries in other shards
// without their locks. That is safe because an entry is in the index only
// while it is live, its id is written only while it is not in the index, and
// both the insertion and the removal happen under this shard's lock while the
// entry's own shard lock is held: every read of an id here happens before the
// removal that precedes any rewrite of it.
type idShard struct {
	mu  sync.Mutex
	tab table             // canonical IDs
	odd map[string]uint32 // IDs that are not canonical base64url of 16 bytes
	_   [64]byte
}

// idKey is an ID prepared for the index.
type idKey struct {
	odd bool
	b   [16]byte
	s   string
	h   uint64
}

func (st *Store) idKeyOf(id string) idKey {
	if b, ok := parseID(id); ok {
		return idKey{b: b, h: maphash.Bytes(st.seed, b[:])}
	}
	return idKey{odd: true, s: id, h: maphash.String(st.seed, id)}
}

func (st *Store) entryIDKey(sh *shard, e *entry) idKey {
	if e.flags&flagOddID != 0 {
		id := sh.oddID(e)
		return idKey{odd: true, s: string(id), h: maphash.Bytes(st.seed, id)}
	}
	return idKey{b: e.id, h: maphash.Bytes(st.seed, e.id[:])}
}

// matches reports whether e, an entry of sh, carries the ID k.
func (k *idKey) matches(sh *shard, e *entry) bool {
	if k.odd {
		return e.flags&flagOddID != 0 && string(sh.oddID(e)) == k.s
	}
	return e.flags&flagOddID == 0 && e.id == k.b
}

func (st *Store) idShardOf(k *idKey) *idShard { return &st.ids[uint32(k.h>>56)&st.mask] }

// entryAt returns the entry for a global reference.
func (st *Store) entryAt(ref uint32) *entry {
	return st.shards[ref>>localBits].at(ref & (1<<localBits - 1))
}

func (is *idShard) get(st *Store, k *idKey) uint32 {
	if k.odd {
		return is.odd[k.s]
	}
	return is.tab.find(k.h, func(v uint32) bool { return st.entryAt(v-1).id == k.b })
}

func (is *idShard) add(st *Store, k *idKey, v uint32) {
	if k.odd {
		is.odd[k.s] = v
		return
	}
	is.tab.insert(k.h, v, st.idHashFn)
}

func (is *idShard) swap(k *idKey, old, v uint32) {
	if k.odd {
		is.odd[k.s] = v
		return
	}
	is.tab.replace(k.h, old, v)
}

func (is *idShard) remove(st *Store, k *idKey, v uint32) {
	if k.odd {
		if is.odd[k.s] == v {
			delete(is.odd, k.s)
		}
		return
	}
	is.tab.remove(k.h, v, st.idHashFn)
}
