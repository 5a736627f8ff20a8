package keycard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/guard"
	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

const (
	chrome  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
)

// countingStore counts Get calls.
type countingStore struct {
	storage.Store
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, h)
}

func newGuardEnv(t *testing.T, actions guard.Actions) (*env, *countingStore) {
	t.Helper()
	c := newClock()
	g, err := guard.New([]byte("0123456789abcdef0123456789abcdef"), &guard.Options{Actions: actions, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetNow(g, c.Now)
	st := &countingStore{Store: newMemstore(t, c)}
	return newEnvStore(t, st, c, &keycard.Options{Guard: g.Keycard()}), st
}

// from sends GET /whoami from addr with user agent ua and language lang.
func (e *env) from(addr, ua, lang, cookie string) *http.Response {
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.RemoteAddr = addr
	r.Header.Set("User-Agent", ua)
	r.Header.Set("Accept-Language", lang)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w.Result()
}

func (e *env) loginFrom(addr, ua, lang string) string {
	r := httptest.NewRequest("POST", "/login?user=alice", nil)
	r.RemoteAddr = addr
	r.Header.Set("User-Agent", ua)
	r.Header.Set("Accept-Language", lang)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	v, _ := sessionCookie(w.Result(), e.m.CookieName())
	return e.m.CookieName() + "=" + v
}

// TestGuardLimitsInvalidTokens: past the burst, a network presenting
// invalid tokens is answered 429. Every token is looked up first (a valid
// one must never be refused), so each presentation costs one store read.
func TestGuardLimitsInvalidTokens(t *testing.T) {
	e, st := newGuardEnv(t, guard.Actions{})
	limited := 0
	for i := range 40 {
		forged, _ := storetest.NewToken()
		res := e.from("203.0.113.7:5000", chrome, "en", e.m.CookieName()+"="+forged)
		if res.StatusCode == http.StatusTooManyRequests {
			limited++
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			continue
		}
		if limited > 0 {
			t.Fatalf("request %d passed after the limit was reached", i)
		}
	}
	if limited == 0 {
		t.Fatal("40 invalid tokens in a minute were never limited")
	}
	if got, want := st.gets.Load(), int64(40); got != want {
		t.Fatalf("store reads = %d, want %d: every presented token is verified before it is counted", got, want)
	}
	if n := e.events.count(keycard.EventRateLimited); n != limited {
		t.Fatalf("rate-limited events = %d, want %d", n, limited)
	}
	// Another network is not affected, and neither are requests without a token.
	forged, _ := storetest.NewToken()
	if res := e.from("198.51.100.9:5000", chrome, "en", e.m.CookieName()+"="+forged); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("other network: %d, want 401", res.StatusCode)
	}
	if res := e.from("203.0.113.8:5000", chrome, "en", ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token from the limited network: %d, want 401", res.StatusCode)
	}
}

func TestGuardFingerprintActions(t *testing.T) {
	t.Run("browser change asks for reauth by default", func(t *testing.T) {
		e, _ := newGuardEnv(t, guard.Actions{})
		cookie := e.loginFrom("203.0.113.7:5000", chrome, "en")
		if res := e.from("203.0.113.7:5000", firefox, "en", cookie); res.StatusCode != 200 {
			t.Fatalf("cookie in another browser: %d, want 200 (kept, reauth required)", res.StatusCode)
		}
		if r := e.events.reasons(keycard.EventAnomaly); len(r) != 1 || r[0] != "browser" {
			t.Fatalf("anomaly reasons %v, want [browser]", r)
		}
	})
	t.Run("browser change revokes when configured", func(t *testing.T) {
		e, _ := newGuardEnv(t, guard.Actions{Browser: keycard.GuardRevoke})
		cookie := e.loginFrom("203.0.113.7:5000", chrome, "en")
		if res := e.from("203.0.113.7:5000", chrome, "en", cookie); res.StatusCode != 200 {
			t.Fatalf("same client: %d", res.StatusCode)
		}
		if res := e.from("203.0.113.7:5000", firefox, "en", cookie); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("stolen cookie in another browser: %d, want 401", res.StatusCode)
		}
		if res := e.from("203.0.113.7:5000", chrome, "en", cookie); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("session after revocation: %d, want 401", res.StatusCode)
		}
		if n := e.events.count(keycard.EventAnomaly); n != 1 {
			t.Fatalf("anomaly events = %d, want 1", n)
		}
	})
	t.Run("network change logs", func(t *testing.T) {
		e, _ := newGuardEnv(t, guard.Actions{})
		cookie := e.loginFrom("203.0.113.7:5000", chrome, "en")
		if res := e.from("198.51.100.9:5000", chrome, "en", cookie); res.StatusCode != 200 {
			t.Fatalf("roaming user: %d, want 200 (detection first)", res.StatusCode)
		}
		if r := e.events.reasons(keycard.EventAnomaly); len(r) != 1 || r[0] != "network" {
			t.Fatalf("anomaly reasons %v, want [network]", r)
		}
	})
	t.Run("reauth persists until login", func(t *testing.T) {
		e, _ := newGuardEnv(t, guard.Actions{Language: keycard.GuardReauth})
		needs := func(cookie, lang string) bool {
			var got bool
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = keycard.FromContext(r.Context()).NeedsReauth()
				io.WriteString(w, "ok")
			}))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "203.0.113.7:5000"
			r.Header.Set("User-Agent", chrome)
			r.Header.Set("Accept-Language", lang)
			r.Header.Set("Cookie", cookie)
			h.ServeHTTP(httptest.NewRecorder(), r)
			return got
		}
		cookie := e.loginFrom("203.0.113.7:5000", chrome, "en")
		if needs(cookie, "en") {
			t.Fatal("reauth asked for an unchanged client")
		}
		if !needs(cookie, "de") {
			t.Fatal("a language change did not ask for reauth")
		}
		if !needs(cookie, "en") {
			t.Fatal("the reauth mark did not persist")
		}
	})
}

// TestGuardNeverLocksOutValidSessions: one client sending junk cookies from
// the victim's /24 (or another /64 of its /48) keeps its network over the
// limit for two minutes; the victim's requests with a valid cookie from the
// same network must all be served.
func TestGuardNeverLocksOutValidSessions(t *testing.T) {
	for _, net := range []struct{ name, attacker, victim string }{
		{"ipv4 /24", "203.0.113.66:4000", "203.0.113.7:5000"},
		{"ipv6 /48", "[2001:db8:1:2::66]:4000", "[2001:db8:1:3::7]:5000"},
	} {
		t.Run(net.name, func(t *testing.T) {
			e, _ := newGuardEnv(t, guard.Actions{})
			victim := e.loginFrom(net.victim, chrome, "en")
			served, attackerLimited := 0, 0
			for range 40 { // two minutes, a request every three seconds
				for range 2 {
					junk, _ := storetest.NewToken()
					if res := e.from(net.attacker, chrome, "en", e.m.CookieName()+"="+junk); res.StatusCode == http.StatusTooManyRequests {
						attackerLimited++
					}
				}
				if res := e.from(net.victim, chrome, "en", victim); res.StatusCode == http.StatusOK {
					served++
				} else if res.StatusCode == http.StatusTooManyRequests {
					t.Fatal("a valid session was refused 429 because of its network's junk cookies")
				}
				e.clock.Advance(3 * time.Second)
			}
			if served != 40 {
				t.Fatalf("victim served %d of 40", served)
			}
			if attackerLimited == 0 {
				t.Fatal("the attacker was never limited; the test proves nothing")
			}
		})
	}
}

// TestGuardLimitHoldsUnderConcurrency: 500 invalid cookies sent at once from
// one address: no more than the burst may get past the limiter, since
// counting and checking are one step.
func TestGuardLimitHoldsUnderConcurrency(t *testing.T) {
	const n, burst = 500, 10 // burst: guard's default InvalidBurst
	c := newClock()
	g, err := guard.New([]byte("0123456789abcdef0123456789abcdef"), &guard.Options{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetNow(g, c.Now)
	// Every lookup waits until all n are in flight, as on a store with a
	// network round trip: the widest window between a check and a count.
	st := &barrierStore{Store: newMemstore(t, c), n: n, gate: make(chan struct{})}
	e := newEnvStore(t, st, c, &keycard.Options{Guard: g.Keycard()})
	var passed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			junk, _ := storetest.NewToken()
			<-start
			if res := e.from("203.0.113.66:4000", chrome, "en", e.m.CookieName()+"="+junk); res.StatusCode != http.StatusTooManyRequests {
				passed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := passed.Load(); got > burst {
		t.Fatalf("%d of %d concurrent invalid tokens got past the limiter, want at most %d", got, n, burst)
	}
}

// barrierStore holds every Get until n Gets have arrived (or, should fewer
// ever come, a second has passed).
type barrierStore struct {
	storage.Store
	n       int64
	arrived atomic.Int64
	gate    chan struct{}
}

func (b *barrierStore) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	if b.arrived.Add(1) == b.n {
		close(b.gate)
	}
	select {
	case <-b.gate:
	case <-time.After(time.Second):
	}
	return b.Store.Get(ctx, h)
}
