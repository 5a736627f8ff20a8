package keycard_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
)

// TestRememberMe: a remembered session gets the limits the application
// configured (here: 30 days, unless unused for a week) and outlives the
// default 30-minute idle timeout and 12-hour absolute timeout; one that is
// not remembered does not; toggling never extends it; and without a
// configuration SetRememberMe(true) says so instead of doing almost nothing.
func TestRememberMe(t *testing.T) {
	rm := keycard.RememberMe{IdleTimeout: 7 * 24 * time.Hour, AbsoluteTimeout: 30 * 24 * time.Hour}
	e := newEnv(t, &keycard.Options{RememberMe: rm})
	res := e.do(req{method: "POST", path: "/login?user=alice&remember=1"})
	remembered := cookieAfter(e, res, "")
	var maxAge int
	for _, c := range res.Cookies() {
		if c.Name == e.m.CookieName() {
			maxAge = c.MaxAge
		}
	}
	if want := int(rm.AbsoluteTimeout.Seconds()); maxAge < want-60 || maxAge > want {
		t.Fatalf("Max-Age %d, want about %d (30 days)", maxAge, want)
	}
	plain := e.login("alice")

	e.clock.Advance(time.Hour) // an idle hour
	if code, _ := e.whoami(plain); code != http.StatusUnauthorized {
		t.Fatalf("session not remembered after an idle hour: %d, want 401", code)
	}
	res = e.do(req{method: "GET", path: "/whoami", cookie: remembered})
	if who := body(res); res.StatusCode != http.StatusOK || who != "alice" {
		t.Fatalf("remembered session after an idle hour: %d %q, want 200 alice", res.StatusCode, who)
	}
	// Renewal still runs for it.
	if next := cookieAfter(e, res, remembered); next == remembered {
		t.Fatal("the remembered session's token was not renewed after an hour")
	} else {
		remembered = next
	}
	for day := range 5 { // used every 5 days: past the 12 h default, within a week's idle
		e.clock.Advance(5 * 24 * time.Hour)
		res := e.do(req{method: "GET", path: "/whoami", cookie: remembered})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("remembered session on day %d: %d", 5*(day+1), res.StatusCode)
		}
		remembered = cookieAfter(e, res, remembered)
	}
	// Day 31: past the configured absolute limit, whatever the activity.
	e.clock.Advance(6 * 24 * time.Hour)
	if code, _ := e.whoami(remembered); code != http.StatusUnauthorized {
		t.Fatalf("remembered session past 30 days: %d, want 401", code)
	}

	// Turning remember-me off and on again never extends the session.
	cookie := e.login("bob")
	toggle := func(on bool) {
		t.Helper()
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := keycard.FromContext(r.Context()).SetRememberMe(on); err != nil {
				t.Fatal(err)
			}
		}))
		cookie = cookieAfter(e, e.serve(h, req{method: "POST", path: "/", cookie: cookie}), cookie)
	}
	toggle(true)
	e.clock.Advance(29 * 24 * time.Hour)
	toggle(false)
	toggle(true)
	e.clock.Advance(2 * 24 * time.Hour)
	if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
		t.Fatalf("toggling remember-me extended the session past 30 days from login: %d", code)
	}

	// Not configured: a clear error.
	off := newEnv(t, nil)
	h := off.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keycard.Login(r.Context(), "carol")
		if err := keycard.FromContext(r.Context()).SetRememberMe(true); !errors.Is(err, keycard.ErrRememberMeOff) {
			t.Errorf("SetRememberMe(true) without RememberMe: %v, want ErrRememberMeOff", err)
		}
		if err := keycard.FromContext(r.Context()).SetRememberMe(false); err != nil {
			t.Errorf("SetRememberMe(false) without RememberMe: %v", err)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))

	for _, bad := range []keycard.RememberMe{
		{IdleTimeout: time.Hour},
		{AbsoluteTimeout: time.Hour},
		{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour},
		{IdleTimeout: time.Hour, AbsoluteTimeout: 401 * 24 * time.Hour},
		{IdleTimeout: -time.Hour, AbsoluteTimeout: time.Hour},
	} {
		if _, err := keycard.New(newMemstore(t, newClock()), &keycard.Options{RememberMe: bad}); err == nil {
			t.Errorf("New accepted RememberMe %+v", bad)
		}
	}
}
