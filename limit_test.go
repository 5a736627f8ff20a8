package keycard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
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

// TestSessionLimitUnderConcurrency: logins that all pass Login's check
// before any of them commits must still leave at most Max sessions, on one
// Manager or several sharing the store.
func TestSessionLimitUnderConcurrency(t *testing.T) {
	for _, deny := range []bool{true, false} {
		t.Run(map[bool]string{true: "deny-new", false: "evict-oldest"}[deny], func(t *testing.T) {
			c := newClock()
			st := newMemstore(t, c)
			opts := func() *keycard.Options {
				return &keycard.Options{SessionLimit: keycard.SessionLimit{Max: 1, DenyNew: deny}}
			}
			nodes := []*env{newEnvStore(t, st, c, opts()), newEnvStore(t, st, c, opts())}
			const logins = 8
			for round := range 50 {
				var passed sync.WaitGroup // every Login call has returned
				passed.Add(logins)
				var wg sync.WaitGroup
				codes := make([]int, logins)
				for i := range logins {
					n := nodes[i%len(nodes)]
					h := n.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						err := keycard.Login(r.Context(), "alice")
						passed.Done()
						passed.Wait() // nobody commits before everyone checked
						if err != nil {
							http.Error(w, err.Error(), http.StatusForbidden)
							return
						}
						w.WriteHeader(http.StatusOK)
					}))
					wg.Go(func() {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
						codes[i] = w.Code
					})
				}
				wg.Wait()
				list, err := nodes[0].m.List(context.Background(), "alice")
				if err != nil {
					t.Fatal(err)
				}
				if len(list) > 1 {
					t.Fatalf("round %d: %d live sessions with Max 1 (login statuses %v)", round, len(list), codes)
				}
				ok := 0
				for _, code := range codes {
					if code == http.StatusOK {
						ok++
					} else if code != http.StatusForbidden {
						t.Fatalf("round %d: a login answered %d, want 200 or 403", round, code)
					}
				}
				if ok > 1 && deny {
					t.Fatalf("round %d: %d logins answered 200 with DenyNew and Max 1", round, ok)
				}
				if _, err := nodes[0].m.RevokeAll(context.Background(), "alice", ""); err != nil {
					t.Fatal(err)
				}
				c.Advance(time.Second)
			}
		})
	}
}
