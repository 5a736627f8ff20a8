package memstore

import (
	"math/rand/v2"
	"testing"
)

// TestTableModel runs random operations on a table and on a map and
// compares them, with hash functions that collide a lot and none at all.
func TestTableModel(t *testing.T) {
	tests := []struct {
		name string
		n    int
		hash func(key uint32) uint64
	}{
		{"spread", 5000, func(k uint32) uint64 { return uint64(k) * 0x9E3779B97F4A7C15 }},
		{"clustered", 400, func(k uint32) uint64 { return uint64(k % 7) }},
		{"one bucket", 200, func(uint32) uint64 { return 42 }},
		{"high bits only", 300, func(k uint32) uint64 { return uint64(k) << 40 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			// Values are keys+1 here, so the key of a value is v-1.
			hashOf := func(v uint32) uint64 { return tt.hash(v - 1) }
			var tab table
			model := map[uint32]bool{}
			n := tt.n
			for step := range 20 * n {
				k := uint32(rng.IntN(n))
				v := k + 1
				eq := func(x uint32) bool {
					if x == tombValue || x == 0 {
						t.Fatalf("eq called with %#x", x)
					}
					return x == v
				}
				switch op := rng.IntN(10); {
				case op < 5: // insert if absent
					if !model[k] {
						tab.insert(tt.hash(k), v, hashOf)
						model[k] = true
					}
				case op < 8:
					got := tab.remove(tt.hash(k), v, hashOf)
					if got != model[k] {
						t.Fatalf("step %d: remove(%d) = %v, want %v", step, k, got, model[k])
					}
					delete(model, k)
				case op < 9:
					// replace with itself: found iff present
					if got := tab.replace(tt.hash(k), v, v); got != model[k] {
						t.Fatalf("step %d: replace(%d) = %v, want %v", step, k, got, model[k])
					}
				}
				if got := tab.find(tt.hash(k), eq); (got != 0) != model[k] {
					t.Fatalf("step %d: find(%d) = %d, want present %v", step, k, got, model[k])
				}
				if tab.n != len(model) {
					t.Fatalf("step %d: n = %d, want %d", step, tab.n, len(model))
				}
			}
			for k := range uint32(n) {
				v := k + 1
				if got := tab.find(tt.hash(k), func(x uint32) bool { return x == v }); (got != 0) != model[k] {
					t.Errorf("final find(%d) = %d, want present %v", k, got, model[k])
				}
			}
		})
	}
}

// TestTableGrowthIsIncremental checks that no insert moves more than a
// bounded number of values.
func TestTableGrowthIsIncremental(t *testing.T) {
	var tab table
	calls := 0
	hashOf := func(v uint32) uint64 { calls++; return uint64(v) * 0x9E3779B97F4A7C15 }
	for v := uint32(1); v < 100_000; v++ {
		calls = 0
		tab.insert(uint64(v)*0x9E3779B97F4A7C15, v, hashOf)
		if calls > migrateStep {
			t.Fatalf("insert %d rehashed %d values, want at most %d", v, calls, migrateStep)
		}
	}
}
