package keycard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/guard"
	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// casOnly hides a store's Merge method: the Manager then reads the session
// and writes it back with compare-and-swap, as on a store without Merge.
type casOnly struct{ storage.Store }

// forEachWritePath runs a test once on a Merger store (memstore: writes
// without a read go out as one Merge) and once on the same store without
// Merge (read, then compare-and-swap).
func forEachWritePath(t *testing.T, test func(t *testing.T, newEnv func(*testing.T, *keycard.Options) *env)) {
	for _, p := range []struct {
		name string
		wrap func(storage.Store) storage.Store
	}{
		{"merge", func(s storage.Store) storage.Store { return s }},
		{"compare-and-swap", func(s storage.Store) storage.Store { return casOnly{s} }},
	} {
		t.Run(p.name, func(t *testing.T) {
			test(t, func(t *testing.T, opts *keycard.Options) *env {
				c := newClock()
				return newEnvStore(t, p.wrap(newMemstore(t, c)), c, opts)
			})
		})
	}
}

// callCounter counts the calls the Manager makes, by method, and can fail
// Merge like a store that went away.
type callCounter struct {
	storage.Merger
	mu        sync.Mutex
	calls     map[string]int
	mergeDown bool
}

func (c *callCounter) count(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[method]++
}

// take returns the counts so far and starts again from zero.
func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.calls
	c.calls = map[string]int{}
	return got
}

func (c *callCounter) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	c.count("Get")
	return c.Merger.Get(ctx, h)
}

func (c *callCounter) Create(ctx context.Context, r *storage.Record) error {
	c.count("Create")
	return c.Merger.Create(ctx, r)
}

func (c *callCounter) Update(ctx context.Context, r *storage.Record) error {
	c.count("Update")
	return c.Merger.Update(ctx, r)
}

func (c *callCounter) Rotate(ctx context.Context, old, next *storage.Record, grace time.Time) error {
	c.count("Rotate")
	return c.Merger.Rotate(ctx, old, next, grace)
}

func (c *callCounter) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	c.count("Merge")
	c.mu.Lock()
	down := c.mergeDown
	c.mu.Unlock()
	if down {
		return nil, errDown
	}
	return c.Merger.Merge(ctx, h, m)
}

func newCountingEnv(t *testing.T, opts *keycard.Options) (*env, *callCounter) {
	c := newClock()
	st := &callCounter{Merger: newMemstore(t, c), calls: map[string]int{}}
	return newEnvStore(t, st, c, opts), st
}

func wantCalls(t *testing.T, what string, got map[string]int, want map[string]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: store calls %v, want %v", what, got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("%s: store calls %v, want %v", what, got, want)
		}
	}
}

// TestWriteWithoutReadIsOneMerge: a request that only writes costs one store
// call; one that reads first costs a read and a compare-and-swap.
func TestWriteWithoutReadIsOneMerge(t *testing.T) {
	e, st := newCountingEnv(t, nil)
	cookie := e.login("alice")
	st.take()

	res := e.do(req{method: "POST", path: "/put?k=color&v=blue", cookie: cookie})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("put: status %d", res.StatusCode)
	}
	if _, set := sessionCookie(res, e.m.CookieName()); set {
		t.Fatal("a merged write set a cookie")
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q on a session response, want no-store", cc)
	}
	wantCalls(t, "write without read", st.take(), map[string]int{"Merge": 1})

	if got := body(e.do(req{method: "GET", path: "/get?k=color", cookie: cookie})); got != "blue" {
		t.Fatalf("color = %q after the merged write, want blue", got)
	}
	wantCalls(t, "read", st.take(), map[string]int{"Get": 1})

	// Read, then write: the session is loaded, so the write is a
	// compare-and-swap of what was read.
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		s.Put("color", s.GetString("color")+"!")
	}))
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Cookie", cookie)
	h.ServeHTTP(httptest.NewRecorder(), r)
	wantCalls(t, "read then write", st.take(), map[string]int{"Get": 1, "Update": 1})
	if got := body(e.do(req{method: "GET", path: "/get?k=color", cookie: cookie})); got != "blue!" {
		t.Fatalf("color = %q, want blue!", got)
	}
}

// TestMergeDeclinedTakesTheUsualPath: a write-only request whose token no
// longer opens a live session gets exactly what a reading request would:
// the same events, a fresh session for its values, and the old token stays
// dead.
func TestMergeDeclinedTakesTheUsualPath(t *testing.T) {
	unknown, _ := storetest.NewToken()
	tests := []struct {
		name   string
		setup  func(e *env) string // returns the cookie the write presents
		event  keycard.EventType
		reason string
	}{
		{"unknown token", func(e *env) string { return e.m.CookieName() + "=" + string(unknown) }, keycard.EventInvalidToken, "unknown"},
		{"after logout", func(e *env) string {
			c := e.login("alice")
			e.do(req{method: "POST", path: "/logout", cookie: c})
			return c
		}, keycard.EventInvalidToken, "destroyed"},
		{"after revoke", func(e *env) string {
			c := e.login("alice")
			if _, err := e.m.RevokeAll(context.Background(), "alice", ""); err != nil {
				e.t.Fatal(err)
			}
			return c
		}, keycard.EventInvalidToken, "destroyed"},
		{"idle timeout", func(e *env) string {
			c := e.login("alice")
			e.clock.Advance(31 * time.Minute)
			return c
		}, keycard.EventExpired, ""},
		{"replaced at login", func(e *env) string {
			anon := e.m.CookieName() + "=" + mustCookie(e, e.do(req{method: "POST", path: "/put?k=a&v=1"}))
			e.do(req{method: "POST", path: "/login?user=alice", cookie: anon})
			return anon
		}, keycard.EventInvalidToken, "destroyed"}, // signing in starts a new session and ends the anonymous one
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, st := newCountingEnv(t, nil)
			old := tt.setup(e)
			before := e.events.count(tt.event)
			st.take()
			res := e.do(req{method: "POST", path: "/put?k=x&v=1", cookie: old})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("put: status %d", res.StatusCode)
			}
			calls := st.take()
			if calls["Merge"] != 1 || calls["Get"] < 1 || calls["Create"] != 1 {
				t.Fatalf("store calls %v: want the declined Merge, a Get, then a Create", calls)
			}
			if n := e.events.count(tt.event); n != before+1 {
				t.Fatalf("%s events: %d, want %d", tt.event, n, before+1)
			}
			if tt.reason != "" {
				if r := e.events.reasons(tt.event); r[len(r)-1] != tt.reason {
					t.Fatalf("%s reason %q, want %q", tt.event, r[len(r)-1], tt.reason)
				}
			}
			fresh := e.m.CookieName() + "=" + mustCookie(e, res)
			if fresh == old {
				t.Fatal("the old token was adopted")
			}
			if got := body(e.do(req{method: "GET", path: "/get?k=x", cookie: fresh})); got != "1" {
				t.Fatalf("x = %q in the new session, want 1", got)
			}
			if got := body(e.do(req{method: "GET", path: "/get?k=x", cookie: old})); got != "" {
				t.Fatalf("the old token reads x = %q, want nothing", got)
			}
			if code, _ := e.whoami(old); code != http.StatusUnauthorized {
				t.Fatalf("old token: status %d, want 401", code)
			}
		})
	}
}

// TestMergeWithRenewal: a merged write on a session due for renewal renews
// it, and a write through a replaced token within its grace window lands in
// the session under the new token.
func TestMergeWithRenewal(t *testing.T) {
	e, st := newCountingEnv(t, &keycard.Options{RenewalTimeout: 15 * time.Minute, RenewalGrace: 30 * time.Second})
	old := e.login("alice")
	e.clock.Advance(16 * time.Minute)
	st.take()
	res := e.do(req{method: "POST", path: "/put?k=a&v=1", cookie: old})
	wantCalls(t, "write due for renewal", st.take(), map[string]int{"Merge": 1, "Rotate": 1})
	fresh := e.m.CookieName() + "=" + mustCookie(e, res)
	if fresh == old {
		t.Fatal("no new token at renewal")
	}
	if e.events.count(keycard.EventRenewed) != 1 {
		t.Fatal("no renewed event")
	}
	e.clock.Advance(10 * time.Second)
	res = e.do(req{method: "POST", path: "/put?k=b&v=2", cookie: old})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("write in grace: status %d", res.StatusCode)
	}
	if _, set := sessionCookie(res, e.m.CookieName()); set {
		t.Fatal("a write in grace set a cookie")
	}
	for k, v := range map[string]string{"a": "1", "b": "2"} {
		if got := body(e.do(req{method: "GET", path: "/get?k=" + k, cookie: fresh})); got != v {
			t.Fatalf("%s = %q under the new token, want %s", k, got, v)
		}
	}
	if code, who := e.whoami(fresh); code != http.StatusOK || who != "alice" {
		t.Fatalf("new token: %d %q", code, who)
	}
}

// TestMergeStoreOutageIs503: a Merge that fails is a 503 that changes no
// cookie, and the session is intact when the store is back.
func TestMergeStoreOutageIs503(t *testing.T) {
	e, st := newCountingEnv(t, nil)
	cookie := e.login("alice")
	st.mu.Lock()
	st.mergeDown = true
	st.mu.Unlock()
	res := e.do(req{method: "POST", path: "/put?k=a&v=1", cookie: cookie})
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("put during an outage: status %d, want 503", res.StatusCode)
	}
	if _, set := sessionCookie(res, e.m.CookieName()); set {
		t.Fatal("a failed merge touched the cookie")
	}
	st.mu.Lock()
	st.mergeDown = false
	st.mu.Unlock()
	if code, who := e.whoami(cookie); code != http.StatusOK || who != "alice" {
		t.Fatalf("after the outage: %d %q, want 200 alice", code, who)
	}
	if got := body(e.do(req{method: "GET", path: "/get?k=a", cookie: cookie})); got != "" {
		t.Fatalf("a = %q after a failed write, want nothing", got)
	}
}

// TestMergeNotForAPIRequests: Put on an API request must know at once
// whether the bearer token is valid (ErrNoSession), so it reads first.
func TestMergeNotForAPIRequests(t *testing.T) {
	e, st := newCountingEnv(t, nil)
	creds, err := e.m.Issue(context.Background(), keycard.IssueOptions{Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	st.take()
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.FromContext(r.Context()).Put("a", 1); err != nil {
			t.Errorf("Put: %v", err)
		}
	}))
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Authorization", "Bearer "+creds.Token.Reveal())
	h.ServeHTTP(httptest.NewRecorder(), r)
	if calls := st.take(); calls["Merge"] != 0 || calls["Get"] != 1 {
		t.Fatalf("API write: store calls %v, want a Get and no Merge", calls)
	}
}

func mustCookie(e *env, res *http.Response) string {
	e.t.Helper()
	v, ok := sessionCookie(res, e.m.CookieName())
	if !ok || v == "" {
		e.t.Fatalf("status %d: no session cookie set", res.StatusCode)
	}
	return v
}

// TestMergeKeepsTheGuard: with a guard, every request's client is judged
// against the session's fingerprint, so a write-only request from another
// browser still revokes the session (when the guard is set to) instead of
// being merged into it.
func TestMergeKeepsTheGuard(t *testing.T) {
	c := newClock()
	g, err := guard.New([]byte("0123456789abcdef0123456789abcdef"), &guard.Options{Logger: discard, Actions: guard.Actions{Browser: keycard.GuardRevoke}})
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetNow(g, c.Now)
	st := &callCounter{Merger: newMemstore(t, c), calls: map[string]int{}}
	e := newEnvStore(t, st, c, &keycard.Options{Guard: g.Keycard()})
	cookie := e.loginFrom("203.0.113.7:5000", chrome, "en")
	st.take()
	r := httptest.NewRequest("POST", "/put?k=a&v=1", nil)
	r.RemoteAddr = "203.0.113.7:5000"
	r.Header.Set("User-Agent", firefox)
	r.Header.Set("Accept-Language", "en")
	r.Header.Set("Cookie", cookie)
	e.h.ServeHTTP(httptest.NewRecorder(), r)
	if calls := st.take(); calls["Merge"] != 0 {
		t.Fatalf("store calls %v: a guarded write must load the session, not merge", calls)
	}
	if res := e.from("203.0.113.7:5000", chrome, "en", cookie); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("session after a write from another browser: %d, want 401 (revoked)", res.StatusCode)
	}
}
