package memstore

import (
	"bytes"
	"testing"
)

// inUse returns the number of blobs allocated and not freed.
func (a *arena) inUse() int {
	n := 0
	for c := range a.classes {
		n += int(a.classes[c].top) - len(a.classes[c].free)
	}
	return n + len(a.big) - len(a.bigFree)
}

func TestArena(t *testing.T) {
	var a arena
	if ref, b := a.alloc(0); ref != 0 || b != nil {
		t.Fatalf("alloc(0) = %d, %v; want the empty blob", ref, b)
	}
	a.free(0) // the empty blob is never freed; this must not panic

	// One blob at and around every class boundary, each filled with its
	// own byte: no blob may overlap another.
	type blob struct {
		ref  uint32
		n    int
		fill byte
	}
	var blobs []blob
	sizes := []int{1, 2, 17}
	for _, s := range classSizes {
		sizes = append(sizes, int(s)-1, int(s), int(s)+1)
	}
	sizes = append(sizes, 1<<20)
	for round := range 3 { // more than one slot per class, across pages
		for i, n := range sizes {
			ref, b := a.alloc(n)
			if len(b) != n || cap(b) != n {
				t.Fatalf("alloc(%d) gave len %d cap %d", n, len(b), cap(b))
			}
			f := byte(i*3 + round + 1)
			for j := range b {
				b[j] = f
			}
			blobs = append(blobs, blob{ref, n, f})
		}
	}
	for i := range 2 * arenaPage / 8 { // two pages of the smallest class
		ref, b := a.alloc(8)
		f := byte(i)
		for j := range b {
			b[j] = f
		}
		blobs = append(blobs, blob{ref, 8, f})
	}
	for _, bl := range blobs {
		got := a.bytes(bl.ref, bl.n)
		if want := bytes.Repeat([]byte{bl.fill}, bl.n); !bytes.Equal(got, want) {
			t.Fatalf("blob %#x of %d bytes was overwritten", bl.ref, bl.n)
		}
	}
	if n := a.inUse(); n != len(blobs) {
		t.Fatalf("inUse = %d, want %d", n, len(blobs))
	}

	// Freed slots are reused before new ones are taken.
	pages := len(a.classes[classOf(100)].pages)
	for _, bl := range blobs {
		a.free(bl.ref)
	}
	if n := a.inUse(); n != 0 {
		t.Fatalf("inUse after freeing all = %d", n)
	}
	for range sizes {
		a.alloc(100)
	}
	if got := len(a.classes[classOf(100)].pages); got != pages {
		t.Errorf("reallocating freed blobs took %d pages, want the %d there", got, pages)
	}
	bigs := len(a.big)
	if ref, _ := a.alloc(1 << 20); len(a.big) != bigs || int(ref>>slotBits) != bigClass {
		t.Errorf("a big blob after frees took slot %d of %d, class %d", ref&slotMask, len(a.big), ref>>slotBits)
	}
}

func TestClassOf(t *testing.T) {
	for c, size := range classSizes {
		if got := classOf(int(size)); got != c {
			t.Errorf("classOf(%d) = %d, want %d", size, got, c)
		}
		if got := classOf(int(size) + 1); got != c+1 {
			t.Errorf("classOf(%d) = %d, want %d", size+1, got, c+1)
		}
		if c > 1 && size*2 > classSizes[c-1]*3 {
			t.Errorf("class %d is more than 1.5 times class %d", size, classSizes[c-1])
		}
		if arenaPage%size != 0 && arenaPage/size*size < arenaPage*15/16 {
			t.Errorf("class %d wastes more than 1/16 of a page", size)
		}
	}
}
