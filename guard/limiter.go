package guard

import (
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/keycard-go/keycard/internal/lru"
)

// Allow reports whether the client network of r may still present session
// tokens, and if not, how long until it may, without counting anything (Invalid
// counts). Limit uses it to refuse a limited network before any work. A
// session layer should not: a network is shared by many users (carrier and
// office NAT), and refusing it before looking a token up would lock out
// every valid session behind it; Keycard's Manager only calls Invalid.
// It does not allocate.
func (g *Guard) Allow(r *http.Request) (ok bool, retryAfter time.Duration) {
	return g.lim.allow(netKeyOf(Network(g.ClientIP(r))), g.now())
}

// Invalid counts one presentation of an unknown, expired or forged session
// token by the client network of r and reports, in the same step, whether
// the network is still within its limit; when it is not, retryAfter says
// when it may present one again. Counting and checking are one atomic step,
// so that many invalid tokens sent at once cannot all slip through between
// a check and a count: of any number of concurrent calls for one network, at
// most the tokens left in its bucket report ok. A call that reports !ok does
// not count further, so a network is never refused for longer than one full
// refill (InvalidBurst / InvalidPerMinute). Keycard's session Manager calls
// it after the store found the token invalid, so a valid token is never
// refused, whatever its network did.
func (g *Guard) Invalid(r *http.Request) (ok bool, retryAfter time.Duration) {
	return g.lim.invalid(netKeyOf(Network(g.ClientIP(r))), g.now())
}

// Networks returns how many client networks the limiter remembers now; it is
// at most Options.MaxNetworks.
func (g *Guard) Networks() int {
	g.lim.mu.Lock()
	defer g.lim.mu.Unlock()
	return g.lim.tats.Len()
}

// Limit returns middleware that answers 429 Too Many Requests, with a
// Retry-After header, to every request from a client network that is over the
// invalid-token limit, before next (and so the session store) sees it. The
// application or the session layer calls Invalid for each invalid token.
//
// It blocks every request of a limited network, with or without a token; a
// session layer that wants to block only token lookups calls Allow itself.
func (g *Guard) Limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, retry := g.Allow(r)
		if !ok {
			secs := int64(math.Ceil(retry.Seconds()))
			if secs < 1 {
				secs = 1
			}
			g.log.LogAttrs(r.Context(), slog.LevelWarn, "guard: too many invalid session tokens",
				slog.String("network", Network(g.ClientIP(r)).String()),
				slog.Int64("retry_after_s", secs),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path))
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// netKey identifies a client network in the limiter: the 16-byte form of the
// network's address and its length (0 for an unknown client, so all clients
// without an address share one bucket: they are limited together rather
// than not at all).
type netKey struct {
	addr [16]byte
	bits uint8
}

func netKeyOf(p netip.Prefix) netKey {
	if !p.IsValid() {
		return netKey{}
	}
	return netKey{addr: p.Addr().As16(), bits: uint8(p.Bits())}
}

// limiter is a token bucket per client network, kept in a bounded LRU so
// that a flood of source addresses cannot make it grow: past max entries the
// least recently seen network is forgotten (and starts afresh if it comes
// back), and a full limiter reuses the forgotten entry instead of
// allocating.
//
// Each bucket is kept as a theoretical arrival time (the generic cell rate
// algorithm): tat is when the bucket will be full again, and every invalid
// token pushes it one interval later. The bucket holds
// burst - (tat-now)/interval tokens; all in integer nanoseconds, so it is
// exact.
type limiter struct {
	mu       sync.Mutex
	interval int64                     // nanoseconds per token
	burst    int64                     // tokens
	tats     *lru.Cache[netKey, int64] // unix nanoseconds when the bucket is full again
}

func newLimiter(perMinute, burst, max int) *limiter {
	return &limiter{
		interval: int64(time.Minute) / int64(perMinute),
		burst:    int64(burst),
		tats:     lru.New[netKey, int64](max),
	}
}

func (l *limiter) allow(k netKey, t time.Time) (bool, time.Duration) {
	now := t.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := l.tats.Get(k)
	if tat == nil {
		return true, 0 // never presented an invalid token (or forgotten)
	}
	// A clock that went backwards must not lock a network out for longer
	// than a full refill.
	*tat = min(*tat, now+l.burst*l.interval)
	// At least one token left: tat-now <= (burst-1)*interval.
	if wait := *tat - now - (l.burst-1)*l.interval; wait > 0 {
		return false, time.Duration(wait)
	}
	return true, 0
}

func (l *limiter) invalid(k netKey, t time.Time) (bool, time.Duration) {
	now := t.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := l.tats.Get(k)
	if tat == nil {
		tat = l.tats.Add(k, now) // a full bucket
	}
	// Take one token if one is left: the bucket empties when tat reaches
	// burst intervals ahead. A refused presentation takes nothing, so the
	// bucket never goes below zero and a client that keeps sending while
	// limited is not locked out for longer than a full refill. A clock that
	// went backwards is clamped the same way.
	next := max(min(*tat, now+l.burst*l.interval), now) + l.interval
	if wait := next - now - l.burst*l.interval; wait > 0 {
		return false, time.Duration(wait)
	}
	*tat = next
	return true, 0
}
