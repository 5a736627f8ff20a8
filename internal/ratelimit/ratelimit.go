// Package ratelimit is the token-bucket limiter that Keycard uses wherever
// it counts failures per key: invalid session tokens per client network
// (package guard) and failed logins per account and per network (package
// server).
package ratelimit

import (
	"sync"
	"time"

	"github.com/keycard-go/keycard/internal/lru"
)

// Limiter is a token bucket per key, kept in a bounded LRU so that a flood
// of keys cannot make it grow: past max entries the least recently seen key
// is forgotten (and starts afresh if it comes back), and a full limiter
// reuses the forgotten entry instead of allocating. It is safe for
// concurrent use.
//
// Each bucket is kept as a theoretical arrival time (the generic cell rate
// algorithm): tat is when the bucket will be full again, and every counted
// event pushes it one interval later. The bucket holds
// burst - (tat-now)/interval tokens; all in integer nanoseconds, so it is
// exact.
type Limiter[K comparable] struct {
	mu       sync.Mutex
	interval int64                // nanoseconds per token
	burst    int64                // tokens
	tats     *lru.Cache[K, int64] // unix nanoseconds when the bucket is full again
}

// New returns a Limiter that lets each key spend burst tokens at once and
// perMinute tokens a minute sustained, remembering at most max keys.
func New[K comparable](perMinute, burst, max int) *Limiter[K] {
	return &Limiter[K]{
		interval: int64(time.Minute) / int64(perMinute),
		burst:    int64(burst),
		tats:     lru.New[K, int64](max),
	}
}

// Allow reports whether k has a token left at t, and if not how long until
// it has, without taking one.
func (l *Limiter[K]) Allow(k K, t time.Time) (bool, time.Duration) {
	now := t.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := l.tats.Get(k)
	if tat == nil {
		return true, 0 // never counted (or forgotten)
	}
	// A clock that went backwards must not lock a key out for longer than
	// a full refill.
	*tat = min(*tat, now+l.burst*l.interval)
	// At least one token left: tat-now <= (burst-1)*interval.
	if wait := *tat - now - (l.burst-1)*l.interval; wait > 0 {
		return false, time.Duration(wait)
	}
	return true, 0
}

// Take takes one token of k at t if one is left and reports whether it
// did; when it did not, retryAfter says when one is. Counting and checking
// are one atomic step, so that many events at once cannot all slip through
// between a check and a count. A refused call takes nothing, so the bucket
// never goes below zero and a key that keeps trying while limited is not
// locked out for longer than a full refill.
func (l *Limiter[K]) Take(k K, t time.Time) (ok bool, retryAfter time.Duration) {
	now := t.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := l.tats.Get(k)
	if tat == nil {
		tat = l.tats.Add(k, now) // a full bucket
	}
	// The bucket empties when tat reaches burst intervals ahead; a clock
	// that went backwards is clamped the same way.
	next := max(min(*tat, now+l.burst*l.interval), now) + l.interval
	if wait := next - now - l.burst*l.interval; wait > 0 {
		return false, time.Duration(wait)
	}
	*tat = next
	return true, 0
}

// Len returns how many keys the limiter remembers now.
func (l *Limiter[K]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tats.Len()
}

// Contains reports whether the limiter remembers k.
func (l *Limiter[K]) Contains(k K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tats.Contains(k)
}

// Refund puts back a token that Take took at t for an event that turned out
// not to count (a login that succeeded), so that a limiter of failures can
// take its token before the outcome is known: concurrent attempts then
// cannot all pass a check made before any of them failed.
func (l *Limiter[K]) Refund(k K, t time.Time) {
	now := t.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	if tat := l.tats.Get(k); tat != nil {
		*tat = max(*tat-l.interval, now)
	}
}
