package keycard

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// FuzzParseToken checks that ParseToken accepts exactly the canonical
// base64url encodings of 32 bytes.
func FuzzParseToken(f *testing.F) {
	tok, _ := newToken()
	for _, s := range []string{tok.Reveal(), "", "A", tok.Reveal() + "=", tok.Reveal()[:42] + "B", "\x00\r\n", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseToken(s)
		b, decErr := base64.RawURLEncoding.Strict().DecodeString(s)
		want := decErr == nil && len(b) == 32
		if (err == nil) != want {
			t.Fatalf("ParseToken(%q) err = %v, want accepted %v", s, err, want)
		}
		if err == nil && (string(got) != s || base64.RawURLEncoding.EncodeToString(b) != s) {
			t.Fatalf("ParseToken(%q) is not a canonical round trip", s)
		}
		if err != nil && err.Error() != errMalformedToken.Error() {
			t.Fatalf("error %q repeats input or differs", err)
		}
	})
}

// FuzzCookieHeader checks the cookie scan: it never panics, a found token is
// exactly a value sent under the cookie's name, and a header that does not
// contain the name yields nothing.
func FuzzCookieHeader(f *testing.F) {
	tok, _ := newToken()
	for _, s := range []string{
		"__Host-keycard=" + tok.Reveal(),
		"a=b; __Host-keycard=\"" + tok.Reveal() + "\"",
		"__Host-keycard=x; __Host-keycard=y",
		";;;=;", "__Host-keycard", "__Host-keycard==", "\x00",
	} {
		f.Add(s)
	}
	m, err := New(nopStore{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Cookie"] = []string{header}
		c, err := m.readCredentials(r)
		if err != nil {
			t.Fatalf("cookie header alone gave a request error: %v", err)
		}
		s := &Session{m: m, cred: c}
		if s.cred.token != "" {
			if !tokenShaped(string(s.cred.token)) {
				t.Fatalf("accepted a token that is not token-shaped: %q", s.cred.token)
			}
			if !strings.Contains(header, m.cfg.cookieName+"="+string(s.cred.token)) && !strings.Contains(header, m.cfg.cookieName+"=\""+string(s.cred.token)+"\"") {
				t.Fatalf("token %q not sent under the cookie's name in %q", s.cred.token, header)
			}
			if s.cred.hash != storage.HashToken(string(s.cred.token)) {
				t.Fatal("hash does not match token")
			}
		}
		if !strings.Contains(header, m.cfg.cookieName) && (s.cred.token != "" || s.cred.reason != "") {
			t.Fatalf("header without the cookie name produced a credential: %q", header)
		}
	})
}

// nopStore is a Store with nothing in it, for tests that never reach a store.
type nopStore struct{}

func (nopStore) Get(context.Context, storage.Hash) (*storage.Record, error) {
	return nil, storage.ErrNotFound
}
func (nopStore) GetByID(context.Context, string) (*storage.Record, error) {
	return nil, storage.ErrNotFound
}
func (nopStore) Create(context.Context, *storage.Record) error { return storage.ErrExists }
func (nopStore) Update(context.Context, *storage.Record) error { return storage.ErrNotFound }
func (nopStore) Rotate(context.Context, *storage.Record, *storage.Record, time.Time) error {
	return storage.ErrNotFound
}
func (nopStore) Delete(context.Context, storage.Hash) error                 { return storage.ErrNotFound }
func (nopStore) DeleteByID(context.Context, string) error                   { return storage.ErrNotFound }
func (nopStore) List(context.Context, string) ([]*storage.Record, error)    { return nil, nil }
func (nopStore) DeleteSubject(context.Context, string, string) (int, error) { return 0, nil }
func (nopStore) DeleteExpired(context.Context, time.Time, int) (int, error) { return 0, nil }

// FuzzAccept checks the Accept negotiation of the default error page on
// any header: a quality is within 0 to 1000, a line's quality for a type
// does not depend on unrelated ranges after it, and a page is chosen only
// when text/html is acceptable at all.
func FuzzAccept(f *testing.F) {
	for _, s := range []string{
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "*/*", "",
		"application/json, text/html;q=0.5", "text/html;q=0, application/json", "text/*;q=.5",
		";;;,,,/=;q=", "text/html;q=1.0000", "TEXT/HTML;Q=0.7", "text/html;q=0.999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		lines := []string{accept}
		html, json := acceptQ(lines, "text", "html"), acceptQ(lines, "application", "json")
		if html < 0 || html > 1000 || json < 0 || json > 1000 {
			t.Fatalf("qualities %d, %d outside 0..1000", html, json)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		if got := wantsHTML(r); got != (html > 0 && html > json) {
			t.Fatalf("wantsHTML %v with html %d, json %d", got, html, json)
		}
		// Appending a range for an unrelated type never changes the answer.
		if acceptQ([]string{accept + ",image/png;q=0.1"}, "text", "html") != html && !strings.Contains(accept, ";") {
			t.Fatalf("an unrelated range changed text/html's quality")
		}
		r.Header.Set("Authorization", "Bearer x")
		if wantsHTML(r) {
			t.Fatal("an API request got a page")
		}
	})
}
