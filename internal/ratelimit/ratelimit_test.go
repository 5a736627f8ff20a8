package ratelimit

import (
	"testing"
	"time"
)

// TestLimiterBurstThenRate: a key spends its burst at once, is refused with
// the wait until its next token, and gets one token per interval after.
func TestLimiterBurstThenRate(t *testing.T) {
	l := New[string](6, 3, 10) // a token every 10 s, 3 at once
	t0 := time.Unix(1_000_000, 0)
	for i := range 3 {
		if ok, _ := l.Take("a", t0); !ok {
			t.Fatalf("take %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Take("a", t0)
	if ok || wait != 10*time.Second {
		t.Fatalf("after the burst: ok %v wait %v, want false 10s", ok, wait)
	}
	if ok, _ := l.Allow("a", t0); ok {
		t.Fatal("Allow after the burst: ok, want refused")
	}
	if ok, _ := l.Allow("b", t0); !ok {
		t.Fatal("another key is limited too")
	}
	if ok, _ := l.Take("a", t0.Add(10*time.Second)); !ok {
		t.Fatal("one interval later: refused")
	}
	if ok, _ := l.Take("a", t0.Add(10*time.Second)); ok {
		t.Fatal("one interval later, a second token: taken")
	}
}

// TestLimiterClockBackwards: a clock that jumps back never locks a key out
// for longer than a full refill.
func TestLimiterClockBackwards(t *testing.T) {
	l := New[int](60, 2, 10)
	t0 := time.Unix(1_000_000, 0)
	l.Take(1, t0)
	l.Take(1, t0)
	_, wait := l.Take(1, t0.Add(-time.Hour))
	if wait > 2*time.Second {
		t.Fatalf("wait after the clock went back an hour: %v, want at most a refill (2s)", wait)
	}
}

// TestLimiterBounded: past max keys the oldest is forgotten.
func TestLimiterBounded(t *testing.T) {
	l := New[int](60, 1, 100)
	t0 := time.Unix(1_000_000, 0)
	for k := range 1000 {
		l.Take(k, t0)
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("Len %d, want 100", n)
	}
	if l.Contains(0) || !l.Contains(999) {
		t.Fatal("the least recently seen keys were not the ones forgotten")
	}
}

// TestLimiterRefund: a refunded token can be taken again, and refunds never
// fill a bucket past full.
func TestLimiterRefund(t *testing.T) {
	l := New[string](1, 2, 10)
	t0 := time.Unix(1_000_000, 0)
	l.Take("a", t0)
	l.Take("a", t0)
	if ok, _ := l.Take("a", t0); ok {
		t.Fatal("third take of a burst of 2: ok")
	}
	l.Refund("a", t0)
	if ok, _ := l.Take("a", t0); !ok {
		t.Fatal("take after a refund: refused")
	}
	for range 5 {
		l.Refund("a", t0)
	}
	l.Take("a", t0)
	l.Take("a", t0)
	if ok, _ := l.Take("a", t0); ok {
		t.Fatal("refunds filled the bucket past its burst")
	}
}
