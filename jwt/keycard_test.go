package jwt_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/jwt"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/seal"
)

// TestMintFromLiveSession mints a token from a logged-in request, verifies
// it with a revocation check on the Manager, and refuses it once the session
// is logged out, long before the token itself expires.
func TestMintFromLiveSession(t *testing.T) {
	store := memstore.New(nil)
	defer store.Close()
	m, err := keycard.New(store, &keycard.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := jwt.GenerateKey(jwt.EdDSA)
	iss, err := jwt.NewIssuer("https://auth.example", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier("https://auth.example", "https://api.example", iss, &jwt.VerifierOptions{Revocation: jwt.Revocation(m)})
	if err != nil {
		t.Fatal(err)
	}

	var token string
	var mintErr error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			keycard.Login(r.Context(), "alice")
		case "/token":
			token, _, mintErr = iss.MintFromSession(keycard.FromContext(r.Context()), "https://api.example")
		case "/logout":
			keycard.Logout(r.Context())
		}
	}))
	send := sender(m, h)

	// Anonymous requests get no token.
	send("/token", "")
	if !errors.Is(mintErr, jwt.ErrNotAuthenticated) || token != "" {
		t.Fatalf("anonymous mint: %q, %v; want ErrNotAuthenticated", token, mintErr)
	}
	cookie := send("/login", "")
	send("/token", cookie)
	if mintErr != nil {
		t.Fatal(mintErr)
	}
	claims, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	info, _ := m.Lookup(context.Background(), cookie[len(m.CookieName())+1:], keycard.KindBrowser)
	if claims.Subject != "alice" || claims.SessionID != info.ID {
		t.Fatalf("claims sub %q sid %q, want alice %q", claims.Subject, claims.SessionID, info.ID)
	}
	send("/logout", cookie)
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, jwt.ErrInvalidToken) {
		t.Fatalf("token of a logged-out session: err %v, want ErrInvalidToken", err)
	}
}

// TestSealedSessionTokensEndWithIt: access tokens minted from a sealed-cookie
// session, which the server cannot see, end when the session does: by its
// ID (logout) and by its subject's sign-out-everywhere, which once left
// them valid until they expired.
func TestSealedSessionTokensEndWithIt(t *testing.T) {
	for _, end := range []string{"logout", "revoke-all", "revoke-all-except"} {
		t.Run(end, func(t *testing.T) {
			store := memstore.New(nil)
			defer store.Close()
			ring, _ := seal.NewKeyRing([]byte("0123456789abcdef0123456789abcdef"))
			sealer, _ := seal.New(ring, nil)
			m, err := keycard.New(store, &keycard.Options{Sealer: sealer, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			key, _ := jwt.GenerateKey(jwt.EdDSA)
			iss, _ := jwt.NewIssuer("https://auth.example", key, nil)
			v, _ := jwt.NewVerifier("https://auth.example", "https://api.example", iss, &jwt.VerifierOptions{Revocation: jwt.Revocation(m)})
			var token, id string
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := keycard.FromContext(r.Context())
				switch r.URL.Path {
				case "/login":
					s.Login("alice")
				case "/token":
					id = s.ID()
					var err error
					if token, _, err = iss.MintFromSession(s, "https://api.example"); err != nil {
						t.Fatal(err)
					}
				case "/logout":
					s.Logout()
				}
			}))
			send := sender(m, h)
			ctx := context.Background()
			// A first sign-out-everywhere, so that the session carries a
			// generation above zero.
			if _, err := m.RevokeAll(ctx, "alice", ""); err != nil {
				t.Fatal(err)
			}
			cookie := send("/login", "")
			send("/token", cookie)
			if _, err := v.Verify(ctx, token); err != nil {
				t.Fatalf("the token of a live sealed session: %v", err)
			}
			switch end {
			case "logout":
				send("/logout", cookie)
			case "revoke-all":
				if _, err := m.RevokeAll(ctx, "alice", ""); err != nil {
					t.Fatal(err)
				}
			case "revoke-all-except":
				if _, err := m.RevokeAll(ctx, "alice", id); err != nil {
					t.Fatal(err)
				}
				if _, err := v.Verify(ctx, token); err != nil {
					t.Fatalf("the token of the session spared by RevokeAll: %v", err)
				}
				return
			}
			if _, err := v.Verify(ctx, token); !errors.Is(err, jwt.ErrInvalidToken) {
				t.Fatalf("the token after %s: err %v, want ErrInvalidToken", end, err)
			}
		})
	}
}

// sender returns a function that POSTs to path on h with cookie and
// returns the session cookie the response set, or cookie when it set none.
func sender(m *keycard.Manager, h http.Handler) func(path, cookie string) string {
	return func(path, cookie string) string {
		r := httptest.NewRequest("POST", path, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			if c.Name == m.CookieName() && c.Value != "" {
				return c.Name + "=" + c.Value
			}
		}
		return cookie
	}
}
