package guard

import (
	"fmt"
	"hash/maphash"
	"net/http/httptest"
	"testing"
)

// TestSumCacheBounded: a flood of distinct networks and languages keeps the
// hash caches within sumCacheMax, and cached and fresh hashes agree.
func TestSumCacheBounded(t *testing.T) {
	g, err := New([]byte("0123456789abcdef0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	first := httptest.NewRequest("GET", "/", nil)
	first.RemoteAddr = "203.0.113.7:1"
	first.Header.Set("Accept-Language", "en")
	stored := g.Fingerprint(first)
	for i := range 3 * sumCacheMax {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.1:1", i>>8&255, i&255)
		r.Header.Set("Accept-Language", fmt.Sprintf("x-%d", i))
		g.Fingerprint(r)
		for _, c := range []*sumCache{g.langSums, g.netSums} {
			c.mu.Lock()
			n := c.sums.Len()
			c.mu.Unlock()
			if n > sumCacheMax {
				t.Fatalf("cache holds %d entries, bound %d", n, sumCacheMax)
			}
		}
	}
	// The first client, long evicted, is still recognised unchanged.
	if v := g.Check(stored, first); len(v.Changed) != 0 {
		t.Fatalf("unchanged client after cache churn: changed %v", v.Changed)
	}
}

// TestSumCacheCollisionIsAMiss: an entry found under a value's hash but
// holding another value is not used; the value's own sum is computed and
// replaces it.
func TestSumCacheCollisionIsAMiss(t *testing.T) {
	g := newGuard(t, nil)
	st := g.macState()
	defer g.macs.Put(st)
	v := []byte("en-gb")
	want := st.hash(SignalLanguage, v)
	c := g.langSums
	c.sums.Add(maphash.Bytes(c.seed, v), cachedSum{value: "de-de", sum: encodedSum{'x'}})
	if got := c.sum(st, SignalLanguage, v); got != want {
		t.Fatalf("sum after a collision: got %q, want %q", got, want)
	}
	if e := c.sums.Get(maphash.Bytes(c.seed, v)); e == nil || e.value != string(v) || e.sum != want {
		t.Fatalf("entry after a collision: %+v, want the value's own", e)
	}
}
