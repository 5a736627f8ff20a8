package guard

import (
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// Allow reports whether the client network of r may still present session
// tokens, and if not, how long until it may, without counting anything (Invalid
// counts). Limit uses it to refuse a limited network before any work. A
// session layer should not: a network is shared by many users (carrier and
// office NAT), and refusing it before looking a token up would lock out
// every valid session behind it; Keycard's Manager only calls Invalid.
// It does not allocate.
func (g *Guard) Allow(r *http.Request) (ok bool, retryAfter time.Duration) {
	return g.lim.Allow(netKeyOf(Network(g.ClientIP(r))), g.now())
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
	return g.lim.Take(netKeyOf(Network(g.ClientIP(r))), g.now())
}

// Networks returns how many client networks the limiter remembers now; it is
// at most Options.MaxNetworks.
func (g *Guard) Networks() int {
	return g.lim.Len()
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
