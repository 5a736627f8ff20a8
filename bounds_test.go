package keycard_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/storage"
)

// TestClientFieldsBounded: what a record keeps from the client's headers is
// bounded, whatever size the client sends: 100 anonymous sessions with a
// 900 KiB User-Agent must not park 90 MiB in the store.
func TestClientFieldsBounded(t *testing.T) {
	e := newEnv(t, nil)
	huge := strings.Repeat("Mozilla/5.0 ", 900<<10/12)
	recordOf := func(cookieValue string) *storage.Record {
		t.Helper()
		rec, err := e.store.Get(context.Background(), storage.HashToken(cookieValue))
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	check := func(what string, rec *storage.Record, sentUA string) {
		t.Helper()
		if len(rec.UserAgent) > 512 || !strings.HasPrefix(sentUA, rec.UserAgent) || rec.UserAgent == "" {
			t.Fatalf("%s: stored user agent of %d bytes, want a prefix of at most 512", what, len(rec.UserAgent))
		}
		if len(rec.IP) > 64 {
			t.Fatalf("%s: stored IP of %d bytes", what, len(rec.IP))
		}
	}
	for i := range 100 {
		res := e.do(req{method: "POST", path: "/put?k=a&v=1", header: map[string][]string{"User-Agent": {huge}}})
		v, ok := sessionCookie(res, e.m.CookieName())
		if !ok {
			t.Fatalf("request %d: no session", i)
		}
		check("anonymous session", recordOf(v), huge)
	}
	// A login records the client again; a multi-byte user agent is cut on a
	// character boundary.
	ua := strings.Repeat("é", 1000)
	r := httptest.NewRequest("POST", "/login?user=alice", nil)
	r.Header.Set("User-Agent", ua)
	r.RemoteAddr = "[2001:db8::1%" + strings.Repeat("x", 500) + "]:443"
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	v, _ := sessionCookie(w.Result(), e.m.CookieName())
	rec := recordOf(v)
	check("login", rec, ua)
	if !strings.HasSuffix(rec.UserAgent, "é") {
		t.Fatal("the user agent was cut inside a character")
	}
	creds, err := e.m.Issue(context.Background(), keycard.IssueOptions{Subject: "bob", UserAgent: huge, IP: strings.Repeat("1", 1000)})
	if err != nil {
		t.Fatal(err)
	}
	check("Issue", recordOf(creds.Token.Reveal()), huge)
	for _, ev := range e.events.events {
		if len(ev.Request.UserAgent) > 512 {
			t.Fatalf("an event carries a user agent of %d bytes", len(ev.Request.UserAgent))
		}
	}
}
