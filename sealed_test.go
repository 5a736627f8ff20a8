package keycard_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/seal"
	"github.com/keycard-go/keycard/storage"
)

// newSealedEnv is newEnv in sealed-cookie mode.
func newSealedEnv(t *testing.T, opts *keycard.Options) *env {
	return newSealedEnvWrapped(t, opts, func(s storage.Store) storage.Store { return s })
}

// forEachRevocationPath runs a sealed-mode test on memstore, whose own
// revocation state is announced to the Manager's cache
// (storage.RevocationWatcher), and on the same store without any of its
// optional interfaces, where the Manager keeps revocation entries as
// records of their own kind and reads them on every request.
func forEachRevocationPath(t *testing.T, test func(t *testing.T, newSealedEnv func(*testing.T, *keycard.Options) *env)) {
	for _, p := range []struct {
		name string
		wrap func(storage.Store) storage.Store
	}{
		{"watched", func(s storage.Store) storage.Store { return s }},
		{"records", func(s storage.Store) storage.Store { return casOnly{s} }},
	} {
		t.Run(p.name, func(t *testing.T) {
			test(t, func(t *testing.T, opts *keycard.Options) *env { return newSealedEnvWrapped(t, opts, p.wrap) })
		})
	}
}

// newSealedEnvWrapped is newSealedEnv on wrap(a memstore).
func newSealedEnvWrapped(t *testing.T, opts *keycard.Options, wrap func(storage.Store) storage.Store) *env {
	t.Helper()
	c := newClock()
	ring, err := seal.NewKeyRing([]byte("0123456789abcdef0123456789abcdef-sealed-test"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(ring, nil)
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetNow(sealer, c.Now)
	if opts == nil {
		opts = &keycard.Options{}
	}
	opts.Sealer = sealer
	return newEnvStore(t, wrap(newMemstore(t, c)), c, opts)
}

func TestSealedRoundTripNoStoreRead(t *testing.T) {
	e := newSealedEnv(t, nil)
	cookie := e.login("alice")
	if len(cookie) > 4096 {
		t.Fatalf("sealed cookie of %d bytes", len(cookie))
	}
	if code, who := e.whoami(cookie); code != 200 || who != "alice" {
		t.Fatalf("whoami: %d %q", code, who)
	}
	res := e.do(req{method: "POST", path: "/put?k=color&v=blue", cookie: cookie})
	v, set := sessionCookie(res, e.m.CookieName())
	if !set {
		t.Fatal("a write to a sealed session set no new cookie")
	}
	cookie = e.m.CookieName() + "=" + v
	if got := body(e.do(req{method: "GET", path: "/get?k=color", cookie: cookie})); got != "blue" {
		t.Fatalf("color = %q, want blue", got)
	}
	// The session itself is nowhere in the store: a sealed session is the cookie.
	if list, _ := e.store.List(context.Background(), "alice"); len(list) != 0 {
		t.Fatalf("the store holds %d records of alice, want 0", len(list))
	}
}

func TestSealedFixation(t *testing.T) {
	e := newSealedEnv(t, nil)
	res := e.do(req{method: "POST", path: "/put?k=cart&v=apple"})
	planted, _ := sessionCookie(res, e.m.CookieName())
	pre := e.m.CookieName() + "=" + planted
	res = e.do(req{method: "POST", path: "/login?user=alice", cookie: pre})
	after, _ := sessionCookie(res, e.m.CookieName())
	if after == "" || after == planted {
		t.Fatal("login kept the pre-login value")
	}
	if code, _ := e.whoami(pre); code != http.StatusUnauthorized {
		t.Fatalf("pre-login value after login: %d, want 401", code)
	}
	if got := body(e.do(req{method: "GET", path: "/get?k=cart", cookie: pre})); got != "" {
		t.Fatalf("pre-login value still opens its data: %q", got)
	}
}

func TestSealedLogoutAndRevocation(t *testing.T) {
	forEachRevocationPath(t, testSealedLogoutAndRevocation)
}

func testSealedLogoutAndRevocation(t *testing.T, newSealedEnv func(*testing.T, *keycard.Options) *env) {
	tests := []struct {
		name string
		end  func(e *env, cookie string, others []string)
	}{
		{"logout", func(e *env, cookie string, _ []string) {
			e.do(req{method: "POST", path: "/logout", cookie: cookie})
		}},
		{"revoke", func(e *env, cookie string, _ []string) {
			id := sealedID(e, cookie)
			if err := e.m.Revoke(context.Background(), id); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"revoke-all", func(e *env, cookie string, _ []string) {
			e.clock.Advance(time.Millisecond)
			if _, err := e.m.RevokeAll(context.Background(), "alice", ""); err != nil {
				e.t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSealedEnv(t, nil)
			cookie := e.login("alice")
			bob := e.login("bob")
			tt.end(e, cookie, nil)
			if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
				t.Fatalf("replayed sealed value after %s: %d, want 401", tt.name, code)
			}
			if code, _ := e.whoami(bob); code != http.StatusOK {
				t.Fatalf("another subject's session ended by %s", tt.name)
			}
		})
	}
}

func TestSealedSignOutEverywhereElse(t *testing.T) {
	forEachRevocationPath(t, testSealedSignOutEverywhereElse)
}

func testSealedSignOutEverywhereElse(t *testing.T, newSealedEnv func(*testing.T, *keycard.Options) *env) {
	e := newSealedEnv(t, nil)
	keep, other := e.login("alice"), e.login("alice")
	e.clock.Advance(time.Millisecond)
	if _, err := e.m.RevokeAll(context.Background(), "alice", sealedID(e, keep)); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.whoami(other); code != http.StatusUnauthorized {
		t.Fatal("other sealed session survived sign-out-everywhere")
	}
	if code, _ := e.whoami(keep); code != http.StatusOK {
		t.Fatal("the excepted sealed session was ended")
	}
	// A later login is not affected by the earlier generation.
	e.clock.Advance(time.Millisecond)
	if code, _ := e.whoami(e.login("alice")); code != http.StatusOK {
		t.Fatal("a login after sign-out-everywhere does not work")
	}
}

func TestSealedTimeouts(t *testing.T) {
	e := newSealedEnv(t, &keycard.Options{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: time.Hour})
	cookie := e.login("alice")
	start := e.clock.Now()
	// Activity re-seals the value before the idle deadline.
	for e.clock.Now().Sub(start) < 55*time.Minute {
		e.clock.Advance(5 * time.Minute)
		res := e.do(req{method: "GET", path: "/whoami", cookie: cookie})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("active sealed session ended at +%v", e.clock.Now().Sub(start))
		}
		if v, ok := sessionCookie(res, e.m.CookieName()); ok {
			cookie = e.m.CookieName() + "=" + v
		}
	}
	e.clock.Advance(6 * time.Minute) // past the absolute deadline
	if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
		t.Fatal("sealed session outlived its absolute deadline")
	}
	// Idle: a value not used for the idle timeout no longer opens.
	e2 := newSealedEnv(t, &keycard.Options{IdleTimeout: 10 * time.Minute})
	idle := e2.login("bob")
	e2.clock.Advance(11 * time.Minute)
	if code, _ := e2.whoami(idle); code != http.StatusUnauthorized {
		t.Fatal("sealed session outlived its idle deadline")
	}
}

func TestSealedTamperingRejected(t *testing.T) {
	e := newSealedEnv(t, nil)
	cookie := e.login("alice")
	name := e.m.CookieName()
	v := strings.TrimPrefix(cookie, name+"=")
	flip := []byte(v)
	flip[len(flip)/2] ^= 1
	if flip[len(flip)/2] == '_' || flip[len(flip)/2] == '-' {
		flip[len(flip)/2] = 'A'
	}
	for _, bad := range []string{
		string(flip), v[:len(v)-1], v + "A", strings.Repeat("A", 200), "", "!!!",
		strings.Repeat("A", 5000),
	} {
		if code, _ := e.whoami(name + "=" + bad); code != http.StatusUnauthorized {
			t.Fatalf("tampered sealed value %.20q…: %d, want 401", bad, code)
		}
	}
	// The same value under another cookie name does not open.
	other, err := keycard.New(e.store, &keycard.Options{CookieName: "__Host-other", Sealer: sealerOf(t, e), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := other.Handler(app())
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.Header.Set("Cookie", "__Host-other="+v)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("value sealed for %s opened as __Host-other: %d", name, w.Code)
	}
}

func TestSealedTooLarge(t *testing.T) {
	e := newSealedEnv(t, nil)
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		if err := s.Put("big", strings.Repeat("x", 5000)); !errors.Is(err, keycard.ErrTooLarge) {
			t.Errorf("Put of 5000 bytes: err %v, want ErrTooLarge", err)
		}
		if s.Has("big") {
			t.Error("the refused value was kept")
		}
		s.Put("small", "ok")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	for _, l := range w.Result().Header.Values("Set-Cookie") {
		if len(l) > 4096 {
			t.Fatalf("Set-Cookie of %d bytes", len(l))
		}
	}
}

// sealedID returns the session ID sealed in cookie, read through the middleware.
func sealedID(e *env, cookie string) string {
	e.t.Helper()
	var id string
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = keycard.FromContext(r.Context()).ID()
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if id == "" {
		e.t.Fatal("no sealed session behind cookie")
	}
	return id
}

func sealerOf(t *testing.T, e *env) keycard.Sealer {
	ring, _ := seal.NewKeyRing([]byte("0123456789abcdef0123456789abcdef-sealed-test"))
	s, err := seal.New(ring, nil)
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetNow(s, e.clock.Now)
	return s
}

func TestSealedCSRFNonce(t *testing.T) {
	e := newSealedEnv(t, nil)
	companion := func(res *http.Response) (string, bool) {
		for _, c := range res.Cookies() {
			if c.Name == e.m.CookieName()+"-csrf" {
				if c.HttpOnly || !c.Secure {
					t.Fatalf("companion cookie: HttpOnly %v Secure %v, want false, true", c.HttpOnly, c.Secure)
				}
				return c.Value, true
			}
		}
		return "", false
	}
	login := func() (cookie, nonce string) {
		res := e.do(req{method: "POST", path: "/login?user=alice"})
		v, _ := sessionCookie(res, e.m.CookieName())
		n, ok := companion(res)
		if !ok || n == "" {
			t.Fatal("no CSRF companion cookie with the sealed cookie")
		}
		return e.m.CookieName() + "=" + v, n
	}
	check := func(method, cookie, token string) error {
		r := httptest.NewRequest(method, "/", nil)
		r.Header.Set("Cookie", cookie)
		if token != "" {
			r.Header.Set(keycard.CSRFHeader, token)
		}
		return e.m.CheckSealedCSRF(r)
	}
	cookie, nonce := login()
	_, otherNonce := login()
	if err := check("POST", cookie, nonce); err != nil {
		t.Fatalf("own nonce refused: %v", err)
	}
	for name, tt := range map[string]struct{ method, cookie, token string }{
		"missing":        {"POST", cookie, ""},
		"other session":  {"POST", cookie, otherNonce},
		"truncated":      {"DELETE", cookie, nonce[:len(nonce)-1]},
		"no cookie":      {"POST", "", nonce},
		"garbage cookie": {"POST", e.m.CookieName() + "=AAAA", nonce},
	} {
		if err := check(tt.method, tt.cookie, tt.token); !errors.Is(err, keycard.ErrCSRF) {
			t.Errorf("%s: err %v, want ErrCSRF", name, err)
		}
	}
	if err := check("GET", cookie, ""); err != nil {
		t.Fatalf("GET refused: %v", err)
	}
	// A re-sealed cookie comes with a new nonce; the old one no longer matches.
	res := e.do(req{method: "POST", path: "/put?k=a&v=1", cookie: cookie})
	v, _ := sessionCookie(res, e.m.CookieName())
	newNonce, ok := companion(res)
	if !ok || newNonce == nonce {
		t.Fatal("re-sealing did not send a new companion nonce")
	}
	newCookie := e.m.CookieName() + "=" + v
	if err := check("POST", newCookie, nonce); !errors.Is(err, keycard.ErrCSRF) {
		t.Fatal("the previous value's nonce passed for the new value")
	}
	if err := check("POST", newCookie, newNonce); err != nil {
		t.Fatalf("new nonce refused: %v", err)
	}
	// Logout clears the companion too.
	res = e.do(req{method: "POST", path: "/logout", cookie: newCookie})
	if n, ok := companion(res); !ok || n != "" {
		t.Fatal("logout did not clear the companion cookie")
	}
}
