package csrf

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestTokenCheck(t *testing.T) {
	p := newProtector(t, nil)
	b := newBrowser()
	tok := b.fetchToken(t, p)
	tok2 := b.fetchToken(t, p) // same session, fresh mask
	other := newBrowser()
	otherTok := other.fetchToken(t, p)

	// A token with a valid shape for no session at all.
	forged := maskToken(NewSecret())

	// stale: a token issued before Rotate (a login).
	staleBrowser := newBrowser()
	stale := staleBrowser.fetchToken(t, p)
	rotateAt(t, p, staleBrowser)

	if tok == tok2 {
		t.Fatal("two tokens for one session are equal: the mask is not fresh")
	}

	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	// A valid token whose base64url text has a '-' or '_', so that its
	// standard-alphabet spelling differs.
	secret, _ := base64.RawURLEncoding.DecodeString(b.cookies["__Host-csrf"])
	urlOnly := maskToken(secret)
	for !strings.ContainsAny(urlOnly, "-_") {
		urlOnly = maskToken(secret)
	}
	urlOnlyRaw, _ := base64.RawURLEncoding.DecodeString(urlOnly)
	tests := []struct {
		name   string
		who    *browser
		header string // token in X-CSRF-Token ("" for none)
		field  string // token in the form field ("" for none)
		query  string // token in the URL query
		want   int
	}{
		{"header", b, tok, "", "", 200},
		{"field", b, "", tok, "", 200},
		{"second mask in header", b, tok2, "", "", 200},
		{"second mask in field", b, "", tok2, "", 200},
		{"stale rotated session, fresh token", staleBrowser, staleBrowser.fetchToken(t, p), "", "", 200},

		{"missing", b, "", "", "", 403},
		{"only in URL query", b, "", "", tok, 403},
		{"wrong", b, forged, "", "", 403},
		{"another session's", b, otherTok, "", "", 403},
		{"another session's in field", b, "", otherTok, "", 403},
		{"stale after rotation", staleBrowser, stale, "", "", 403},
		{"truncated", b, tok[:TokenLen-1], "", "", 403},
		{"truncated to half", b, tok[:TokenLen/2], "", "", 403},
		{"one char longer", b, tok + "A", "", "", 403},
		{"std base64 padding", b, base64.URLEncoding.EncodeToString(raw), "", "", 403},
		{"url alphabet", b, urlOnly, "", "", 200},
		{"std base64 alphabet", b, base64.RawStdEncoding.EncodeToString(urlOnlyRaw), "", "", 403},
		{"not base64", b, strings.Repeat("!", TokenLen), "", "", 403},
		{"first char changed", b, flip(tok, 0), "", "", 403},
		{"middle char changed", b, flip(tok, 43), "", "", 403},
		{"last char changed", b, flip(tok, TokenLen-1), "", "", 403},
		{"the raw secret", b, b.cookies["__Host-csrf"], "", "", 403},
		{"header wrong, field right", b, forged, tok, "", 403}, // the header wins
		{"no cookie", newBrowser(), tok, "", "", 403},
		{"NUL bytes", b, strings.Repeat("\x00", TokenLen), "", "", 403},
		{"huge", b, strings.Repeat(tok, 1000), "", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"other": {"x"}}
			if tt.field != "" {
				form.Set("csrf_token", tt.field)
			}
			r := tt.who.postForm("/transfer", form)
			if tt.header != "" {
				r.Header.Set("X-CSRF-Token", tt.header)
			}
			if tt.query != "" {
				r.URL.RawQuery = url.Values{"csrf_token": {tt.query}}.Encode()
			}
			h := &okHandler{}
			w := serve(p.Handler(h), r)
			if w.Code != tt.want {
				t.Fatalf("status: got %d, want %d", w.Code, tt.want)
			}
			if got := h.calls == 1; got != (tt.want == 200) {
				t.Fatalf("handler called: got %v, want %v", got, tt.want == 200)
			}
		})
	}
}

// rotateAt runs a login through p for b: the handler calls Rotate.
func rotateAt(t *testing.T, p *Protector, b *browser) {
	t.Helper()
	tok := b.fetchToken(t, p)
	r := b.postForm("/login", url.Values{"csrf_token": {tok}})
	w := serve(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := Rotate(r); err != nil {
			t.Errorf("Rotate: %v", err)
		}
	})), r)
	if w.Code != 200 {
		t.Fatalf("login: status %d", w.Code)
	}
	b.absorb(w.Result())
}

func TestMultipartField(t *testing.T) {
	p := newProtector(t, nil)
	b := newBrowser()
	tok := b.fetchToken(t, p)
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"valid", tok, 200},
		{"invalid", tok[:10], 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("csrf_token", tt.token)
			fw, _ := mw.CreateFormFile("upload", "a.txt")
			fw.Write([]byte("hello"))
			mw.Close()
			r := httptest.NewRequest("POST", "https://"+testHost+"/upload", &body)
			r.Header.Set("Content-Type", mw.FormDataContentType())
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			b.attach(r)
			if got := serve(p.Handler(&okHandler{}), r).Code; got != tt.want {
				t.Fatalf("status: got %d, want %d", got, tt.want)
			}
		})
	}
}

// TestJSONBodyNotParsed: a token inside a JSON body is not looked for (only
// form bodies are), so JSON clients send the header.
func TestJSONBodyNotParsed(t *testing.T) {
	p := newProtector(t, nil)
	b := newBrowser()
	tok := b.fetchToken(t, p)
	r := httptest.NewRequest("POST", "https://"+testHost+"/api", strings.NewReader(`csrf_token=`+tok))
	r.Header.Set("Content-Type", "application/json")
	b.attach(r)
	if got := serve(p.Handler(&okHandler{}), r).Code; got != 403 {
		t.Fatalf("status: got %d, want 403", got)
	}
}

// TestLoginCSRF: an attacker who cannot read the victim's page cannot log the
// victim in to the attacker's account, whether the forged login comes from a
// cross-site form, from a request without browser headers, or with the
// attacker's own valid token.
func TestLoginCSRF(t *testing.T) {
	p := newProtector(t, nil)
	logins := 0
	login := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logins++
		if err := Rotate(r); err != nil {
			t.Errorf("Rotate: %v", err)
		}
	}))
	attacker := newBrowser()
	attackerTok := attacker.fetchToken(t, p)

	// The victim has never visited: no secret yet.
	victim := newBrowser()
	creds := url.Values{"username": {"mallory"}, "password": {"mallory's password"}}

	crossSite := victim.postForm("/login", creds)
	crossSite.Header.Set("Sec-Fetch-Site", "cross-site")
	crossSite.Header.Set("Origin", "https://evil.example")

	oldBrowser := victim.postForm("/login", creds)
	oldBrowser.Header.Del("Sec-Fetch-Site")
	oldBrowser.Header.Del("Origin")

	withAttackerToken := victim.postForm("/login", url.Values{
		"username": {"mallory"}, "password": {"x"}, "csrf_token": {attackerTok}})

	for name, r := range map[string]*http.Request{
		"cross-site": crossSite, "no browser headers": oldBrowser, "attacker's token": withAttackerToken,
	} {
		if got := serve(login, r).Code; got != 403 {
			t.Errorf("%s: status: got %d, want 403", name, got)
		}
	}
	if logins != 0 {
		t.Fatalf("logins: got %d, want 0", logins)
	}

	// The genuine flow works, and the pre-login token dies at login.
	tok := victim.fetchToken(t, p)
	w := serve(login, victim.postForm("/login", url.Values{"csrf_token": {tok}}))
	if w.Code != 200 || logins != 1 {
		t.Fatalf("genuine login: status %d, logins %d; want 200, 1", w.Code, logins)
	}
	victim.absorb(w.Result())
	r := victim.postForm("/transfer", url.Values{"csrf_token": {tok}})
	if got := serve(p.Handler(&okHandler{}), r).Code; got != 403 {
		t.Fatalf("pre-login token after login: status %d, want 403", got)
	}
	r = victim.postForm("/transfer", url.Values{"csrf_token": {victim.fetchToken(t, p)}})
	if got := serve(p.Handler(&okHandler{}), r).Code; got != 200 {
		t.Fatalf("post-login token: status %d, want 200", got)
	}
}

// mapStore is a SecretStore keyed by a "sid" cookie, standing in for the
// session layer; it can hold a previous secret (renewal grace).
type mapStore struct {
	cur, prev map[string][]byte
	err       error
}

func (m *mapStore) sid(r *http.Request) string {
	c, err := r.Cookie("sid")
	if err != nil {
		return ""
	}
	return c.Value
}

func (m *mapStore) LoadSecret(r *http.Request) ([]byte, []byte, error) {
	if m.err != nil {
		return nil, nil, m.err
	}
	return m.cur[m.sid(r)], m.prev[m.sid(r)], nil
}

func (m *mapStore) SaveSecret(w http.ResponseWriter, r *http.Request, s []byte) error {
	if m.err != nil {
		return m.err
	}
	m.cur[m.sid(r)] = s
	delete(m.prev, m.sid(r))
	return nil
}

func TestSecretStoreContract(t *testing.T) {
	ms := &mapStore{cur: map[string][]byte{}, prev: map[string][]byte{}}
	p := newProtector(t, &Options{Secrets: ms})
	b := newBrowser()
	b.cookies["sid"] = "s1"
	old := b.fetchToken(t, p)

	// Renewal: the session layer keeps the old secret as previous.
	ms.prev["s1"], ms.cur["s1"] = ms.cur["s1"], NewSecret()
	post := func(tok string) int {
		return serve(p.Handler(&okHandler{}), b.postForm("/x", url.Values{"csrf_token": {tok}})).Code
	}
	if got := post(old); got != 200 {
		t.Fatalf("token of the previous secret in grace: got %d, want 200", got)
	}
	// Grace over.
	delete(ms.prev, "s1")
	if got := post(old); got != 403 {
		t.Fatalf("token of the previous secret after grace: got %d, want 403", got)
	}
	// A wrong-length secret counts as none.
	ms.cur["s1"] = []byte("short")
	if got := post(old); got != 403 {
		t.Fatalf("short secret: got %d, want 403", got)
	}
	// A failing store rejects, and Token reports the error.
	ms.err = errors.New("store down")
	if got := post(old); got != 403 {
		t.Fatalf("failing store: got %d, want 403", got)
	}
	r := httptest.NewRequest("GET", "/", nil)
	serve(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := TokenErr(r); err == nil {
			t.Error("TokenErr with a failing store: got nil error")
		}
	})), r)
}

// TestCheckMethod: Protector.Check applies both lines without the middleware.
func TestCheckMethod(t *testing.T) {
	p := newProtector(t, nil)
	b := newBrowser()
	tok := b.fetchToken(t, p)
	r := b.postForm("/x", url.Values{"csrf_token": {tok}})
	if err := p.Check(r); err != nil {
		t.Fatalf("Check with a valid token: %v", err)
	}
	r = b.postForm("/x", nil)
	if err := p.Check(r); err != ErrTokenMissing {
		t.Fatalf("Check without a token: got %v, want %v", err, ErrTokenMissing)
	}
	r = b.postForm("/x", url.Values{"csrf_token": {tok}})
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if err := p.Check(r); err != ErrCrossOrigin {
		t.Fatalf("Check cross-site: got %v, want %v", err, ErrCrossOrigin)
	}
	if err := p.Check(httptest.NewRequest("GET", "/", nil)); err != nil {
		t.Fatalf("Check GET: %v", err)
	}
}

func TestOutsideMiddleware(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := TokenErr(r); err == nil {
		t.Error("TokenErr outside the middleware: got nil error")
	}
	if err := Rotate(r); err == nil {
		t.Error("Rotate outside the middleware: got nil error")
	}
	if got := TemplateField(r); !strings.Contains(string(got), `value=""`) {
		t.Errorf("TemplateField outside the middleware: got %q, want an empty value", got)
	}
}

func TestTemplateFieldAndHeaders(t *testing.T) {
	p := newProtector(t, &Options{FieldName: `my"field`})
	r := httptest.NewRequest("GET", "https://"+testHost+"/", nil)
	w := serve(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(TemplateField(r)))
		Rotate(r)
		Token(r)
	})), r)
	body := w.Body.String()
	if !strings.HasPrefix(body, `<input type="hidden" name="my&#34;field" value="`) || len(body) != len(`<input type="hidden" name="my&#34;field" value="">`)+TokenLen {
		t.Fatalf("TemplateField: got %q", body)
	}
	if got := w.Header().Values("Vary"); !slices.Equal(got, []string{"Cookie"}) {
		t.Errorf("Vary: got %q, want [Cookie]", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", got)
	}
	res := w.Result()
	var c *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == "__Host-csrf" {
			c = k
		}
	}
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.MaxAge != 0 {
		t.Fatalf("secret cookie: got %+v", c)
	}
}

func TestCookieStoreHostile(t *testing.T) {
	secret := base64.RawURLEncoding.EncodeToString(NewSecret())
	tests := []struct {
		name    string
		cookies []string
		ok      bool
	}{
		{"valid", []string{"__Host-csrf=" + secret}, true},
		{"absent", nil, false},
		{"duplicated", []string{"__Host-csrf=" + secret, "__Host-csrf=" + secret}, false},
		{"short", []string{"__Host-csrf=" + secret[:42]}, false},
		{"long", []string{"__Host-csrf=" + secret + "AA"}, false},
		{"padded", []string{"__Host-csrf=" + secret + "="}, false},
		{"non-canonical", []string{"__Host-csrf=" + secret[:42] + "B"}, false},
		{"not base64", []string{"__Host-csrf=" + strings.Repeat("*", 43)}, false},
		{"other name", []string{"csrf=" + secret}, false},
		{"among others", []string{"a=1; __Host-csrf=" + secret + "; b=2"}, true},
		{"second line", []string{"a=1", "__Host-csrf=" + secret}, true},
		{"duplicated on one line", []string{"__Host-csrf=" + secret + ";__Host-csrf=" + secret}, false},
		{"duplicated across lines", []string{"__Host-csrf=" + secret, "x=1; __Host-csrf=" + secret}, false},
		{"quoted", []string{`__Host-csrf="` + secret + `"`}, false},
		{"name prefix", []string{"__Host-csrfx=" + secret}, false},
		{"name suffix", []string{"x__Host-csrf=" + secret}, false},
		{"lowercase name", []string{"__host-csrf=" + secret}, false},
		{"empty value", []string{"__Host-csrf="}, false},
		{"semicolons only", []string{";;;"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			for _, c := range tt.cookies {
				r.Header.Add("Cookie", c)
			}
			cur, prev, err := (&CookieStore{}).LoadSecret(r)
			if err != nil || prev != nil {
				t.Fatalf("LoadSecret: got prev %v, err %v; want nil, nil", prev != nil, err)
			}
			if got := cur != nil; got != tt.ok {
				t.Fatalf("secret found: got %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestCookieStoreInsecureAllowHTTP(t *testing.T) {
	w := httptest.NewRecorder()
	cs := &CookieStore{InsecureAllowHTTP: true}
	if err := cs.SaveSecret(w, httptest.NewRequest("GET", "/", nil), NewSecret()); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if c.Name != "csrf" || c.Secure || !c.HttpOnly {
		t.Fatalf("cookie: got name %q secure %v httponly %v; want csrf, false, true", c.Name, c.Secure, c.HttpOnly)
	}
}

// TestTokenFollowsTheStore: Token asks the SecretStore every time, so a token
// issued after the session layer replaced or dropped the secret during the
// request (a login) is bound to the secret the session keeps. With
// CookieStore, a secret saved earlier in the request is used again rather
// than replaced on every call.
func TestTokenFollowsTheStore(t *testing.T) {
	ms := &mapStore{cur: map[string][]byte{}, prev: map[string][]byte{}}
	ms.cur["s1"] = NewSecret()
	p := newProtector(t, &Options{Secrets: ms})
	var before, after string
	r := httptest.NewRequest("GET", "/login", nil) // a safe method: not checked
	r.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	serve(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before = Token(r)
		ms.cur["s1"] = NewSecret() // the session layer rotates at login
		after = Token(r)
	})), r)
	if !validToken(after, ms.cur["s1"], nil) || validToken(before, ms.cur["s1"], nil) {
		t.Fatal("Token kept the secret it first loaded instead of the one the session keeps")
	}

	cs := &CookieStore{}
	p = newProtector(t, &Options{Secrets: cs})
	var toks []string
	rec := serve(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		toks = append(toks, Token(r), Token(r))
	})), httptest.NewRequest("GET", "/", nil))
	if n := len(rec.Result().Cookies()); n != 1 {
		t.Fatalf("two tokens in one response set %d cookies, want 1", n)
	}
	secret, _, _ := cs.LoadSecret(withCookies(rec.Result().Cookies()))
	for i, tok := range toks {
		if !validToken(tok, secret, nil) {
			t.Fatalf("token %d is not bound to the cookie's secret", i)
		}
	}
}

func withCookies(cs []*http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cs {
		r.AddCookie(c)
	}
	return r
}
