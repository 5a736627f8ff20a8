package keycard_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/storetest"
)

func TestRefreshRotatesAndReuseRevokesFamily(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c1, err := e.m.Issue(ctx, keycard.IssueOptions{Subject: "cli-user", UserAgent: "keycard-cli"})
	if err != nil {
		t.Fatal(err)
	}
	if c1.RefreshToken == "" || c1.Token == "" {
		t.Fatal("Issue returned no refresh token for an API session")
	}
	e.clock.Advance(time.Minute)
	c2, err := e.m.Refresh(ctx, c1.RefreshToken.Reveal())
	if err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	if c2.Token == c1.Token || c2.RefreshToken == c1.RefreshToken || c2.Session.ID != c1.Session.ID {
		t.Fatal("refresh did not rotate both tokens within the same session")
	}
	if code, who := e.whoamiBearer(c2.Token.Reveal()); code != 200 || who != "cli-user" {
		t.Fatalf("new access token: %d %q", code, who)
	}
	// The old access token works for the grace window only.
	if code, _ := e.whoamiBearer(c1.Token.Reveal()); code != 200 {
		t.Fatalf("old access token within grace: %d, want 200", code)
	}
	// Reusing R1 ends the whole family: R2 and the new access token die.
	if _, err := e.m.Refresh(ctx, c1.RefreshToken.Reveal()); !errors.Is(err, keycard.ErrInvalidToken) {
		t.Fatalf("reused refresh token: err %v, want ErrInvalidToken", err)
	}
	if n := e.events.count(keycard.EventReplay); n != 1 {
		t.Fatalf("replay events = %d, want 1", n)
	}
	if code, _ := e.whoamiBearer(c2.Token.Reveal()); code != http.StatusUnauthorized {
		t.Fatalf("access token after refresh reuse: %d, want 401", code)
	}
	if _, err := e.m.Refresh(ctx, c2.RefreshToken.Reveal()); !errors.Is(err, keycard.ErrInvalidToken) {
		t.Fatalf("R2 after reuse: err %v, want ErrInvalidToken", err)
	}
}

func TestRefreshForgeryEndsNothing(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c, _ := e.m.Issue(ctx, keycard.IssueOptions{Subject: "u"})
	forgedSecret, _ := storetest.NewToken()
	id := c.Session.ID
	for _, bad := range []string{
		"",
		"kr1.",
		"kr1." + id,
		"kr1." + id + "." + forgedSecret, // knows the public ID only
		"kr1." + id + "." + forgedSecret + "x",
		"kr1.nope." + forgedSecret,
		"kr2." + strings.TrimPrefix(c.RefreshToken.Reveal(), "kr1."),
		c.Token.Reveal(), // the access token is not a refresh token
		"kr1." + id + ".\x00" + forgedSecret[1:],
	} {
		if _, err := e.m.Refresh(ctx, bad); !errors.Is(err, keycard.ErrInvalidToken) {
			t.Fatalf("Refresh(%q): err %v, want ErrInvalidToken", bad, err)
		}
	}
	if code, _ := e.whoamiBearer(c.Token.Reveal()); code != 200 {
		t.Fatal("a forged refresh token ended the session")
	}
	if _, err := e.m.Refresh(ctx, c.RefreshToken.Reveal()); err != nil {
		t.Fatalf("genuine refresh after forgeries: %v", err)
	}
}

func TestRefreshNeverExtendsAbsolute(t *testing.T) {
	e := newEnv(t, &keycard.Options{AbsoluteTimeout: time.Hour, IdleTimeout: 20 * time.Minute})
	ctx := context.Background()
	c, _ := e.m.Issue(ctx, keycard.IssueOptions{Subject: "u"})
	deadline := c.Session.ExpiresAt
	for range 5 {
		e.clock.Advance(15 * time.Minute)
		var err error
		c, err = e.m.Refresh(ctx, c.RefreshToken.Reveal())
		if e.clock.Now().Before(deadline) && err != nil {
			t.Fatalf("refresh before the absolute deadline: %v", err)
		}
		if err == nil && !c.Session.ExpiresAt.Equal(deadline) {
			t.Fatalf("refresh moved the absolute deadline to %v", c.Session.ExpiresAt)
		}
		if err != nil {
			return // past the deadline: refused, as it must be
		}
	}
	t.Fatal("refresh kept working past the absolute deadline")
}

func TestConcurrentRefreshIsReuse(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c, _ := e.m.Issue(ctx, keycard.IssueOptions{Subject: "u"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 2 {
		wg.Go(func() {
			if _, err := e.m.Refresh(ctx, c.RefreshToken.Reveal()); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok > 1 {
		t.Fatalf("%d refreshes with one token succeeded, want at most 1", ok)
	}
}

func (e *env) whoamiBearer(tok string) (int, string) {
	e.t.Helper()
	res := e.do(req{method: "GET", path: "/whoami", bearer: tok})
	return res.StatusCode, body(res)
}
