package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard/jwt"
)

var proxies = []proxyKind{nginx, caddy}

// identityHeaders are the headers Keycard answers with, which only Keycard
// may set: a client's copies must never reach the app.
var identityHeaders = []string{"X-Keycard-Subject", "X-Keycard-Session-Id", "X-Keycard-Kind", "X-Keycard-Jwt"}

// forged are a client's attempt to pass its own identity headers.
var forged = []string{
	"X-Keycard-Subject: mallory",
	"X-Keycard-Session-Id: 0000",
	"X-Keycard-Kind: browser",
	"X-Keycard-Jwt: eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.",
}

// TestGateway runs the same matrix through every proxy.
func TestGateway(t *testing.T) {
	for _, p := range proxies {
		t.Run(p.name, func(t *testing.T) {
			t.Run("without a session", func(t *testing.T) { testWithoutSession(t, newEnv(t, p, keycardOptions{})) })
			t.Run("login through the proxy", func(t *testing.T) { testLogin(t, newEnv(t, p, keycardOptions{})) })
			t.Run("forged identity headers", func(t *testing.T) { testForgedHeaders(t, newEnv(t, p, keycardOptions{})) })
			t.Run("logout and replay", func(t *testing.T) { testLogoutReplay(t, newEnv(t, p, keycardOptions{})) })
			t.Run("renewal", func(t *testing.T) { testRenewal(t, p) })
			t.Run("malformed original URI", func(t *testing.T) { testMalformedURI(t, newEnv(t, p, keycardOptions{})) })
			t.Run("route rules", func(t *testing.T) { testRouteRules(t, newEnv(t, p, keycardOptions{})) })
			t.Run("signed identity", func(t *testing.T) { testSignedIdentity(t, newEnv(t, p, keycardOptions{})) })
		})
	}
}

// testWithoutSession: an API client gets 401, a browser a redirect to the
// login page with where to come back; the app is not reached.
func testWithoutSession(t *testing.T, e *env) {
	res := e.apiClient().get("/reports?q=1")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API client without a session: %d %s, want 401", res.StatusCode, res.body)
	}
	if loc := res.Header.Get("Location"); loc != "" {
		t.Fatalf("API client sent to %q", loc)
	}
	res = e.browser().get("/reports?q=1")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("browser without a session: %d %s, want 302", res.StatusCode, res.body)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Path != loginURL || loc.Query().Get("return_to") != "/reports?q=1" {
		t.Fatalf("browser sent to %q, want %s?return_to=/reports?q=1", res.Header.Get("Location"), loginURL)
	}
	if loc.Host != "" && loc.Host != hostport(e.proxy) {
		t.Fatalf("login page on another host: %q", res.Header.Get("Location"))
	}
	if n := e.app.hits.Load(); n != 0 {
		t.Fatalf("the app was reached %d times without a session", n)
	}
}

// testLogin: after logging in through the proxy the app sees who it is.
func testLogin(t *testing.T, e *env) {
	c := e.apiClient()
	c.loginAPI()
	got := c.get("/reports").echo(t)
	if s := got.Header.Get("X-Keycard-Subject"); s != testUser {
		t.Fatalf("the app saw subject %q, want %q (headers %v)", s, testUser, got.Header)
	}
	if got.Header.Get("X-Keycard-Session-Id") == "" || got.Header.Get("X-Keycard-Kind") != "api" {
		t.Fatalf("the app's identity headers: %v", got.Header)
	}
	if got.Header.Get("Authorization") == "" {
		t.Fatal("the app did not get the request's own headers")
	}

	b := e.browser()
	e.signIn(b)
	got = b.get("/reports").echo(t)
	if got.Header.Get("X-Keycard-Subject") != testUser || got.Header.Get("X-Keycard-Kind") != "browser" {
		t.Fatalf("the app's identity headers for a browser: %v", got.Header)
	}
}

// testForgedHeaders: a client's own X-Keycard-* headers never reach the
// app, with a session or without one.
func testForgedHeaders(t *testing.T, e *env) {
	c := e.apiClient()
	if res := c.get("/reports", forged...); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged headers without a session: %d %s, want 401", res.StatusCode, res.body)
	}
	c.loginAPI()
	for _, path := range []string{"/reports", "/signed/x"} {
		got := c.get(path, forged...).echo(t)
		for _, h := range identityHeaders {
			for _, v := range got.Header.Values(h) {
				if strings.Contains(v, "mallory") || v == "0000" || strings.HasPrefix(v, "eyJhbGciOiJub25l") || strings.Count(got.Header.Get(h), ",") > 0 {
					t.Errorf("%s: the app got the client's %s: %q", path, h, got.Header.Values(h))
				}
			}
		}
		if got.Header.Get("X-Keycard-Subject") != testUser || got.Header.Get("X-Keycard-Kind") != "api" {
			t.Errorf("%s: identity headers %v", path, got.Header)
		}
	}
}

// testLogoutReplay: logout through the proxy, and the old credential no
// longer passes.
func testLogoutReplay(t *testing.T, e *env) {
	c := e.apiClient()
	c.loginAPI()
	c.get("/reports").echo(t)
	if res := c.do("DELETE", "/keycard/v1/session", nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout through the proxy: %d %s", res.StatusCode, res.body)
	}
	hits := e.app.hits.Load()
	if res := c.get("/reports"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed token after logout: %d %s, want 401", res.StatusCode, res.body)
	}

	b := e.browser()
	e.signIn(b)
	old := b.cookies[e.kc.Manager().CookieName()]
	b.get("/reports").echo(t)
	if res := b.do("DELETE", "/keycard/v1/session", nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("browser logout through the proxy: %d %s", res.StatusCode, res.body)
	}
	b.cookies[e.kc.Manager().CookieName()] = old // replay the old cookie
	res := b.get("/reports")
	if res.StatusCode != http.StatusFound || !strings.Contains(res.Header.Get("Location"), loginURL) {
		t.Fatalf("replayed cookie after logout: %d %v, want a redirect to the login page", res.StatusCode, res.Header)
	}
	b.browser = false
	if res := b.get("/reports"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed cookie after logout, not a browser: %d, want 401", res.StatusCode)
	}
	if n := e.app.hits.Load(); n != hits+1 {
		t.Fatalf("the app was reached %d times after logout", n-hits-1)
	}
}

// testRenewal: a browser session renewed through the proxy stays signed
// in, because the rotated cookie reaches the browser; the token it
// replaced is refused once the grace window is over.
func testRenewal(t *testing.T, p proxyKind) {
	const renewal, grace = time.Second, 300 * time.Millisecond
	e := newEnv(t, p, keycardOptions{renewal: renewal, grace: grace})
	b := e.browser()
	e.signIn(b)
	name := e.kc.Manager().CookieName()
	first := b.cookies[name]
	b.get("/reports").echo(t)
	deadline := time.Now().Add(10 * time.Second)
	// Real time: the proxies and Keycard run on the real clock, and the
	// renewal timeout is one second.
	time.Sleep(renewal + 100*time.Millisecond)
	res := b.get("/reports")
	res.echo(t)
	renewed := b.cookies[name]
	if renewed == first {
		t.Fatalf("no rotated cookie reached the browser through %s (Set-Cookie %q)", p.name, res.Header.Values("Set-Cookie"))
	}
	time.Sleep(grace + 100*time.Millisecond)
	for i := range 3 {
		got := b.get("/reports").echo(t)
		if got.Header.Get("X-Keycard-Subject") != testUser {
			t.Fatalf("request %d after renewal: %v", i, got.Header)
		}
	}
	if b.cookies[name] != renewed {
		t.Fatal("renewed again within the renewal timeout")
	}
	if time.Now().After(deadline) {
		t.Skip("too slow a machine to tell renewal from expiry")
	}
}

// testMalformedURI: a request target Keycard cannot parse never reaches
// the app, whether the proxy refuses it itself or passes it to /v1/auth,
// even with a live session. Targets a proxy may instead normalize (Caddy
// re-escapes a backslash or a percent-encoded NUL) may reach the app, but
// only in a form that parses.
func testMalformedURI(t *testing.T, e *env) {
	c := e.apiClient()
	c.loginAPI()
	auth := "Authorization: Bearer " + c.bearer
	for _, target := range []string{
		"/x?%zz",
		"/x?a=%",
		"/a%zz",
		"//evil.example/x",
		"/a\x7fb",
		"/" + strings.Repeat("a", 9000),
	} {
		hits := e.app.hits.Load()
		if code := rawRequest(t, e.proxy, "GET "+target+" HTTP/1.1", auth); code >= 200 && code < 400 {
			t.Errorf("%.40q: %d, want a refusal", target, code)
		}
		if n := e.app.hits.Load(); n != hits {
			t.Errorf("%.40q: the app was reached", target)
		}
	}
	for _, target := range []string{"/a\\b", "/a%00b", "/a\tb"} {
		code := rawRequest(t, e.proxy, "GET "+target+" HTTP/1.1", auth)
		if code >= 200 && code < 400 {
			uri := e.app.last.Load()
			if uri == nil || checkRequestTarget(*uri) != nil {
				t.Errorf("%q: %d, the app got %v", target, code, uri)
			}
		}
	}
	// The same session still passes with a good target.
	if code := rawRequest(t, e.proxy, "GET /ok HTTP/1.1", auth); code != http.StatusOK {
		t.Fatalf("good target: %d", code)
	}
}

// checkRequestTarget reports whether uri is an origin-form request target
// that parses: no raw backslash, space or control character.
func checkRequestTarget(uri string) error {
	if strings.ContainsAny(uri, "\\ \x00\t\x7f") || !strings.HasPrefix(uri, "/") {
		return fmt.Errorf("bad request target %q", uri)
	}
	_, err := url.ParseRequestURI(uri)
	return err
}

// testRouteRules: a route's rule (browser sessions only) holds, whatever
// the client puts in its query or headers.
func testRouteRules(t *testing.T, e *env) {
	c := e.apiClient()
	c.loginAPI()
	for _, path := range []string{"/browser-only/x", "/browser-only/x?kind=api", "/browser-only/x?kind=api&kind=api"} {
		if res := c.get(path, "X-Keycard-Require-Kind: api"); res.StatusCode != http.StatusForbidden {
			t.Errorf("API session on %s: %d %s, want 403", path, res.StatusCode, res.body)
		}
	}
	b := e.browser()
	e.signIn(b)
	b.get("/browser-only/x").echo(t)
	// A client's own rules do not reach Keycard on an ordinary route.
	b.get("/reports?kind=api&max_age=1ns", "X-Keycard-Require-Kind: api", "X-Keycard-Max-Age: 1ns").echo(t)
}

// testSignedIdentity: on a route with the jwt rule the app gets a signed
// identity JWT that verifies with Keycard's published JWKS, and a forged
// one does not; on other routes it gets none.
func testSignedIdentity(t *testing.T, e *env) {
	c := e.apiClient()
	c.loginAPI()
	got := c.get("/signed/x").echo(t)
	token := got.Header.Get("X-Keycard-Jwt")
	if token == "" {
		t.Fatalf("no identity JWT on the signed route: %v", got.Header)
	}
	jwks := e.apiClient().get("/keycard/.well-known/jwks.json")
	keys, err := jwt.ParseJWKS(jwks.body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier("keycard", "app", keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(context.Background(), token)
	if err != nil || claims.Subject != testUser || claims.SessionID != got.Header.Get("X-Keycard-Session-Id") {
		t.Fatalf("identity JWT: claims %+v, %v", claims, err)
	}
	parts := strings.Split(token, ".")
	for name, bad := range map[string]string{
		"payload changed":  parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2],
		"signature cut":    parts[0] + "." + parts[1] + ".",
		"alg none":         "eyJhbGciOiJub25lIn0." + parts[1] + ".",
		"client's own JWT": strings.TrimPrefix(forged[3], "X-Keycard-Jwt: "),
	} {
		if _, err := v.Verify(context.Background(), bad); err == nil {
			t.Errorf("%s: a forged identity JWT verified", name)
		}
	}
	// Another route: no identity JWT, not even a placeholder, whatever the
	// client sent.
	for _, path := range []string{"/reports", "/reports/deeper?x=1"} {
		got := c.get(path, forged[3]).echo(t)
		if v := got.Header.Values("X-Keycard-Jwt"); len(v) != 0 {
			t.Errorf("%s: the app got X-Keycard-Jwt %q with no jwt rule", path, v)
		}
		for name, vs := range got.Header {
			for _, v := range vs {
				if strings.Contains(v, "{") || strings.Contains(v, "<nil>") {
					t.Errorf("%s: the app got a placeholder in %s: %q", path, name, v)
				}
			}
		}
	}
}
