package keycard_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/keycard-go/keycard"
)

// TestLoginAsAnotherSubjectStartsANewSession: Bob logging in on a browser
// where Alice is still logged in must get a session of his own: none of
// Alice's values, a new ID (so that RevokeAll("alice") and Alice's access
// tokens, which carry her session ID, never reach Bob), and Alice's session
// ended.
func TestLoginAsAnotherSubjectStartsANewSession(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode string, e *env) {
		ctx := context.Background()
		alice := e.login("alice")
		res := e.do(req{method: "POST", path: "/put?k=secret&v=alices", cookie: alice})
		alice = cookieAfter(e, res, alice)
		aliceID := e.sessionID(alice)

		res = e.do(req{method: "POST", path: "/login?user=bob", cookie: alice})
		bob := cookieAfter(e, res, alice)
		if bob == alice {
			t.Fatal("the login as bob kept alice's token")
		}
		if code, who := e.whoami(bob); code != http.StatusOK || who != "bob" {
			t.Fatalf("bob's session: %d %q", code, who)
		}
		if got := body(e.do(req{method: "GET", path: "/get?k=secret", cookie: bob})); got != "" {
			t.Fatalf("bob sees alice's value %q", got)
		}
		bobID := e.sessionID(bob)
		if bobID == "" || bobID == aliceID {
			t.Fatalf("bob's session ID %q, alice's %q: want a new one", bobID, aliceID)
		}
		if active, err := e.m.Active(ctx, aliceID); err != nil || active {
			t.Fatalf("alice's session after bob's login: active %v, %v; want ended", active, err)
		}
		if code, _ := e.whoami(alice); code != http.StatusUnauthorized {
			t.Fatalf("alice's old token after bob's login: %d, want 401", code)
		}
		if _, err := e.m.RevokeAll(ctx, "alice", ""); err != nil {
			t.Fatal(err)
		}
		if active, err := e.m.Active(ctx, bobID); err != nil || !active {
			t.Fatalf("RevokeAll(alice) reached bob's session: active %v, %v", active, err)
		}
		if code, who := e.whoami(bob); code != http.StatusOK || who != "bob" {
			t.Fatalf("bob after RevokeAll(alice): %d %q", code, who)
		}

		// A re-authentication of the same subject keeps its session and
		// values; only the token changes.
		res = e.do(req{method: "POST", path: "/put?k=theme&v=dark", cookie: bob})
		bob = cookieAfter(e, res, bob)
		bobID = e.sessionID(bob)
		res = e.do(req{method: "POST", path: "/login?user=bob", cookie: bob})
		again := cookieAfter(e, res, bob)
		// (Sealed sessions take a new ID at every login: see docs/sealed.md.)
		if again == bob || e.sessionID(again) != bobID && mode == "server" {
			t.Fatal("a re-authentication did not keep the session under a new token")
		}
		if got := body(e.do(req{method: "GET", path: "/get?k=theme", cookie: again})); got != "dark" {
			t.Fatalf("value after re-authentication = %q, want dark", got)
		}
	})
}

// cookieAfter returns the session cookie res set, or prev when it set none.
func cookieAfter(e *env, res *http.Response, prev string) string {
	if v, ok := sessionCookie(res, e.m.CookieName()); ok && v != "" {
		return e.m.CookieName() + "=" + v
	}
	return prev
}

// sessionID returns the ID of the session cookie opens.
func (e *env) sessionID(cookie string) string {
	e.t.Helper()
	var id string
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = keycard.FromContext(r.Context()).ID()
	}))
	e.serve(h, req{method: "GET", path: "/", cookie: cookie})
	return id
}

// TestLoginTellsTheNewSession: a handler that logs a visitor in learns the
// ID of the session it is making before the response is written (an API
// that answers with the session needs it), and it is the ID that lasts.
func TestLoginTellsTheNewSession(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode string, e *env) {
		var during keycard.Info
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := keycard.FromContext(r.Context())
			if err := s.Login("alice"); err != nil {
				t.Fatal(err)
			}
			var ok bool
			if during, ok = s.Info(); !ok || during.ID == "" || during.Subject != "alice" {
				t.Fatalf("Info after Login = %+v, %v; want the new session", during, ok)
			}
		}))
		cookie := cookieAfter(e, e.serve(h, req{method: "POST", path: "/"}), "")
		if got := e.sessionID(cookie); got != during.ID {
			t.Fatalf("the committed session's ID %q, Info said %q during the login", got, during.ID)
		}
	})
}
