package keycard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
)

// TestEndRacesRotation: request A ends the session (Logout) while request B,
// another tab with the same cookie, renews its token and commits first,
// automatically at the renewal timeout or by Renew. Whatever rotated
// meanwhile, the session must end: neither token may open it, the subject
// has no session left, and the end is reported once. Revoke and RevokeAll,
// racing the renewal without any ordering, must do the same.
func TestEndRacesRotation(t *testing.T) { forEachWritePath(t, testEndRacesRotation) }

func testEndRacesRotation(t *testing.T, newEnv func(*testing.T, *keycard.Options) *env) {
	iterations := 2000
	if testing.Short() {
		iterations = 200
	}
	for _, tt := range []struct{ end, rotate string }{
		{"logout", "renewal-timeout"},
		{"logout", "renew"},
		{"revoke", "renewal-timeout"},
		{"revoke", "renew"},
		{"revoke-all", "renewal-timeout"},
		{"revoke-all", "renew"},
	} {
		t.Run(tt.end+"/"+tt.rotate, func(t *testing.T) {
			iterations := iterations
			if tt.end != "logout" {
				iterations /= 2 // the store races under these are pinned by storetest too
			}
			e := newEnv(t, nil)
			ctx := context.Background()
			survivors := 0
			for i := range iterations {
				cookie := e.login("alice")
				id := e.sessionID(cookie)
				destroyedBefore := e.events.count(keycard.EventDestroyed)
				loaded, release := make(chan struct{}), make(chan struct{})
				a := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := keycard.FromContext(r.Context())
					if tt.end == "logout" {
						if err := s.Logout(); err != nil {
							t.Error(err)
						}
					}
					close(loaded)
					<-release // B commits its renewal meanwhile
				}))
				b := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := keycard.FromContext(r.Context())
					if tt.rotate == "renew" {
						s.Renew()
					}
					s.Put("n", i)
				}))
				serveB := func() (successor string) {
					r := httptest.NewRequest("POST", "/b", nil)
					r.Header.Set("Cookie", cookie)
					w := httptest.NewRecorder()
					b.ServeHTTP(w, r)
					return cookieAfter(e, w.Result(), "")
				}
				var successor string
				if tt.end == "logout" {
					aDone := make(chan struct{})
					go func() {
						defer close(aDone)
						r := httptest.NewRequest("POST", "/logout", nil)
						r.Header.Set("Cookie", cookie)
						a.ServeHTTP(httptest.NewRecorder(), r)
					}()
					<-loaded // A has loaded the session and called Logout
					if tt.rotate == "renewal-timeout" {
						e.clock.Advance(16 * time.Minute)
					}
					successor = serveB() // B's renewal commits first
					close(release)
					<-aDone
				} else {
					if tt.rotate == "renewal-timeout" {
						e.clock.Advance(16 * time.Minute)
					}
					var wg sync.WaitGroup
					wg.Go(func() { successor = serveB() })
					switch tt.end {
					case "revoke":
						if err := e.m.Revoke(ctx, id); err != nil && !errors.Is(err, keycard.ErrNotFound) {
							t.Fatal(err)
						}
					case "revoke-all":
						if _, err := e.m.RevokeAll(ctx, "alice", ""); err != nil {
							t.Fatal(err)
						}
					}
					wg.Wait()
				}
				if successor == "" && tt.end == "logout" {
					t.Fatalf("iteration %d: B did not renew the token", i)
				}
				if aliveAfter(e, cookie, successor) {
					survivors++
				}
				if list, err := e.m.List(ctx, "alice"); err != nil || len(list) != 0 {
					t.Fatalf("iteration %d: %d sessions of alice listed after %s raced %s (%v)", i, len(list), tt.end, tt.rotate, err)
				}
				if tt.end == "logout" {
					if n := e.events.count(keycard.EventDestroyed) - destroyedBefore; n != 1 {
						t.Fatalf("iteration %d: %d destroyed events for one logout, want 1", i, n)
					}
				}
			}
			if survivors != 0 {
				t.Fatalf("%d of %d sessions survived %s racing %s", survivors, iterations, tt.end, tt.rotate)
			}
		})
	}
}

// aliveAfter reports whether either token still opens a session.
func aliveAfter(e *env, cookies ...string) bool {
	for _, c := range cookies {
		if c == "" {
			continue
		}
		if code, _ := e.whoami(c); code != http.StatusUnauthorized {
			return true
		}
	}
	return false
}
