package keycard_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
)

// assertCookieAttrs checks every protective attribute of the session cookie.
func assertCookieAttrs(t *testing.T, res *http.Response, name string, persistent bool) {
	t.Helper()
	var line string
	for _, l := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(l, name+"=") {
			if line != "" {
				t.Fatal("two Set-Cookie lines for the session cookie")
			}
			line = l
		}
	}
	if line == "" {
		t.Fatal("no session Set-Cookie")
	}
	attrs := map[string]string{}
	for _, a := range strings.Split(line, ";")[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
		attrs[strings.ToLower(k)] = v
	}
	for _, want := range []string{"secure", "httponly"} {
		if _, ok := attrs[want]; !ok {
			t.Errorf("Set-Cookie %q lacks %s", line, want)
		}
	}
	if attrs["path"] != "/" || attrs["samesite"] != "Lax" {
		t.Errorf("Set-Cookie %q: want Path=/ and SameSite=Lax", line)
	}
	if _, ok := attrs["domain"]; ok {
		t.Errorf("Set-Cookie %q has a Domain", line)
	}
	_, hasMaxAge := attrs["max-age"]
	if hasMaxAge != persistent {
		t.Errorf("Set-Cookie %q: Max-Age present %v, want %v", line, hasMaxAge, persistent)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", res.Header.Get("Cache-Control"))
	}
	if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Cookie") {
		t.Error("no Vary: Cookie")
	}
}

func TestCookieAttributes(t *testing.T) {
	for _, remember := range []bool{false, true} {
		t.Run("remember="+strconv.FormatBool(remember), func(t *testing.T) {
			e := newEnv(t, &keycard.Options{AbsoluteTimeout: 8 * time.Hour, RememberMe: keycard.RememberMe{IdleTimeout: time.Hour, AbsoluteTimeout: 8 * time.Hour}})
			path := "/login?user=alice"
			if remember {
				path += "&remember=1"
			}
			res := e.do(req{method: "POST", path: path})
			if e.m.CookieName() != "__Host-keycard" {
				t.Fatalf("default cookie name %q", e.m.CookieName())
			}
			assertCookieAttrs(t, res, e.m.CookieName(), remember)
			v, _ := sessionCookie(res, e.m.CookieName())
			cookie := e.m.CookieName() + "=" + v
			if remember {
				for _, c := range res.Cookies() {
					if c.MaxAge > int((8 * time.Hour).Seconds()) {
						t.Fatalf("Max-Age %d beyond the absolute deadline", c.MaxAge)
					}
				}
			}
			// Renewal keeps every attribute, and Max-Age shrinks with the deadline.
			e.clock.Advance(16 * time.Minute)
			res = e.do(req{method: "GET", path: "/whoami", cookie: cookie})
			assertCookieAttrs(t, res, e.m.CookieName(), remember)
			for _, c := range res.Cookies() {
				if remember && c.MaxAge > int((8*time.Hour-16*time.Minute).Seconds()) {
					t.Fatalf("renewed Max-Age %d beyond the absolute deadline", c.MaxAge)
				}
			}
			v, _ = sessionCookie(res, e.m.CookieName())
			cookie = e.m.CookieName() + "=" + v
			// Logout expires the cookie with the same attributes.
			res = e.do(req{method: "POST", path: "/logout", cookie: cookie})
			line := res.Header.Get("Set-Cookie")
			for _, want := range []string{"__Host-keycard=;", "Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=0"} {
				if !strings.Contains(line, want) {
					t.Errorf("logout Set-Cookie %q lacks %q", line, want)
				}
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	mem := newMemstore(t, newClock())
	tests := []struct {
		name string
		opts *keycard.Options
		ok   bool
	}{
		{"nil", nil, true},
		{"strict", &keycard.Options{SameSite: http.SameSiteStrictMode}, true},
		{"none with secure", &keycard.Options{SameSite: http.SameSiteNoneMode}, true},
		{"none over http", &keycard.Options{SameSite: http.SameSiteNoneMode, InsecureAllowHTTP: true}, false},
		{"host prefix with domain", &keycard.Options{CookieDomain: "example.com"}, false},
		{"host prefix over http", &keycard.Options{CookieName: "__Host-x", InsecureAllowHTTP: true}, false},
		{"secure prefix over http", &keycard.Options{CookieName: "__Secure-x", InsecureAllowHTTP: true}, false},
		{"host prefix with path", &keycard.Options{CookiePath: "/app"}, false},
		// Browsers match the prefixes case-insensitively (RFC 6265bis 4.1.3).
		{"lowercase host prefix with domain", &keycard.Options{CookieName: "__host-x", CookieDomain: "example.com"}, false},
		{"mixed-case host prefix over http", &keycard.Options{CookieName: "__HOST-x", InsecureAllowHTTP: true}, false},
		{"lowercase host prefix with path", &keycard.Options{CookieName: "__host-x", CookiePath: "/app"}, false},
		{"lowercase secure prefix over http", &keycard.Options{CookieName: "__secure-x", InsecureAllowHTTP: true}, false},
		{"plain http default name", &keycard.Options{InsecureAllowHTTP: true}, true},
		{"domain with plain name", &keycard.Options{CookieName: "sid", CookieDomain: "example.com"}, true},
		{"bad name", &keycard.Options{CookieName: "a;b"}, false},
		{"name with CRLF", &keycard.Options{CookieName: "a\r\nb"}, false},
		{"domain injection", &keycard.Options{CookieName: "sid", CookieDomain: "x; Secure=0"}, false},
		{"idle beyond absolute", &keycard.Options{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour}, false},
		{"grace beyond renewal", &keycard.Options{RenewalTimeout: time.Minute, RenewalGrace: time.Minute}, false},
		{"bad samesite", &keycard.Options{SameSite: 9}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keycard.New(mem, tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("New: err = %v, want ok %v", err, tt.ok)
			}
		})
	}
	if _, err := keycard.New(nil, nil); err == nil {
		t.Fatal("New accepted a nil store")
	}
}

func TestInsecureAllowHTTPCookie(t *testing.T) {
	e := newEnv(t, &keycard.Options{InsecureAllowHTTP: true})
	res := e.do(req{method: "POST", path: "/login?user=a"})
	line := res.Header.Get("Set-Cookie")
	if !strings.HasPrefix(line, "keycard=") || strings.Contains(line, "Secure") || !strings.Contains(line, "HttpOnly") {
		t.Fatalf("Set-Cookie %q: want keycard=…; HttpOnly without Secure", line)
	}
}

// TestClearSiteDataOption: the directives a logout sends are an option, with
// the OWASP default, and "none" really sends nothing.
func TestClearSiteDataOption(t *testing.T) {
	tests := []struct {
		name string
		opt  keycard.ClearSiteData
		want string // "" means no header
	}{
		{"default", 0, `"cache", "cookies", "storage"`},
		{"origin only", keycard.ClearCache | keycard.ClearStorage, `"cache", "storage"`},
		{"cookies only", keycard.ClearCookies, `"cookies"`},
		{"nothing", keycard.ClearNothing, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, &keycard.Options{ClearSiteData: tt.opt})
			res := e.do(req{method: "POST", path: "/logout", cookie: e.login("alice")})
			got, sent := res.Header.Get("Clear-Site-Data"), len(res.Header.Values("Clear-Site-Data")) > 0
			if got != tt.want || sent != (tt.want != "") {
				t.Fatalf("Clear-Site-Data %q (sent %v), want %q", got, sent, tt.want)
			}
			if !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
				t.Fatal("logout did not expire the session cookie")
			}
		})
	}
	for _, bad := range []keycard.ClearSiteData{keycard.ClearNothing | keycard.ClearCache, 1 << 5} {
		if _, err := keycard.New(newMemstore(t, newClock()), &keycard.Options{ClearSiteData: bad}); err == nil {
			t.Errorf("New accepted ClearSiteData %#x", uint8(bad))
		}
	}
}
