package keycard_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
)

// TestFromContextOutsideMiddleware: a handler that forgot Manager.Handler
// gets a Session whose every method is safe and whose writes fail with an
// error naming the missing middleware, never a nil-pointer panic.
func TestFromContextOutsideMiddleware(t *testing.T) {
	ctx := httptest.NewRequest("GET", "/", nil).Context()
	s := keycard.FromContext(ctx)
	if s == nil {
		t.Fatal("FromContext returned nil outside the middleware")
	}
	if s.Subject() != "" || s.ID() != "" || s.IsAuthenticated() || s.Has("k") || s.GetString("k") != "" || s.Keys() != nil || s.NeedsReauth() {
		t.Fatal("a session outside the middleware reads as something")
	}
	if _, ok := s.Info(); ok {
		t.Fatal("Info reports a session outside the middleware")
	}
	writes := map[string]func() error{
		"Put":                func() error { return s.Put("k", 1) },
		"Delete":             func() error { return s.Delete("k") },
		"Login":              func() error { return s.Login("alice") },
		"Logout":             s.Logout,
		"Renew":              s.Renew,
		"SetRememberMe":      func() error { return s.SetRememberMe(true) },
		"SetIdleTimeout":     func() error { return s.SetIdleTimeout(time.Minute) },
		"SetAbsoluteTimeout": func() error { return s.SetAbsoluteTimeout(time.Minute) },
		"Err":                s.Err,
		"keycard.Login":      func() error { return keycard.Login(ctx, "alice") },
		"keycard.Logout":     func() error { return keycard.Logout(ctx) },
		"keycard.Renew":      func() error { return keycard.Renew(ctx) },
		"background Login":   func() error { return keycard.Login(context.Background(), "alice") },
	}
	for name, f := range writes {
		err := f()
		if !errors.Is(err, keycard.ErrNoMiddleware) {
			t.Errorf("%s: %v, want ErrNoMiddleware", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "Handler") {
			t.Errorf("%s: %q does not name the missing middleware", name, err)
		}
	}
}
