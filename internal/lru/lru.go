// Package lru is the bounded least-recently-used map behind Keycard's
// caches: the guard's invalid-token limiter and its caches of keyed hashes.
// A Cache never holds more than its capacity, allocates nothing on a hit or,
// once full, on an eviction, and takes no lock of its own, so that its user
// keeps its own locking (the limiter counts and checks in one critical
// section).
package lru

import "math"

// Cache maps keys to values and holds at most its capacity of them: adding a
// key to a full Cache first forgets the least recently used one. Entries
// live in one slice linked by index, so a full Cache reuses the slot it
// evicts instead of allocating. Create one with New; the zero value is not
// usable. A Cache is not safe for concurrent use: its user holds a lock
// around every call, Get included (Get marks the entry used).
type Cache[K comparable, V any] struct {
	index    map[K]int32
	nodes    []node[K, V]
	head     int32 // most recently used, or -1
	tail     int32 // least recently used, or -1
	capacity int
}

type node[K comparable, V any] struct {
	key        K
	val        V
	prev, next int32
}

// New returns an empty Cache that holds at most capacity entries. Memory
// for the entries is taken as they are added, never beyond capacity. It
// panics when capacity is not between 1 and math.MaxInt32.
func New[K comparable, V any](capacity int) *Cache[K, V] {
	if capacity < 1 || capacity > math.MaxInt32 {
		panic("lru: capacity out of range")
	}
	return &Cache[K, V]{index: make(map[K]int32), head: -1, tail: -1, capacity: capacity}
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int { return len(c.index) }

// Contains reports whether k is in c, without marking it used.
func (c *Cache[K, V]) Contains(k K) bool {
	_, ok := c.index[k]
	return ok
}

// Get returns a pointer to the value of k and marks k most recently used,
// or returns nil when k is not in c. Writing through the pointer updates the
// entry; the pointer is valid until the next call to Add.
func (c *Cache[K, V]) Get(k K) *V {
	i, ok := c.index[k]
	if !ok {
		return nil
	}
	c.toFront(i)
	return &c.nodes[i].val
}

// Add sets the value of k to v, marks k most recently used and returns a
// pointer to the stored value, valid until the next call to Add. When k is
// new and c is full, the least recently used entry is forgotten first.
func (c *Cache[K, V]) Add(k K, v V) *V {
	if i, ok := c.index[k]; ok {
		c.toFront(i)
		c.nodes[i].val = v
		return &c.nodes[i].val
	}
	var i int32
	if len(c.nodes) < c.capacity {
		if len(c.nodes) == cap(c.nodes) {
			// Grow as append would, but never past the capacity.
			grown := make([]node[K, V], len(c.nodes), min(max(2*cap(c.nodes), 8), c.capacity))
			copy(grown, c.nodes)
			c.nodes = grown
		}
		c.nodes = c.nodes[:len(c.nodes)+1]
		i = int32(len(c.nodes) - 1)
	} else {
		i = c.tail
		c.unlink(i)
		delete(c.index, c.nodes[i].key)
	}
	c.nodes[i] = node[K, V]{key: k, val: v, prev: -1, next: -1}
	c.index[k] = i
	c.pushFront(i)
	return &c.nodes[i].val
}

func (c *Cache[K, V]) unlink(i int32) {
	n := &c.nodes[i]
	if n.prev >= 0 {
		c.nodes[n.prev].next = n.next
	} else {
		c.head = n.next
	}
	if n.next >= 0 {
		c.nodes[n.next].prev = n.prev
	} else {
		c.tail = n.prev
	}
	n.prev, n.next = -1, -1
}

func (c *Cache[K, V]) pushFront(i int32) {
	n := &c.nodes[i]
	n.prev, n.next = -1, c.head
	if c.head >= 0 {
		c.nodes[c.head].prev = i
	}
	c.head = i
	if c.tail < 0 {
		c.tail = i
	}
}

func (c *Cache[K, V]) toFront(i int32) {
	if c.head != i {
		c.unlink(i)
		c.pushFront(i)
	}
}
