package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keycard-go/keycard/memstore"
)

// TestRememberMeKeepsUserSignedIn: the login form's "Remember me" box keeps
// the user signed in across an idle hour, twice the default idle timeout;
// without it, the same hour signs the user out. Time is synctest's.
func TestRememberMeKeepsUserSignedIn(t *testing.T) {
	for _, remember := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			store := memstore.New(nil)
			defer store.Close()
			h, err := newApp(store)
			if err != nil {
				t.Fatal(err)
			}
			form := url.Values{"username": {"alice"}}
			if remember {
				form.Set("remember", "1")
			}
			r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("login: %d %s", w.Code, w.Body)
			}
			var cookie *http.Cookie
			for _, c := range w.Result().Cookies() {
				if c.Name == "__Host-keycard" {
					cookie = c
				}
			}
			if cookie == nil || (cookie.MaxAge > 0) != remember {
				t.Fatalf("login cookie %v: want a persistent cookie exactly when remembered", cookie)
			}

			time.Sleep(time.Hour) // idle
			r = httptest.NewRequest("GET", "/", nil)
			r.AddCookie(cookie)
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
			signedIn := strings.Contains(w.Body.String(), `<b id="subject">alice</b>`)
			if signedIn != remember {
				t.Fatalf("remember %v: signed in after an idle hour = %v", remember, signedIn)
			}
		})
	}
}
