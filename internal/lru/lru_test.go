package lru

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// check verifies that the list and the index agree, in both directions, and
// returns the keys from the most to the least recently used.
func check[K comparable, V any](t *testing.T, c *Cache[K, V]) []K {
	t.Helper()
	var keys []K
	prev := int32(-1)
	for i := c.head; i >= 0; i = c.nodes[i].next {
		if c.nodes[i].prev != prev {
			t.Fatalf("node %d: prev %d, want %d", i, c.nodes[i].prev, prev)
		}
		if j, ok := c.index[c.nodes[i].key]; !ok || j != i {
			t.Fatalf("node %d (key %v) not indexed at %d", i, c.nodes[i].key, i)
		}
		keys = append(keys, c.nodes[i].key)
		prev = i
		if len(keys) > len(c.nodes) {
			t.Fatal("the list has a cycle")
		}
	}
	if c.tail != prev {
		t.Fatalf("tail %d, want %d", c.tail, prev)
	}
	if len(keys) != len(c.index) || len(keys) > c.capacity || len(c.nodes) > c.capacity {
		t.Fatalf("list %d, index %d, nodes %d, capacity %d", len(keys), len(c.index), len(c.nodes), c.capacity)
	}
	return keys
}

func TestOrderAndEviction(t *testing.T) {
	c := New[string, int](3)
	if c.Get("a") != nil || c.Len() != 0 || c.Contains("a") {
		t.Fatal("an empty cache has an entry")
	}
	c.Add("a", 1)
	c.Add("b", 2)
	c.Add("c", 3)
	if got := check(t, c); !slices.Equal(got, []string{"c", "b", "a"}) {
		t.Fatalf("order %q, want c b a", got)
	}
	if v := c.Get("a"); v == nil || *v != 1 {
		t.Fatalf("Get(a) = %v, want 1", v)
	}
	if !c.Contains("b") {
		t.Fatal("Contains(b) = false")
	}
	c.Add("d", 4) // b is the least recently used: Contains did not mark it
	if got := check(t, c); !slices.Equal(got, []string{"d", "a", "c"}) {
		t.Fatalf("order %q, want d a c", got)
	}
	*c.Get("c") = 30 // written through the pointer
	if v := c.Add("a", 10); *v != 10 {
		t.Fatalf("Add(a) stored %d, want 10", *v)
	}
	if got := check(t, c); !slices.Equal(got, []string{"a", "c", "d"}) {
		t.Fatalf("order %q, want a c d", got)
	}
	if *c.Get("c") != 30 || *c.Get("a") != 10 || c.Len() != 3 {
		t.Fatal("values lost")
	}
}

func TestCapacityOne(t *testing.T) {
	c := New[int, int](1)
	for i := range 5 {
		c.Add(i, i)
		if got := check(t, c); !slices.Equal(got, []int{i}) {
			t.Fatalf("after Add(%d): %v", i, got)
		}
	}
}

func TestNewPanics(t *testing.T) {
	for _, n := range []int{0, -1, math.MaxInt32 + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", n)
				}
			}()
			New[int, int](n)
		}()
	}
}

// TestAgainstModel runs random operations against a slice that keeps the
// keys in recency order, the definition of LRU.
func TestAgainstModel(t *testing.T) {
	for _, capacity := range []int{1, 2, 7, 64} {
		r := rand.New(rand.NewPCG(1, uint64(capacity)))
		c := New[int, int](capacity)
		var model []int // most recent first
		vals := map[int]int{}
		touch := func(k int) {
			if i := slices.Index(model, k); i >= 0 {
				model = slices.Delete(model, i, i+1)
			}
			model = slices.Insert(model, 0, k)
		}
		for op := range 5000 {
			k := r.IntN(3 * capacity)
			switch r.IntN(3) {
			case 0:
				v := c.Get(k)
				if slices.Contains(model, k) != (v != nil) {
					t.Fatalf("cap %d op %d: Get(%d) = %v, model %v", capacity, op, k, v, model)
				}
				if v != nil {
					if *v != vals[k] {
						t.Fatalf("cap %d op %d: Get(%d) = %d, want %d", capacity, op, k, *v, vals[k])
					}
					touch(k)
				}
			case 1:
				if c.Contains(k) != slices.Contains(model, k) {
					t.Fatalf("cap %d op %d: Contains(%d) wrong", capacity, op, k)
				}
			default:
				c.Add(k, op)
				vals[k] = op
				touch(k)
				if len(model) > capacity {
					delete(vals, model[capacity])
					model = model[:capacity]
				}
			}
			if got := check(t, c); !slices.Equal(got, model) {
				t.Fatalf("cap %d op %d: order %v, model %v", capacity, op, got, model)
			}
		}
	}
}

// TestNoAllocations: a hit, an update and, once full, an eviction allocate
// nothing.
func TestNoAllocations(t *testing.T) {
	type key struct {
		addr [16]byte
		bits uint8
	}
	c := New[key, int64](64)
	for i := range 64 {
		c.Add(key{bits: uint8(i)}, 0)
	}
	n := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if v := c.Get(key{bits: uint8(n % 64)}); v != nil {
			*v++
		}
		c.Add(key{bits: uint8(n % 64)}, 1)
		c.Add(key{addr: [16]byte{byte(n), byte(n >> 8)}, bits: 200}, 2) // evicts
		n++
	})
	if allocs != 0 {
		t.Fatalf("allocations per hit, update and eviction: got %v, want 0", allocs)
	}
}

func BenchmarkGet(b *testing.B) {
	c := New[uint64, int](4096)
	for i := range uint64(4096) {
		c.Add(i, int(i))
	}
	var k uint64
	for b.Loop() {
		c.Get(k % 4096)
		k += 7
	}
}

func BenchmarkAddEvict(b *testing.B) {
	c := New[uint64, int](4096)
	var k uint64
	for b.Loop() {
		c.Add(k, 0)
		k++
	}
}
