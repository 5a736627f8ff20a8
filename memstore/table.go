package memstore

// table is an open-addressing hash set of non-zero uint32 values with linear
// probing and backward-shift deletion (no deleted markers). Keys live outside
// the table: callers pass the key's hash and an equality test on values, and
// a hashOf function that recomputes the hash of a stored value for growth and
// deletion. A slot costs 4 bytes; the table doubles when it is 3/4 full and
// keeps its size when values are removed.
type table struct {
	slots []uint32
	n     int
}

const minTableSize = 8

// find returns the stored value whose key equals the probe, or 0.
func (t *table) find(h uint64, eq func(v uint32) bool) uint32 {
	if t.n == 0 {
		return 0
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		v := t.slots[i]
		if v == 0 {
			return 0
		}
		if eq(v) {
			return v
		}
	}
}

// insert adds v, whose key hashes to h and is not in the table yet.
func (t *table) insert(h uint64, v uint32, hashOf func(uint32) uint64) {
	if (t.n+1)*4 > len(t.slots)*3 {
		size := len(t.slots) * 2
		if size < minTableSize {
			size = minTableSize
		}
		t.resize(size, hashOf)
	}
	t.place(h, v)
	t.n++
}

func (t *table) place(h uint64, v uint32) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = v
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
	for {
		if t.slots[i] == 0 {
			return false
		}
		if t.slots[i] == v {
			break
		}
		i = (i + 1) & mask
	}
	// Shift back the entries of the probe run that follow the hole and whose
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
	// The table never shrinks: a shrink would rehash under the shard lock in
	// the middle of a sweep, and the slots are reused when sessions return.
	return true
}

func (t *table) resize(size int, hashOf func(uint32) uint64) {
	old := t.slots
	t.slots = make([]uint32, size)
	for _, v := range old {
		if v != 0 {
			t.place(hashOf(v), v)
		}
	}
}
