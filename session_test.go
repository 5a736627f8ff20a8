package keycard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

func TestAnonymousRequestCreatesNothing(t *testing.T) {
	e := newEnv(t, nil)
	res := e.do(req{method: "GET", path: "/get?k=a"})
	if _, set := sessionCookie(res, e.m.CookieName()); set {
		t.Fatal("a read without a session set a cookie")
	}
	if n := e.events.count(keycard.EventCreated); n != 0 {
		t.Fatalf("created events = %d, want 0 (no session per anonymous hit)", n)
	}
	res = e.do(req{method: "POST", path: "/put?k=a&v=1"})
	if _, set := sessionCookie(res, e.m.CookieName()); !set {
		t.Fatal("the first write did not start a session")
	}
}

func TestFixationLoginReplacesToken(t *testing.T) {
	e := newEnv(t, nil)
	// The attacker obtains an anonymous session and plants its cookie.
	res := e.do(req{method: "POST", path: "/put?k=cart&v=apple"})
	planted, _ := sessionCookie(res, e.m.CookieName())
	pre := e.m.CookieName() + "=" + planted

	// The victim logs in while carrying the planted token.
	res = e.do(req{method: "POST", path: "/login?user=alice", cookie: pre})
	after, set := sessionCookie(res, e.m.CookieName())
	if !set || after == "" || after == planted {
		t.Fatalf("login kept the pre-login token (set %v)", set)
	}
	post := e.m.CookieName() + "=" + after
	if code, who := e.whoami(post); code != http.StatusOK || who != "alice" {
		t.Fatalf("new token: %d %q, want 200 alice", code, who)
	}
	if code, _ := e.whoami(pre); code != http.StatusUnauthorized {
		t.Fatalf("pre-login token after login: status %d, want 401", code)
	}
	// Data survives login, and presenting the pre-login token did not let
	// its holder end the victim's new session.
	if got := body(e.do(req{method: "GET", path: "/get?k=cart", cookie: post})); got != "apple" {
		t.Fatalf("cart after login = %q, want apple", got)
	}
	if code, _ := e.whoami(post); code != http.StatusOK {
		t.Fatalf("victim's session after the attacker replayed the pre-login token: %d, want 200", code)
	}
	if n := e.events.count(keycard.EventReplay); n != 0 {
		t.Fatalf("replay events = %d: a pre-login token is not a stolen one", n)
	}
}

func TestUnknownTokenNeverAdopted(t *testing.T) {
	e := newEnv(t, nil)
	forged, _ := storetest.NewToken()
	cookie := e.m.CookieName() + "=" + forged
	res := e.do(req{method: "POST", path: "/put?k=a&v=1", cookie: cookie})
	got, set := sessionCookie(res, e.m.CookieName())
	if !set || got == forged || got == "" {
		t.Fatalf("forged token adopted or no new token issued: set %v", set)
	}
	if _, err := e.store.Get(context.Background(), storage.HashToken(forged)); err == nil {
		t.Fatal("a record exists under the forged token")
	}
	if n := e.events.count(keycard.EventInvalidToken); n != 1 {
		t.Fatalf("invalid-token events = %d, want 1", n)
	}
}

func TestReplayAfterEnd(t *testing.T) {
	tests := []struct {
		name string
		end  func(e *env, cookie string)
	}{
		{"logout", func(e *env, cookie string) {
			res := e.do(req{method: "POST", path: "/logout", cookie: cookie})
			if res.StatusCode != http.StatusNoContent {
				e.t.Fatalf("logout status %d", res.StatusCode)
			}
			if res.Header.Get("Clear-Site-Data") == "" {
				e.t.Error("logout sent no Clear-Site-Data")
			}
			if v, set := sessionCookie(res, e.m.CookieName()); !set || v != "" {
				e.t.Error("logout did not expire the cookie")
			}
		}},
		{"revoke", func(e *env, cookie string) {
			list, err := e.m.List(context.Background(), "alice")
			if err != nil || len(list) != 1 {
				e.t.Fatalf("List = %v, %v", list, err)
			}
			if err := e.m.Revoke(context.Background(), list[0].ID); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"revoke-all", func(e *env, cookie string) {
			n, err := e.m.RevokeAll(context.Background(), "alice", "")
			if err != nil || n != 1 {
				e.t.Fatalf("RevokeAll = %d, %v; want 1", n, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			cookie := e.login("alice")
			tt.end(e, cookie)
			if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
				t.Fatalf("replayed token after %s: status %d, want 401", tt.name, code)
			}
			if n := e.events.count(keycard.EventInvalidToken); n != 1 {
				t.Fatalf("invalid-token events = %d, want 1", n)
			}
		})
	}
}

func TestRevokeAllExceptCurrent(t *testing.T) {
	e := newEnv(t, nil)
	keep := e.login("alice")
	other1, other2 := e.login("alice"), e.login("alice")
	bob := e.login("bob")
	info := sessionInfo(t, e, keep)
	n, err := e.m.RevokeAll(context.Background(), "alice", info.ID)
	if err != nil || n != 2 {
		t.Fatalf("RevokeAll = %d, %v; want 2", n, err)
	}
	for _, c := range []string{other1, other2} {
		if code, _ := e.whoami(c); code != http.StatusUnauthorized {
			t.Errorf("revoked session: status %d, want 401", code)
		}
	}
	for _, c := range []string{keep, bob} {
		if code, _ := e.whoami(c); code != http.StatusOK {
			t.Errorf("kept session: status %d, want 200", code)
		}
	}
}

// sessionInfo returns the Info of the session behind cookie.
func sessionInfo(t *testing.T, e *env, cookie string) keycard.Info {
	t.Helper()
	tok := strings.TrimPrefix(cookie, e.m.CookieName()+"=")
	info, err := e.m.Lookup(context.Background(), tok, keycard.KindBrowser)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	return info
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, &keycard.Options{IdleTimeout: 10 * time.Minute, RenewalTimeout: -1})
	cookie := e.login("alice")
	// Activity every 5 minutes keeps the session alive well past 10 minutes.
	for range 6 {
		e.clock.Advance(5 * time.Minute)
		if code, _ := e.whoami(cookie); code != http.StatusOK {
			t.Fatalf("active session ended at %v", e.clock.Now())
		}
	}
	// Just under the idle timeout minus the touch granularity: still alive.
	e.clock.Advance(9 * time.Minute)
	if code, _ := e.whoami(cookie); code != http.StatusOK {
		t.Fatal("session ended before its idle timeout")
	}
	e.clock.Advance(10 * time.Minute)
	if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
		t.Fatalf("idle session still valid after the idle timeout")
	}
	if n := e.events.count(keycard.EventExpired); n != 1 {
		t.Fatalf("expired events = %d, want 1", n)
	}
}

func TestLazyTouch(t *testing.T) {
	e := newEnv(t, &keycard.Options{IdleTimeout: 30 * time.Minute, RenewalTimeout: -1})
	cookie := e.login("alice")
	rec := func() *storage.Record {
		info := sessionInfo(t, e, cookie)
		r, err := e.store.GetByID(context.Background(), info.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	v0 := rec().Version
	e.clock.Advance(30 * time.Second) // below the 1-minute granularity
	e.whoami(cookie)
	if v := rec().Version; v != v0 {
		t.Fatalf("a read 30s later wrote the store (version %d → %d)", v0, v)
	}
	e.clock.Advance(61 * time.Second)
	e.whoami(cookie)
	r := rec()
	if r.Version != v0+1 {
		t.Fatalf("a read after the granularity did not touch (version %d → %d)", v0, r.Version)
	}
	if want := e.clock.Now().Add(30 * time.Minute); !r.IdleExpiresAt.Equal(want) {
		t.Fatalf("idle deadline %v, want %v", r.IdleExpiresAt, want)
	}
}

func TestAbsoluteTimeoutNeverExtended(t *testing.T) {
	e := newEnv(t, &keycard.Options{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: time.Hour, RenewalTimeout: 10 * time.Minute, RenewalGrace: time.Second})
	cookie := e.login("alice")
	start := e.clock.Now()
	for e.clock.Now().Sub(start) < time.Hour-5*time.Minute {
		e.clock.Advance(5 * time.Minute)
		res := e.do(req{method: "GET", path: "/whoami", cookie: cookie})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("session ended at +%v, before its absolute timeout", e.clock.Now().Sub(start))
		}
		if v, ok := sessionCookie(res, e.m.CookieName()); ok {
			cookie = e.m.CookieName() + "=" + v // renewed
		}
		if info := sessionInfo(t, e, cookie); !info.ExpiresAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("absolute deadline moved to %v, want %v", info.ExpiresAt, start.Add(time.Hour))
		}
	}
	if n := e.events.count(keycard.EventRenewed); n < 4 {
		t.Fatalf("renewed events = %d, want at least 4 in 55 minutes with a 10-minute renewal", n)
	}
	e.clock.Advance(5 * time.Minute)
	if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
		t.Fatal("session valid after its absolute timeout")
	}
}

func TestRenewalGraceAndReplay(t *testing.T) {
	e := newEnv(t, &keycard.Options{RenewalTimeout: 15 * time.Minute, RenewalGrace: 30 * time.Second})
	old := e.login("alice")
	e.clock.Advance(16 * time.Minute)
	res := e.do(req{method: "GET", path: "/whoami", cookie: old})
	v, renewed := sessionCookie(res, e.m.CookieName())
	if res.StatusCode != http.StatusOK || !renewed || v == "" || e.m.CookieName()+"="+v == old {
		t.Fatalf("no renewal after the renewal timeout: status %d, cookie %v", res.StatusCode, renewed)
	}
	fresh := e.m.CookieName() + "=" + v
	assertCookieAttrs(t, res, e.m.CookieName(), false)

	// A request in flight with the old token, within the grace window, works
	// and does not set a cookie (it does not know the new token).
	e.clock.Advance(10 * time.Second)
	res = e.do(req{method: "GET", path: "/whoami", cookie: old})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("old token within grace: status %d, want 200", res.StatusCode)
	}
	if _, set := sessionCookie(res, e.m.CookieName()); set {
		t.Fatal("a request in grace set a cookie")
	}
	// After the window, the old token is a replay: the whole session ends.
	e.clock.Advance(30 * time.Second)
	if code, _ := e.whoami(old); code != http.StatusUnauthorized {
		t.Fatalf("old token after grace: status %d, want 401", code)
	}
	if n := e.events.count(keycard.EventReplay); n != 1 {
		t.Fatalf("replay events = %d, want 1", n)
	}
	if r := e.events.reasons(keycard.EventRevoked); len(r) != 1 || r[0] != "replay" {
		t.Fatalf("revoked events %v, want one with reason replay", r)
	}
	if code, _ := e.whoami(fresh); code != http.StatusUnauthorized {
		t.Fatalf("new token after a replay: status %d, want 401 (the session is ended)", code)
	}
}

func TestRenewExplicitHasNoGrace(t *testing.T) {
	e := newEnv(t, nil)
	old := e.login("alice")
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.Renew(r.Context()); err != nil {
			t.Error(err)
		}
	}))
	r := httptest.NewRequest("POST", "/stepup", nil)
	r.Header.Set("Cookie", old)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if _, set := sessionCookie(w.Result(), e.m.CookieName()); !set {
		t.Fatal("Renew set no cookie")
	}
	if code, _ := e.whoami(old); code != http.StatusUnauthorized {
		t.Fatalf("token replaced by Renew: status %d, want 401 at once", code)
	}
}

func TestPerSessionAbsoluteOverride(t *testing.T) {
	e := newEnv(t, &keycard.Options{RenewalTimeout: -1})
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		s.Login("alice")
		if err := s.SetAbsoluteTimeout(20 * time.Minute); err != nil {
			t.Error(err)
		}
		if err := s.SetIdleTimeout(13 * time.Hour); err == nil {
			t.Error("an idle timeout beyond the absolute cap was accepted")
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	v, _ := sessionCookie(w.Result(), e.m.CookieName())
	cookie := e.m.CookieName() + "=" + v
	e.clock.Advance(15 * time.Minute)
	if code, _ := e.whoami(cookie); code != http.StatusOK {
		t.Fatal("session ended before its shortened absolute timeout")
	}
	e.clock.Advance(6 * time.Minute)
	if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
		t.Fatal("session outlived its per-session absolute timeout")
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	forEachWritePath(t, testConcurrentWritersLoseNothing)
}

func testConcurrentWritersLoseNothing(t *testing.T, newEnv func(*testing.T, *keycard.Options) *env) {
	e := newEnv(t, &keycard.Options{RenewalTimeout: -1})
	cookie := e.login("alice")
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			res := e.do(req{method: "POST", path: fmt.Sprintf("/put?k=key%d&v=%d", i, i), cookie: cookie})
			if res.StatusCode != http.StatusOK {
				t.Errorf("writer %d: status %d", i, res.StatusCode)
			}
		})
	}
	wg.Wait()
	for i := range 100 {
		if got := body(e.do(req{method: "GET", path: fmt.Sprintf("/get?k=key%d", i), cookie: cookie})); got != fmt.Sprint(i) {
			t.Fatalf("key%d = %q, want %d", i, got, i)
		}
	}
}

// TestNoResurrection runs the race many times: request A has loaded the
// session and is about to write; request B ends or renews it; A's commit must
// not bring the old token back.
func TestNoResurrection(t *testing.T) { forEachWritePath(t, testNoResurrection) }

func testNoResurrection(t *testing.T, newEnv func(*testing.T, *keycard.Options) *env) {
	for _, mode := range []string{"logout", "renew", "revoke-all"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, &keycard.Options{RenewalTimeout: -1})
			_, merging := e.store.(storage.Merger)
			iterations := 2000
			if testing.Short() {
				iterations = 200
			}
			for i := range iterations {
				cookie := e.login("alice")
				loaded, release := make(chan struct{}), make(chan struct{})
				a := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := keycard.FromContext(r.Context())
					if merging {
						s.Put("x", "from A") // no read: the write waits for the commit's Merge
					} else {
						_ = s.GetString("x") // load
					}
					close(loaded)
					<-release
					if !merging {
						s.Put("x", "from A")
					}
				}))
				b := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch mode {
					case "logout":
						keycard.Logout(r.Context())
					case "renew":
						keycard.Renew(r.Context())
					case "revoke-all":
						e.m.RevokeAll(r.Context(), "alice", "")
					}
				}))
				done := make(chan struct{})
				go func() {
					defer close(done)
					r := httptest.NewRequest("POST", "/a", nil)
					r.Header.Set("Cookie", cookie)
					a.ServeHTTP(httptest.NewRecorder(), r)
				}()
				<-loaded
				r := httptest.NewRequest("POST", "/b", nil)
				r.Header.Set("Cookie", cookie)
				b.ServeHTTP(httptest.NewRecorder(), r)
				close(release)
				<-done
				if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
					t.Fatalf("iteration %d: the old token works again after %s (status %d)", i, mode, code)
				}
			}
			if mode != "renew" {
				if list, _ := e.m.List(context.Background(), "alice"); len(list) != 0 {
					t.Fatalf("%d sessions of alice alive after %s, want 0", len(list), mode)
				}
			}
		})
	}
}

func TestTokenInURLRefused(t *testing.T) {
	e := newEnv(t, nil)
	tok, _ := storetest.NewToken()
	tests := []struct {
		name   string
		query  string
		status int
	}{
		{"session", "session=" + tok, http.StatusBadRequest},
		{"token", "a=1&token=" + tok, http.StatusBadRequest},
		{"upper-case name", "TOKEN=" + tok, http.StatusBadRequest},
		{"cookie name", "__Host-keycard=" + tok, http.StatusBadRequest},
		{"escaped cookie name", "__Host%2Dkeycard=" + tok, http.StatusBadRequest},
		{"access_token", "access_token=" + tok, http.StatusBadRequest},
		{"other name", "q=" + tok, http.StatusOK},
		{"not token-shaped", "token=reset-123", http.StatusOK},
		{"broken escape", "token=%zz&x=%", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(req{method: "GET", path: "/get?" + tt.query})
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status == http.StatusBadRequest && !strings.Contains(body(res), "token_in_url") {
				t.Fatal("the 400 does not say why")
			}
		})
	}
}

func TestHostileCredentials(t *testing.T) {
	e := newEnv(t, nil)
	cookie := e.login("alice")
	tok := strings.TrimPrefix(cookie, e.m.CookieName()+"=")
	creds, err := e.m.Issue(context.Background(), keycard.IssueOptions{Subject: "bob"})
	apiTok := creds.Token
	if err != nil {
		t.Fatal(err)
	}
	name := e.m.CookieName()
	tests := []struct {
		name   string
		q      req
		status int
		who    string
	}{
		{"valid cookie", req{cookie: cookie}, 200, "alice"},
		{"valid bearer", req{bearer: apiTok.Reveal()}, 200, "bob"},
		{"browser token as bearer", req{bearer: tok}, 401, ""},
		{"api token as cookie", req{cookie: name + "=" + apiTok.Reveal()}, 401, ""},
		{"cookie and bearer", req{cookie: cookie, bearer: apiTok.Reveal()}, 400, ""},
		{"duplicate cookies", req{cookie: cookie + "; " + name + "=" + strings.Repeat("A", 43)}, 401, ""},
		{"same cookie twice", req{cookie: cookie + "; " + cookie}, 200, "alice"},
		{"quoted cookie", req{cookie: name + `="` + tok + `"`}, 200, "alice"},
		{"oversized cookie", req{cookie: name + "=" + strings.Repeat("A", 64<<10)}, 401, ""},
		{"short token", req{cookie: name + "=" + tok[:42]}, 401, ""},
		{"long token", req{cookie: name + "=" + tok + "A"}, 401, ""},
		{"bad alphabet", req{cookie: name + "=" + strings.Repeat("+", 43)}, 401, ""},
		{"padding", req{cookie: name + "=" + tok[:42] + "="}, 401, ""},
		{"non-canonical last char", req{cookie: name + "=" + tok[:42] + "B"}, 401, ""},
		{"NUL", req{cookie: name + "=" + tok[:20] + "\x00" + tok[21:]}, 401, ""},
		{"CRLF", req{cookie: name + "=" + tok[:20] + "\r\n" + tok[22:]}, 401, ""},
		{"unicode", req{cookie: name + "=" + tok[:40] + "é"}, 401, ""},
		{"empty cookie", req{cookie: name + "="}, 401, ""},
		{"bearer wrong length", req{bearer: tok[:30]}, 401, ""},
		{"bearer jwt-shaped", req{bearer: "eyJhbGciOiJub25lIn0.e30."}, 401, ""},
		{"two bearers", req{header: http.Header{"Authorization": {"Bearer " + apiTok.Reveal(), "Bearer " + apiTok.Reveal()}}}, 400, ""},
		{"basic auth", req{header: http.Header{"Authorization": {"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}}}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.method, tt.q.path = "GET", "/whoami"
			res := e.do(tt.q)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if got := body(res); tt.who != "" && got != tt.who {
				t.Fatalf("subject %q, want %q", got, tt.who)
			}
		})
	}
	// The wrong-kind presentations did not harm the sessions.
	if code, _ := e.whoami(cookie); code != 200 {
		t.Fatal("browser session harmed by a wrong-kind presentation")
	}
}

func TestStoreOutageIs503(t *testing.T) {
	c := newClock()
	mem := newMemstore(t, c)
	flaky := &flakyStore{Store: mem}
	e := newEnvStore(t, flaky, c, nil)
	cookie := e.login("alice")
	bob, err := e.m.Issue(context.Background(), keycard.IssueOptions{Subject: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	flaky.down.Store(true)
	for _, q := range []req{
		{method: "GET", path: "/whoami", cookie: cookie},
		{method: "POST", path: "/put?k=a&v=1", cookie: cookie},
		{method: "POST", path: "/logout", cookie: cookie},
		{method: "POST", path: "/login?user=bob"},
	} {
		res := e.do(q)
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %s during an outage: status %d, want 503", q.method, q.path, res.StatusCode)
		}
		if _, set := sessionCookie(res, e.m.CookieName()); set {
			t.Fatalf("%s %s during an outage touched the cookie", q.method, q.path)
		}
		if b := body(res); !strings.Contains(b, "store_unavailable") || strings.Contains(b, "refused") {
			t.Fatalf("503 body %q: want a generic store_unavailable error", b)
		}
	}
	// A browser navigating gets a page, not JSON; API clients keep JSON.
	const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, tt := range []struct {
		name, accept, bearer, wantType string
	}{
		{"browser navigation", browserAccept, "", "text/html; charset=utf-8"},
		{"fetch default", "*/*", "", "application/json"},
		{"no Accept", "", "", "application/json"},
		{"json preferred", "application/json, text/html;q=0.5", "", "application/json"},
		{"html refused", "text/html;q=0, application/json", "", "application/json"},
		{"api client asking for html", "text/html", "x", "application/json"},
		{"malformed q", "text/html;q=2, application/json;q=0.1", "", "application/json"},
		{"garbage", ";;;,,,/=;q=", "", "application/json"},
		{"wildcard html", "text/*, application/json;q=0.5", "", "text/html; charset=utf-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := req{method: "GET", path: "/whoami", cookie: cookie, header: http.Header{}}
			if tt.accept != "" {
				q.header.Set("Accept", tt.accept)
			}
			if tt.bearer != "" {
				q.cookie, q.bearer = "", bob.Token.Reveal()
			}
			res := e.do(q)
			b := body(res)
			if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Content-Type") != tt.wantType {
				t.Fatalf("status %d, Content-Type %q; want 503 %s", res.StatusCode, res.Header.Get("Content-Type"), tt.wantType)
			}
			if tt.wantType == "application/json" && !strings.Contains(b, `"store_unavailable"`) {
				t.Fatalf("JSON body %q", b)
			}
			if tt.wantType != "application/json" && (!strings.Contains(b, "<title>") || !strings.Contains(b, "unavailable") || strings.Contains(b, "refused")) {
				t.Fatalf("HTML body %q: want a page saying the service is unavailable, without the cause", b)
			}
		})
	}
	flaky.down.Store(false)
	if code, who := e.whoami(cookie); code != 200 || who != "alice" {
		t.Fatalf("after the outage: %d %q, want 200 alice (nobody logged out)", code, who)
	}
}

// TestConcurrentWritersTwoNodes is TestConcurrentWritersLoseNothing through
// two Managers on one store, as two processes would be: their commits are
// not serialised by a shared lock, so every conflict goes through the
// compare-and-swap re-read and reapply.
func TestConcurrentWritersTwoNodes(t *testing.T) {
	forEachWritePath(t, testConcurrentWritersTwoNodes)
}

func testConcurrentWritersTwoNodes(t *testing.T, newEnv func(*testing.T, *keycard.Options) *env) {
	e := newEnv(t, &keycard.Options{RenewalTimeout: -1})
	o := &keycard.Options{RenewalTimeout: -1, Logger: discard}
	testhook.SetNow(o, e.clock.Now)
	other, err := keycard.New(e.store, o)
	if err != nil {
		t.Fatal(err)
	}
	nodes := []http.Handler{e.h, other.Handler(app())}
	cookie := e.login("alice")
	var wg sync.WaitGroup
	var acked [100]bool
	for i := range 100 {
		wg.Go(func() {
			r := httptest.NewRequest("POST", fmt.Sprintf("/put?k=key%d&v=%d", i, i), nil)
			r.Header.Set("Cookie", cookie)
			w := httptest.NewRecorder()
			nodes[i%2].ServeHTTP(w, r)
			switch {
			case w.Code == http.StatusOK:
				acked[i] = true
			case w.Code != http.StatusServiceUnavailable:
				t.Errorf("writer %d: status %d", i, w.Code)
			case w.Header().Get("Retry-After") == "":
				t.Errorf("writer %d: 503 without Retry-After", i)
			}
		})
	}
	wg.Wait()
	// Under extreme contention between processes a commit may give up with
	// 503 + Retry-After; an acknowledged write may never be lost.
	missing, ok := 0, 0
	for i := range 100 {
		if !acked[i] {
			continue
		}
		ok++
		if got := body(e.do(req{method: "GET", path: fmt.Sprintf("/get?k=key%d", i), cookie: cookie})); got != fmt.Sprint(i) {
			missing++
		}
	}
	if ok < 90 {
		t.Fatalf("only %d of 100 writes acknowledged", ok)
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged keys missing after concurrent writes through two nodes", missing, ok)
	}
}

// wrongSuccessorStore returns another session's record when asked for a
// rotated token's successor, like a corrupted store would.
type wrongSuccessorStore struct {
	storage.Store
	other storage.Hash
}

func (w *wrongSuccessorStore) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	rec, err := w.Store.Get(ctx, h)
	if err == nil && rec.State == storage.StateRotated {
		cp := *rec
		cp.Successor = w.other
		return &cp, nil
	}
	return rec, err
}

func TestGraceNeverFollowsIntoAnotherSession(t *testing.T) {
	c := newClock()
	mem := newMemstore(t, c)
	st := &wrongSuccessorStore{Store: mem}
	e := newEnvStore(t, st, c, nil)
	bob := e.login("bob")
	bobInfo := sessionInfo(t, e, bob)
	bobRec, err := mem.GetByID(context.Background(), bobInfo.ID)
	if err != nil {
		t.Fatal(err)
	}
	st.other = bobRec.Hash
	alice := e.login("alice")
	e.clock.Advance(16 * time.Minute)
	e.whoami(alice) // renewal: alice's old token becomes a rotated tombstone
	if code, who := e.whoami(alice); code == http.StatusOK && who == "bob" {
		t.Fatal("a rotated token resolved to another user's session")
	}
}
