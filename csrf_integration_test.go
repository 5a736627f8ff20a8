package keycard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/csrf"
	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/storage"
)

// csrfApp is the test app behind the csrf middleware, inside Keycard's.
func csrfApp(t *testing.T, e *env) http.Handler {
	t.Helper()
	p, err := csrf.New(&csrf.Options{Secrets: e.m.CSRFSecrets(), Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, csrf.Token(r))
	})
	mux.Handle("/", app())
	return e.m.Handler(p.Handler(mux))
}

// post sends a same-origin form POST with token and cookie.
func post(h http.Handler, path, cookie, token string, header http.Header) *http.Response {
	form := url.Values{"csrf_token": {token}}
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func getForm(t *testing.T, h http.Handler, cookie string) (token, newCookie string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/form", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || w.Body.Len() == 0 {
		t.Fatalf("GET /form: %d", w.Code)
	}
	return w.Body.String(), jar(cookie, w.Result())
}

// jar returns the Cookie header a browser holding cookie sends after res.
func jar(cookie string, res *http.Response) string {
	kept := map[string]string{}
	var order []string
	for _, c := range (&http.Request{Header: http.Header{"Cookie": {cookie}}}).Cookies() {
		kept[c.Name] = c.Value
		order = append(order, c.Name)
	}
	for _, c := range res.Cookies() {
		if _, ok := kept[c.Name]; !ok {
			order = append(order, c.Name)
		}
		kept[c.Name] = c.Value
		if c.MaxAge < 0 {
			delete(kept, c.Name)
		}
	}
	var parts []string
	for _, n := range order {
		if v, ok := kept[n]; ok {
			parts = append(parts, n+"="+v)
		}
	}
	return strings.Join(parts, "; ")
}

func TestCSRFWithSessions(t *testing.T) {
	e := newEnv(t, nil)
	h := csrfApp(t, e)

	// The login form works before login, without a session: its secret
	// lives in a cookie of its own.
	loginToken, anon := getForm(t, h, "")
	if !strings.HasPrefix(anon, "__Host-keycard-csrf-anon=") || strings.Contains(anon, keycard.DefaultCookieName+"=") {
		t.Fatalf("the login form's cookies %q: want the anonymous CSRF cookie and no session", anon)
	}
	if res := post(h, "/login?user=alice", anon, "", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("login without a token: %d, want 403 (login CSRF)", res.StatusCode)
	}
	res := post(h, "/login?user=alice", anon, loginToken, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login with the form's token: %d", res.StatusCode)
	}
	alice := jar(anon, res)
	if strings.Contains(alice, "csrf-anon") || !strings.HasPrefix(alice, e.m.CookieName()+"=") {
		t.Fatalf("cookies after login %q: want the session and the anonymous CSRF cookie expired", alice)
	}

	// The pre-login token is worthless after login.
	if res := post(h, "/put?k=a&v=1", alice, loginToken, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("pre-login token after login: %d, want 403", res.StatusCode)
	}
	tok, _ := getForm(t, h, alice)
	tok2, _ := getForm(t, h, alice)
	if tok == tok2 {
		t.Fatal("two renderings gave the same masked token")
	}
	for name, tt := range map[string]struct {
		token  string
		header http.Header
		status int
	}{
		"fresh token":        {tok, nil, 200},
		"other masking":      {tok2, nil, 200},
		"missing":            {"", nil, 403},
		"truncated":          {tok[:len(tok)-2], nil, 403},
		"garbage":            {"!!!", nil, 403},
		"cross-site":         {tok, http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		"foreign origin":     {tok, http.Header{"Sec-Fetch-Site": nil, "Origin": {"https://evil.example"}}, 403},
		"other session's":    {loginTokenOf(t, h), nil, 403},
		"pre-login token":    {loginToken, nil, 403},
		"token with newline": {tok + "\n", nil, 403},
	} {
		t.Run(name, func(t *testing.T) {
			res := post(h, "/put?k=a&v=1", alice, tt.token, tt.header)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
		})
	}
}

// loginTokenOf returns a valid token of another, anonymous session.
func loginTokenOf(t *testing.T, h http.Handler) string {
	tok, _ := getForm(t, h, "")
	return tok
}

// TestCSRFTokenAfterPrivilegeChange: a token rendered in the same response as
// Login, Renew or SetRememberMe must work on first use, and one rendered
// before them must not.
func TestCSRFTokenAfterPrivilegeChange(t *testing.T) {
	for _, change := range []string{"login", "renew", "remember"} {
		t.Run(change, func(t *testing.T) {
			e := newEnv(t, &keycard.Options{RememberMe: keycard.RememberMe{IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 7 * 24 * time.Hour}})
			p, err := csrf.New(&csrf.Options{Secrets: e.m.CSRFSecrets(), Logger: discard})
			if err != nil {
				t.Fatal(err)
			}
			var before string
			mux := http.NewServeMux()
			mux.HandleFunc("POST /change", func(w http.ResponseWriter, r *http.Request) {
				before = csrf.Token(r)
				s := keycard.FromContext(r.Context())
				switch change {
				case "login":
					err = s.Login("alice")
				case "renew":
					err = s.Renew()
				case "remember":
					err = s.SetRememberMe(true)
				}
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				io.WriteString(w, csrf.Token(r)) // the page after the change
			})
			mux.Handle("/", app())
			h := e.m.Handler(p.Handler(mux))
			tok, cookie := getForm(t, csrfApp(t, e), e.login("alice"))
			res := post(h, "/change", cookie, tok, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("POST /change: %d", res.StatusCode)
			}
			after := body(res)
			cookie = jar(cookie, res)
			if got := post(h, "/put?k=a&v=1", cookie, after, nil).StatusCode; got != http.StatusOK {
				t.Fatalf("the token rendered after %s: %d on first use, want 200", change, got)
			}
			if got := post(h, "/put?k=a&v=2", cookie, before, nil).StatusCode; got != http.StatusForbidden {
				t.Fatalf("the token rendered before %s: %d, want 403", change, got)
			}
		})
	}
}

// TestLoginFormWritesNothing: 10,000 visits to a CSRF-protected login form
// leave the store empty, and login CSRF is still refused.
func TestLoginFormWritesNothing(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode string, e *env) {
		st := &writeCounter{Store: e.store}
		o := &keycard.Options{Sealer: sealerIf(t, e, mode), Logger: discard}
		testhook.SetNow(o, e.clock.Now)
		m, err := keycard.New(st, o)
		if err != nil {
			t.Fatal(err)
		}
		e.m = m
		h := csrfApp(t, e)
		visits := 10000
		if testing.Short() {
			visits = 1000
		}
		var form, cookie string
		for range visits {
			form, cookie = getForm(t, h, "")
		}
		if n := st.writes.Load(); n != 0 {
			t.Fatalf("%d visits of the login form wrote the store %d times, want 0", visits, n)
		}
		if _, other := getForm(t, h, ""); other == cookie {
			t.Fatal("two visitors got the same CSRF cookie")
		}
		_, otherCookie := getForm(t, h, "")
		for name, tt := range map[string]struct {
			cookie, token string
			header        http.Header
		}{
			"no token":          {cookie, "", nil},
			"another visitor's": {otherCookie, form, nil},
			"no cookie":         {"", form, nil},
			"cross-site":        {cookie, form, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
			"duplicated cookie": {cookie + "; " + otherCookie, form, nil},
			"forged cookie":     {"__Host-keycard-csrf-anon=" + strings.Repeat("A", 43), form, nil},
		} {
			if res := post(h, "/login?user=mallory", tt.cookie, tt.token, tt.header); res.StatusCode != http.StatusForbidden {
				t.Errorf("login CSRF, %s: %d, want 403", name, res.StatusCode)
			}
		}
		if res := post(h, "/login?user=alice", cookie, form, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("the real login: %d", res.StatusCode)
		}
	})
}

// writeCounter counts the store writes.
type writeCounter struct {
	storage.Store
	writes atomic.Int64
}

func (w *writeCounter) Create(ctx context.Context, r *storage.Record) error {
	w.writes.Add(1)
	return w.Store.Create(ctx, r)
}

func (w *writeCounter) Update(ctx context.Context, r *storage.Record) error {
	w.writes.Add(1)
	return w.Store.Update(ctx, r)
}

func (w *writeCounter) Rotate(ctx context.Context, old, next *storage.Record, grace time.Time) error {
	w.writes.Add(1)
	return w.Store.Rotate(ctx, old, next, grace)
}

// sealerIf returns the sealer of e in sealed mode, nil otherwise.
func sealerIf(t *testing.T, e *env, mode string) keycard.Sealer {
	if mode != "sealed" {
		return nil
	}
	return sealerOf(t, e)
}
