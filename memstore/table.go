package memstore

// table is an open-addressing hash set of uint32 values with linear probing
// and backward-shift deletion. Keys live outside the table: callers pass the
// key's hash and an equality test on values, and a hashOf function that
// recomputes the hash of a stored value for growth and deletion. A slot costs
// 4 bytes. Values are non-zero and never tombValue.
//
// Growth is incremental so that no single call rehashes the whole table under
// a shard lock: when the table is 3/4 full it allocates one twice as large,
// sends new values there, and each later insert moves migrateStep slots of the
// old array across. Until the old array is drained, lookups probe both. The
// old array is never compacted: a value removed from it becomes tombValue, and
// its slots below moved are already copied (and skipped by lookups). The table
// does not shrink: a shrink would rehash in the middle of a sweep, and slots
// are reused when sessions return.
type table struct {
	slots []uint32
	old   []uint32 // the previous array while it is migrated, or nil
	moved int      // old[:moved] is migrated
	n     int      // values stored, in slots and old together
}

const (
	minTableSize = 8
	migrateStep  = 64
	tombValue    = ^uint32(0)
)

// find returns the stored value whose key equals the probe, or 0.
func (t *table) find(h uint64, eq func(v uint32) bool) uint32 {
	if t.n == 0 {
		return 0
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; t.slots[i] != 0; i = (i + 1) & mask {
		if v := t.slots[i]; eq(v) {
			return v
		}
	}
	if t.old == nil {
		return 0
	}
	mask = uint64(len(t.old) - 1)
	for i := h & mask; t.old[i] != 0; i = (i + 1) & mask {
		// Slots below moved were copied (and may since have been removed
		// from slots): only the rest count. Check before calling eq, whose
		// value may no longer be valid.
		if v := t.old[i]; int(i) >= t.moved && v != tombValue && eq(v) {
			return v
		}
	}
	return 0
}

// insert adds v, whose key hashes to h and is not in the table yet.
func (t *table) insert(h uint64, v uint32, hashOf func(uint32) uint64) {
	if (t.n+1)*4 > len(t.slots)*3 {
		for t.old != nil { // cannot happen with migrateStep >= 2; stay safe
			t.migrate(hashOf)
		}
		if len(t.slots) == 0 {
			t.slots = make([]uint32, minTableSize)
		} else {
			t.old, t.moved = t.slots, 0
			t.slots = make([]uint32, 2*len(t.old))
		}
	}
	t.place(h, v)
	t.n++
	if t.old != nil {
		t.migrate(hashOf)
	}
}

// migrate copies the next migrateStep slots of old into slots.
func (t *table) migrate(hashOf func(uint32) uint64) {
	end := min(t.moved+migrateStep, len(t.old))
	for ; t.moved < end; t.moved++ {
		if v := t.old[t.moved]; v != 0 && v != tombValue {
			t.place(hashOf(v), v)
		}
	}
	if t.moved == len(t.old) {
		t.old, t.moved = nil, 0
	}
}

func (t *table) place(h uint64, v uint32) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = v
}

// oldIndex returns the position of v, whose key hashes to h, in the part of
// old not migrated yet, or -1.
func (t *table) oldIndex(h uint64, v uint32) int {
	if t.old == nil {
		return -1
	}
	mask := uint64(len(t.old) - 1)
	for i := h & mask; t.old[i] != 0; i = (i + 1) & mask {
		if t.old[i] == v && int(i) >= t.moved {
			return int(i)
		}
	}
	return -1
}

// replace swaps the stored value old, whose key hashes to h, for v with the
// same key. It reports whether old was found.
func (t *table) replace(h uint64, old, v uint32) bool {
	if t.n == 0 {
		return false
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; t.slots[i] != 0; i = (i + 1) & mask {
		if t.slots[i] == old {
			t.slots[i] = v
			return true
		}
	}
	if i := t.oldIndex(h, old); i >= 0 {
		t.old[i] = v
		return true
	}
	return false
}

// remove deletes the stored value v, whose key hashes to h, and reports
// whether it was there.
func (t *table) remove(h uint64, v uint32, hashOf func(uint32) uint64) bool {
	if t.n == 0 {
		return false
	}
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for ; t.slots[i] != v; i = (i + 1) & mask {
		if t.slots[i] == 0 {
			if j := t.oldIndex(h, v); j >= 0 {
				t.old[j] = tombValue
				t.n--
				return true
			}
			return false
		}
	}
	// Shift back the values of the probe run that follow the hole and whose
	// home position is not between the hole and themselves.
	for j := (i + 1) & mask; t.slots[j] != 0; j = (j + 1) & mask {
		k := hashOf(t.slots[j]) & mask
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = 0
	t.n--
	return true
}
