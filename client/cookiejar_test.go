package client

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard/internal/testclock"
)

var jarStart = time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC)

// newTestJar returns a jar at path ("" for memory) on a manual clock.
func newTestJar(t *testing.T, path string, opts *JarOptions) (*CookieJar, *testclock.Clock) {
	t.Helper()
	j, err := OpenCookieJar(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(jarStart)
	j.now = clock.Now
	return j, clock
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// set stores the Set-Cookie lines as a response from rawURL.
func set(t *testing.T, j *CookieJar, rawURL string, lines ...string) {
	t.Helper()
	j.SetCookieLines(mustURL(t, rawURL), lines)
}

// sent is the Cookie header the jar sends to rawURL.
func sent(t *testing.T, j *CookieJar, rawURL string) string {
	t.Helper()
	return j.CookieHeader(mustURL(t, rawURL))
}

func TestJarMatching(t *testing.T) {
	tests := []struct {
		name  string
		from  string
		lines []string
		to    string
		want  string
	}{
		{"host-only", "http://www.example.com/", []string{"a=1"}, "http://www.example.com/", "a=1"},
		{"host-only not to subdomain", "http://example.com/", []string{"a=1"}, "http://www.example.com/", ""},
		{"domain to subdomain", "http://example.com/", []string{"a=1; Domain=example.com"}, "http://x.y.example.com/", "a=1"},
		{"domain case-insensitive", "http://WWW.Example.COM/", []string{"a=1; Domain=EXAMPLE.com"}, "http://x.example.COM/", "a=1"},
		{"domain of another site", "http://www.example.com/", []string{"a=1; Domain=example.org"}, "http://example.org/", ""},
		{"domain below the host", "http://example.com/", []string{"a=1; Domain=www.example.com"}, "http://www.example.com/", ""},
		{"domain suffix without dot", "http://notexample.com/", []string{"a=1; Domain=example.com"}, "http://example.com/", ""},
		{"public suffix refused", "http://www.example.com/", []string{"a=1; Domain=com"}, "http://other.com/", ""},
		{"public suffix refused at home", "http://www.example.com/", []string{"a=1; Domain=com"}, "http://www.example.com/", ""},
		{"two-level public suffix", "http://www.example.co.uk/", []string{"a=1; Domain=co.uk"}, "http://www.example.co.uk/", ""},
		{"public suffix as the host: host-only", "http://github.io/", []string{"a=1; Domain=github.io"}, "http://github.io/", "a=1"},
		{"public suffix as the host: not below", "http://github.io/", []string{"a=1; Domain=github.io"}, "http://x.github.io/", ""},
		{"IP host-only", "http://127.0.0.1/", []string{"a=1; Domain=127.0.0.1"}, "http://127.0.0.1/", "a=1"},
		{"IP suffix refused", "http://127.0.0.1/", []string{"a=1; Domain=0.0.1"}, "http://127.0.0.1/", ""},
		{"IPv6", "http://[::1]:8080/", []string{"a=1"}, "http://[::1]/", "a=1"},
		{"port ignored", "http://example.com:8080/", []string{"a=1"}, "http://example.com:9090/", "a=1"},
		{"trailing dot", "http://example.com./", []string{"a=1"}, "http://example.com/", "a=1"},
		{"IDN", "http://bücher.example/", []string{"a=1; Domain=BÜCHER.example"}, "http://www.xn--bcher-kva.example/", "a=1"},
		{"secure not over http", "https://example.com/", []string{"a=1; Secure"}, "http://example.com/", ""},
		{"secure over https", "http://example.com/", []string{"a=1; Secure"}, "https://example.com/", "a=1"},
		{"secure over wss", "http://example.com/", []string{"a=1; Secure"}, "wss://example.com/", "a=1"},
		{"HttpOnly is sent", "http://example.com/", []string{"a=1; HttpOnly"}, "http://example.com/", "a=1"},
		{"not for ftp", "ftp://example.com/", []string{"a=1"}, "ftp://example.com/", ""},
		{"default path", "http://example.com/a/b/c", []string{"a=1"}, "http://example.com/a/b/x", "a=1"},
		{"default path not above", "http://example.com/a/b/c", []string{"a=1"}, "http://example.com/a/x", ""},
		{"path prefix needs a slash", "http://example.com/", []string{"a=1; Path=/foo"}, "http://example.com/foobar", ""},
		{"path match below", "http://example.com/", []string{"a=1; Path=/foo"}, "http://example.com/foo/bar", "a=1"},
		{"relative path is default", "http://example.com/a/b", []string{"a=1; Path=foo"}, "http://example.com/a/z", "a=1"},
		{"order: longer path first", "http://example.com/", []string{"a=1; Path=/", "b=2; Path=/x/y", "c=3; Path=/x"}, "http://example.com/x/y/z", "b=2; c=3; a=1"},
		{"order: creation among equals", "http://example.com/", []string{"z=1", "a=2", "m=3"}, "http://example.com/", "z=1; a=2; m=3"},
		{"replacement keeps creation", "http://example.com/", []string{"a=1", "b=2", "a=3"}, "http://example.com/", "a=3; b=2"},
		{"same name, other path", "http://example.com/", []string{"a=1; Path=/", "a=2; Path=/p"}, "http://example.com/p", "a=2; a=1"},
		{"max-age 0 deletes", "http://example.com/", []string{"a=1", "a=; Max-Age=0"}, "http://example.com/", ""},
		{"past expiry deletes", "http://example.com/", []string{"a=1", "a=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"}, "http://example.com/", ""},
		{"max-age wins over expires", "http://example.com/", []string{"a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60", "b=2; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT"}, "http://example.com/", "a=1"},
		{"NUL ignored", "http://example.com/", []string{"a=1\x00x"}, "http://example.com/", ""},
		{"CR ignored", "http://example.com/", []string{"a\r=1"}, "http://example.com/", ""},
		{"too large ignored", "http://example.com/", []string{"a=" + strings.Repeat("x", MaxCookieSize)}, "http://example.com/", ""},
		{"largest kept", "http://example.com/", []string{"a=" + strings.Repeat("x", MaxCookieSize-1)}, "http://example.com/", "a=" + strings.Repeat("x", MaxCookieSize-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, _ := newTestJar(t, "", nil)
			set(t, j, tt.from, tt.lines...)
			if got := sent(t, j, tt.to); got != tt.want {
				t.Errorf("after %q from %s: sent to %s %q, want %q", tt.lines, tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestJarExpiry(t *testing.T) {
	j, clock := newTestJar(t, "", nil)
	set(t, j, "http://example.com/", "a=1; Max-Age=60", "b=2; Expires=Fri, 01 Mar 2030 12:02:00 GMT", "s=3")
	if got, want := sent(t, j, "http://example.com/"), "a=1; b=2; s=3"; got != want {
		t.Fatalf("sent %q, want %q", got, want)
	}
	clock.Advance(61 * time.Second)
	if got, want := sent(t, j, "http://example.com/"), "b=2; s=3"; got != want {
		t.Errorf("after 61s sent %q, want %q", got, want)
	}
	clock.Advance(time.Minute)
	if got, want := sent(t, j, "http://example.com/"), "s=3"; got != want {
		t.Errorf("after 121s sent %q, want %q", got, want)
	}
	if got := len(j.All()); got != 1 {
		t.Errorf("All holds %d cookies, want 1", got)
	}
}

func TestJarLimits(t *testing.T) {
	t.Run("per domain", func(t *testing.T) {
		j, clock := newTestJar(t, "", nil)
		for i := range DefaultMaxCookiesPerDomain + 1 {
			set(t, j, fmt.Sprintf("http://h%d.example.com/", i%3), fmt.Sprintf("c%d=1; Domain=example.com", i))
			clock.Advance(time.Second)
		}
		set(t, j, "http://other.org/", "o=1")
		all := j.All()
		if len(all) != DefaultMaxCookiesPerDomain+1 {
			t.Fatalf("All holds %d cookies, want %d", len(all), DefaultMaxCookiesPerDomain+1)
		}
		for _, c := range all {
			if c.Name == "c0" {
				t.Error("the least recently used cookie c0 was kept")
			}
		}
	})
	t.Run("least recently used first", func(t *testing.T) {
		j, clock := newTestJar(t, "", &JarOptions{MaxCookiesPerDomain: 2})
		set(t, j, "http://example.com/", "a=1; Path=/a")
		clock.Advance(time.Second)
		set(t, j, "http://example.com/", "b=2; Path=/b")
		clock.Advance(time.Second)
		sent(t, j, "http://example.com/a") // a is now used later than b
		clock.Advance(time.Second)
		set(t, j, "http://example.com/", "c=3")
		var names []string
		for _, c := range j.All() {
			names = append(names, c.Name)
		}
		if want := []string{"a", "c"}; !slices.Equal(names, want) {
			t.Errorf("kept %q, want %q", names, want)
		}
	})
	t.Run("expired first", func(t *testing.T) {
		j, clock := newTestJar(t, "", &JarOptions{MaxCookiesPerDomain: 3})
		set(t, j, "http://example.com/", "old=1", "short=1; Max-Age=5", "x=1")
		clock.Advance(10 * time.Second)
		set(t, j, "http://example.com/", "new=1")
		if got, want := sent(t, j, "http://example.com/"), "old=1; x=1; new=1"; got != want {
			t.Errorf("sent %q, want %q", got, want)
		}
	})
	t.Run("total", func(t *testing.T) {
		j, clock := newTestJar(t, "", &JarOptions{MaxCookies: 3})
		for i := range 5 {
			set(t, j, fmt.Sprintf("http://site%d.example/", i), "a=1")
			clock.Advance(time.Second)
		}
		var domains []string
		for _, c := range j.All() {
			domains = append(domains, c.Domain)
		}
		if want := []string{"site2.example", "site3.example", "site4.example"}; !slices.Equal(domains, want) {
			t.Errorf("kept %q, want %q", domains, want)
		}
	})
	t.Run("negative refused", func(t *testing.T) {
		if _, err := OpenCookieJar("", &JarOptions{MaxCookies: -1}); err == nil {
			t.Error("OpenCookieJar accepted a negative limit")
		}
	})
}

// TestJarSetCookies covers the http.CookieJar side: raw lines re-parsed,
// cookies built in code taken from their fields.
func TestJarSetCookies(t *testing.T) {
	j, _ := newTestJar(t, "", nil)
	u := mustURL(t, "https://www.example.com/app/page")
	j.SetCookies(u, []*http.Cookie{
		{Raw: "raw=\"v w\"; Path=/; SameSite=Lax", Name: "ignored", Value: "ignored"},
		{Name: "built", Value: "v", Domain: ".Example.com", Path: "/", MaxAge: 60, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode},
		{Name: "q", Value: "x", Quoted: true, Path: "/"},
		{Name: "bad", Value: "a\r\nSet-Cookie: x=y"},
		{Name: "", Value: "x"},
	})
	got := j.Cookies(mustURL(t, "https://www.example.com/"))
	if len(got) != 3 || got[0].Name != "raw" || got[0].Value != "v w" || !got[0].Quoted ||
		got[1].Name != "built" || got[2].Name != "q" || got[2].Value != "x" || !got[2].Quoted {
		t.Fatalf("Cookies = %v", got)
	}
	all := j.All()
	byName := map[string]Cookie{}
	for _, c := range all {
		byName[c.Name] = c
	}
	if b := byName["built"]; b.Domain != "example.com" || b.HostOnly || !b.Secure || !b.HTTPOnly ||
		b.SameSite != "Strict" || !b.Expires.Equal(jarStart.Add(time.Minute)) {
		t.Errorf("built = %+v", b)
	}
	if r := byName["raw"]; r.SameSite != "Lax" || !r.HostOnly || r.Domain != "www.example.com" || !r.Expires.IsZero() {
		t.Errorf("raw = %+v", r)
	}
	j.SetCookies(u, []*http.Cookie{{Name: "built", Domain: "example.com", Path: "/", MaxAge: -1}})
	if got := sent(t, j, "https://www.example.com/"); got != `raw="v w"; q="x"` {
		t.Errorf("after deleting built: sent %q", got)
	}
	j.Remove("WWW.example.com", "/", "q")
	j.Clear()
	if got := j.All(); len(got) != 0 {
		t.Errorf("after Clear: %v", got)
	}
}

func TestJarTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			w.Header().Add("Set-Cookie", `sid="a b"; Path=/; HttpOnly`)
			http.Redirect(w, r, "/home", http.StatusFound)
		default:
			w.Write([]byte(r.Header.Get("Cookie")))
		}
	}))
	defer srv.Close()
	j, _ := newTestJar(t, "", nil)
	j.now = time.Now // the cookies live in real time here
	closed := false
	base := closeRecorder{srv.Client().Transport, &closed}
	client := &http.Client{Transport: j.Transport(base)}
	req, _ := http.NewRequest("GET", srv.URL+"/login", nil)
	req.Header.Set("Cookie", "pre=1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(body), `pre=1; sid="a b"`; got != want {
		t.Errorf("after the redirect the server saw Cookie %q, want %q", got, want)
	}
	if got := req.Header.Get("Cookie"); got != "pre=1" {
		t.Errorf("the caller's request was changed: Cookie %q", got)
	}
	client.CloseIdleConnections()
	if !closed {
		t.Error("CloseIdleConnections did not reach the wrapped transport")
	}
}

type closeRecorder struct {
	http.RoundTripper
	closed *bool
}

func (c closeRecorder) CloseIdleConnections() { *c.closed = true }
