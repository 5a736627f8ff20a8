package keycard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/csrf"
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
	newCookie = cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == keycard.DefaultCookieName {
			newCookie = c.Name + "=" + c.Value
		}
	}
	return w.Body.String(), newCookie
}

func TestCSRFWithSessions(t *testing.T) {
	e := newEnv(t, nil)
	h := csrfApp(t, e)

	// The login form works before login: it starts an anonymous session.
	loginToken, anon := getForm(t, h, "")
	if anon == "" {
		t.Fatal("the login form started no session for its CSRF secret")
	}
	if res := post(h, "/login?user=alice", anon, "", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("login without a token: %d, want 403 (login CSRF)", res.StatusCode)
	}
	res := post(h, "/login?user=alice", anon, loginToken, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login with the form's token: %d", res.StatusCode)
	}
	v, _ := sessionCookie(res, e.m.CookieName())
	alice := e.m.CookieName() + "=" + v

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
