package memstore

// arena keeps the variable-length bytes of a shard's entries (see blob) in
// pages that hold no pointers. The garbage collector marks such a page as
// one object and never looks inside, so its work no longer grows with the
// number of sessions: with a string per entry, every collection followed a
// million pointers, and requests waited on that work (BenchmarkMillionSessions).
//
// A blob is kept in the smallest size class that fits it, each class in
// 64 KiB pages of equal slots with a free list, much as Go's own allocator
// does; blobs larger than the largest class get a slice of their own. A
// reference is the class (1-based) above the slot number; 0 is the empty
// blob. Pages are never returned: like the entry slab, the arena keeps its
// peak for the next one. Everything in it is guarded by the shard lock.
type arena struct {
	classes [len(classSizes)]slotClass
	big     [][]byte // blobs above the largest class, by slot
	bigFree []uint32
}

type slotClass struct {
	pages [][]byte
	free  []uint32
	top   uint32
}

// classSizes step by about 1.5×, so that a blob wastes at most a third of
// its slot.
var classSizes = [...]uint32{
	8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
	1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384,
}

const (
	arenaPage = 64 << 10
	slotBits  = 27
	slotMask  = 1<<slotBits - 1
	bigClass  = len(classSizes) + 1 // the class number of blobs in big
)

// classOf returns the index in classSizes of the smallest class that holds n
// bytes, or len(classSizes) when none does.
func classOf(n int) int {
	for c, size := range classSizes {
		if n <= int(size) {
			return c
		}
	}
	return len(classSizes)
}

// alloc returns the reference of a new blob of n bytes and those bytes, to be
// filled by the caller.
func (a *arena) alloc(n int) (uint32, []byte) {
	if n == 0 {
		return 0, nil
	}
	c := classOf(n)
	if c == len(classSizes) {
		b := make([]byte, n)
		if k := len(a.bigFree); k > 0 {
			slot := a.bigFree[k-1]
			a.bigFree = a.bigFree[:k-1]
			a.big[slot] = b
			return uint32(bigClass)<<slotBits | slot, b
		}
		a.big = append(a.big, b)
		return uint32(bigClass)<<slotBits | uint32(len(a.big)-1), b
	}
	cl := &a.classes[c]
	var slot uint32
	if k := len(cl.free); k > 0 {
		slot = cl.free[k-1]
		cl.free = cl.free[:k-1]
	} else {
		slot = cl.top
		if per := arenaPage / classSizes[c]; int(slot/per) == len(cl.pages) {
			cl.pages = append(cl.pages, make([]byte, arenaPage))
		}
		cl.top++
	}
	ref := uint32(c+1)<<slotBits | slot
	return ref, a.bytes(ref, n)
}

// bytes returns the n bytes of the blob ref.
func (a *arena) bytes(ref uint32, n int) []byte {
	if ref == 0 {
		return nil
	}
	c, slot := int(ref>>slotBits)-1, ref&slotMask
	if c+1 == bigClass {
		return a.big[slot][:n:n]
	}
	size := classSizes[c]
	per := arenaPage / size
	off := (slot % per) * size
	return a.classes[c].pages[slot/per][off : off+uint32(n) : off+uint32(n)]
}

// free returns the blob ref to its class.
func (a *arena) free(ref uint32) {
	if ref == 0 {
		return
	}
	c, slot := int(ref>>slotBits)-1, ref&slotMask
	if c+1 == bigClass {
		a.big[slot] = nil
		a.bigFree = append(a.bigFree, slot)
		return
	}
	a.classes[c].free = append(a.classes[c].free, slot)
}
