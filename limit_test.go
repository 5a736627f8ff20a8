package keycard_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
)

func TestSessionLimitEvictsOldest(t *testing.T) {
	e := newEnv(t, &keycard.Options{SessionLimit: keycard.SessionLimit{Max: 2}})
	first := e.login("alice")
	e.clock.Advance(time.Second)
	second := e.login("alice")
	e.clock.Advance(time.Second)
	bob := e.login("bob")
	third := e.login("alice")
	if code, _ := e.whoami(first); code != http.StatusUnauthorized {
		t.Fatalf("oldest session after a login beyond the limit: %d, want 401", code)
	}
	for _, c := range []string{second, third, bob} {
		if code, _ := e.whoami(c); code != http.StatusOK {
			t.Fatalf("session within the limit: %d, want 200", code)
		}
	}
	// Re-authenticating an existing session does not evict anyone.
	e.clock.Advance(time.Second)
	res := e.do(req{method: "POST", path: "/login?user=alice", cookie: second})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("re-authentication: %d", res.StatusCode)
	}
	if code, _ := e.whoami(third); code != http.StatusOK {
		t.Fatal("a re-authentication evicted another session")
	}
	if list, _ := e.m.List(context.Background(), "alice"); len(list) != 2 {
		t.Fatalf("alice holds %d sessions, want 2", len(list))
	}
}

func TestSessionLimitDenyNew(t *testing.T) {
	e := newEnv(t, &keycard.Options{SessionLimit: keycard.SessionLimit{Max: 2, DenyNew: true}})
	a, b := e.login("alice"), e.login("alice")
	res := e.do(req{method: "POST", path: "/login?user=alice"})
	if res.StatusCode != http.StatusBadRequest || body(res) != keycard.ErrTooManySessions.Error() {
		t.Fatalf("third login: %d %q, want it refused with ErrTooManySessions", res.StatusCode, body(res))
	}
	for _, c := range []string{a, b} {
		if code, _ := e.whoami(c); code != http.StatusOK {
			t.Fatal("a denied login ended an existing session")
		}
	}
	// After a logout there is room again.
	e.do(req{method: "POST", path: "/logout", cookie: a})
	e.login("alice")
}
