package guard

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestLimiter(t *testing.T) {
	c := newClock()
	g := newGuardAt(t, c, &Options{Logger: quiet}) // 20/min, burst 10
	attacker := req("198.51.100.7:1")
	neighbour := req("198.51.100.99:1") // same /24
	other := req("203.0.113.5:1")
	v6 := req("[2001:db8:1:2::1]:1")
	v6same48 := req("[2001:db8:1:ffff::2]:1")

	for i := range 10 {
		if ok, _ := g.Allow(attacker); !ok {
			t.Fatalf("Allow before invalid token %d: got false", i+1)
		}
		g.Invalid(attacker)
	}
	ok, retry := g.Allow(attacker)
	if ok {
		t.Fatal("Allow after 10 invalid tokens: got true, want false")
	}
	if retry != 3*time.Second {
		t.Fatalf("retryAfter: got %v, want 3s (one token at 20/min)", retry)
	}
	if ok, _ := g.Allow(neighbour); ok {
		t.Fatal("Allow for the same /24: got true, want false")
	}
	if ok, _ := g.Allow(other); !ok {
		t.Fatal("Allow for another network: got false, want true")
	}

	// Refill with the injected clock.
	c.Advance(2999 * time.Millisecond)
	if ok, retry := g.Allow(attacker); ok || retry != time.Millisecond {
		t.Fatalf("after 2.999s: got %v %v, want false 1ms", ok, retry)
	}
	c.Advance(time.Millisecond)
	if ok, _ := g.Allow(attacker); !ok {
		t.Fatal("after 3s: got false, want true")
	}
	g.Invalid(attacker)
	if ok, _ := g.Allow(attacker); ok {
		t.Fatal("after one more invalid token: got true, want false")
	}
	c.Advance(time.Hour)
	for i := range 10 { // the bucket refills to the burst, no further
		g.Invalid(attacker)
		if ok, _ := g.Allow(attacker); ok != (i < 9) {
			t.Fatalf("after an hour, invalid token %d: Allow %v", i+1, ok)
		}
	}

	// IPv6 networks are /48s.
	for range 10 {
		g.Invalid(v6)
	}
	if ok, _ := g.Allow(v6same48); ok {
		t.Fatal("Allow for the same /48: got true, want false")
	}

	// A clock that goes backwards adds nothing and breaks nothing.
	c.Advance(-24 * time.Hour)
	if ok, retry := g.Allow(v6); ok || retry != 3*time.Second {
		t.Fatalf("after the clock went back: got %v %v, want false 3s (never more than a full refill)", ok, retry)
	}
}

// TestLimitMiddleware: past the limit the request is answered 429 before the
// handler (the session store) runs; other networks are unaffected.
func TestLimitMiddleware(t *testing.T) {
	c := newClock()
	g := newGuardAt(t, c, &Options{Logger: quiet, InvalidPerMinute: 6, InvalidBurst: 3})
	lookups := 0
	store := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lookups++
		g.Invalid(r) // every token is invalid in this test
		w.WriteHeader(http.StatusUnauthorized)
	})
	h := g.Limit(store)
	codes := []int{}
	for range 5 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req("198.51.100.7:1"))
		codes = append(codes, w.Code)
		if w.Code == 429 {
			if got := w.Header().Get("Retry-After"); got != "10" {
				t.Fatalf("Retry-After: got %q, want 10", got)
			}
		}
	}
	if fmt.Sprint(codes) != "[401 401 401 429 429]" {
		t.Fatalf("codes: got %v, want [401 401 401 429 429]", codes)
	}
	if lookups != 3 {
		t.Fatalf("store lookups: got %d, want 3", lookups)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req("203.0.113.5:1"))
	if w.Code != 401 {
		t.Fatalf("other network: got %d, want 401", w.Code)
	}
	c.Advance(10 * time.Second)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req("198.51.100.7:1"))
	if w.Code != 401 {
		t.Fatalf("after refill: got %d, want 401", w.Code)
	}
	// Sub-second waits are rounded up to one second.
	g2 := newGuardAt(t, c, &Options{Logger: quiet, InvalidPerMinute: 6000, InvalidBurst: 1})
	g2.Invalid(req("198.51.100.7:1"))
	w = httptest.NewRecorder()
	g2.Limit(store).ServeHTTP(w, req("198.51.100.7:1"))
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("short wait: got %d Retry-After %q, want 429 1", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestLimiterOptions(t *testing.T) {
	for _, o := range []Options{{InvalidPerMinute: -1}, {InvalidBurst: -1}, {MaxNetworks: -1}, {ProxyHeader: 7}} {
		if _, err := New(testKey, &o); err == nil {
			t.Errorf("New(%+v): got nil error", o)
		}
	}
}

// addrN returns the n-th of many distinct IPv4 /24 networks.
func addrN(n int) string {
	return netip.AddrFrom4([4]byte{byte(n >> 16), byte(n >> 8), byte(n), 1}).String() + ":1"
}

// TestLimiterMemoryBound: 100k distinct networks keep the limiter at its
// bound, and a second flood does not grow the heap.
func TestLimiterMemoryBound(t *testing.T) {
	const max = 10000
	c := newClock()
	g := newGuardAt(t, c, &Options{MaxNetworks: max})
	r := req("")
	flood := func(offset int) {
		for i := range 100000 {
			r.RemoteAddr = addrN(offset + i)
			g.Invalid(r)
			if i%10 == 0 {
				g.Allow(r)
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}

	before := heap()
	flood(0)
	if got := g.Networks(); got != max {
		t.Fatalf("networks after 100k: got %d, want %d", got, max)
	}
	first := heap()
	flood(100000)
	if got := g.Networks(); got != max {
		t.Fatalf("networks after 200k: got %d, want %d", got, max)
	}
	second := heap()
	runtime.KeepAlive(g)

	// About 150 bytes per entry (map slot and node); allow 3x.
	const perEntry, slack = 150, 3
	if grown := int64(first) - int64(before); grown > max*perEntry*slack {
		t.Errorf("heap grew by %d bytes for %d networks, want at most %d", grown, max, max*perEntry*slack)
	}
	if grown := int64(second) - int64(first); grown > 256<<10 {
		t.Errorf("heap grew by %d bytes on the second flood, want about 0", grown)
	}
	t.Logf("heap: +%d bytes for the first 100k networks, %+d for the next 100k", int64(first)-int64(before), int64(second)-int64(first))

	// The most recent networks are remembered, the oldest forgotten.
	r.RemoteAddr = addrN(199999)
	if !g.lim.Contains(netKeyOf(Network(g.ClientIP(r)))) {
		t.Fatal("most recent network not remembered")
	}
	r.RemoteAddr = addrN(0)
	if g.lim.Contains(netKeyOf(Network(g.ClientIP(r)))) {
		t.Fatal("oldest network still remembered")
	}
}

// TestLimiterLRUOrder: a network that keeps being seen is not evicted by new ones.
func TestLimiterLRUOrder(t *testing.T) {
	c := newClock()
	g := newGuardAt(t, c, &Options{MaxNetworks: 3, InvalidBurst: 1})
	a, b, d, e := req("10.0.1.1:1"), req("10.0.2.1:1"), req("10.0.3.1:1"), req("10.0.4.1:1")
	g.Invalid(a)
	g.Invalid(b)
	g.Invalid(d)
	g.Allow(a) // a is now the most recent; b the least
	g.Invalid(e)
	if ok, _ := g.Allow(a); ok {
		t.Fatal("a was evicted; want b evicted")
	}
	if ok, _ := g.Allow(b); !ok {
		t.Fatal("b is still limited; want it forgotten")
	}
	if got := g.Networks(); got != 3 {
		t.Fatalf("networks: got %d, want 3", got)
	}
	// Unknown clients share one bucket.
	g.Invalid(req("@"))
	if ok, _ := g.Allow(req("")); ok {
		t.Fatal("clients without an address: got allowed, want one shared, limited bucket")
	}
}

// TestLimiterConcurrent: Allow and Invalid from many goroutines (run with -race).
func TestLimiterConcurrent(t *testing.T) {
	g := newGuard(t, &Options{MaxNetworks: 50})
	done := make(chan struct{})
	for w := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			r := req("")
			for i := range 2000 {
				r.RemoteAddr = addrN(w*1000 + i%100)
				if i%3 == 0 {
					g.Invalid(r)
				} else {
					g.Allow(r)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	if got := g.Networks(); got > 50 {
		t.Fatalf("networks: got %d, want at most 50", got)
	}
}

// TestInvalidCountsAndChecksAtOnce: Invalid reports whether the network is
// still within its limit in the same step as it counts, so that of many
// concurrent invalid tokens exactly the burst is let through, and a refused
// one does not push the network's refill further out.
func TestInvalidCountsAndChecksAtOnce(t *testing.T) {
	c := newClock()
	g := newGuardAt(t, c, &Options{Logger: quiet}) // 20/min, burst 10
	var okCount atomic.Int64
	var wg sync.WaitGroup
	for range 500 {
		wg.Go(func() {
			if ok, _ := g.Invalid(req("198.51.100.7:1")); ok {
				okCount.Add(1)
			}
		})
	}
	wg.Wait()
	if got := okCount.Load(); got != 10 {
		t.Fatalf("%d of 500 concurrent invalid tokens within the limit, want exactly the burst of 10", got)
	}
	ok, retry := g.Invalid(req("198.51.100.9:1")) // same /24
	if ok || retry != 3*time.Second {
		t.Fatalf("the 501st: ok %v, retry %v; want refused, retry in one interval (3s)", ok, retry)
	}
	c.Advance(3 * time.Second)
	if ok, _ := g.Invalid(req("198.51.100.7:1")); !ok {
		t.Fatal("one interval later: still refused, although refusals must not count")
	}
	if ok, _ := g.Invalid(req("198.51.100.7:1")); ok {
		t.Fatal("a second token in the same interval was let through")
	}
}
