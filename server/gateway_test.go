package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/jwt"
)

// newGatewayServer is a test server behind which the test client is the
// trusted proxy (127.0.0.1).
func newGatewayServer(t *testing.T) *testServer {
	return newTestServer(t, func(o *Options) {
		o.TrustedProxies = []string{"127.0.0.1", "::1"}
		o.GatewayLoginURL = "/keycard/login"
		o.AllowedOrigins = []string{"https://app.example.com"}
	})
}

func (ts *testServer) browserSession(subject string) string {
	ts.t.Helper()
	cred, err := ts.Manager().Issue(context.Background(), keycard.IssueOptions{Subject: subject, Kind: keycard.KindBrowser})
	if err != nil {
		ts.t.Fatal(err)
	}
	return "Cookie: " + ts.Manager().CookieName() + "=" + string(cred.Token)
}

func TestGatewayAllowsLiveSessions(t *testing.T) {
	ts := newGatewayServer(t)
	cookie := ts.browserSession("alice")
	res := ts.do("GET", "/v1/auth", nil, cookie, "X-Original-URI: /reports?q=1", "X-Original-Method: GET")
	wantStatus(t, res, http.StatusOK, "")
	if res.Header.Get(headerSubject) != "alice" || res.Header.Get(headerSessionID) == "" || res.Header.Get(headerKind) != "browser" {
		t.Fatalf("identity headers: %v", res.Header)
	}
	if res.Header.Get(headerJWT) != "" {
		t.Fatal("an identity JWT nobody asked for")
	}
	api := ts.login()
	res = ts.do("POST", "/v1/auth", nil, bearer(api.Token), "X-Forwarded-Method: DELETE", "X-Forwarded-Uri: /items/3")
	wantStatus(t, res, http.StatusOK, "")
	if res.Header.Get(headerSubject) != testUser || res.Header.Get(headerKind) != "api" {
		t.Fatalf("identity headers: %v", res.Header)
	}
}

func TestGatewayDeniesWithoutSession(t *testing.T) {
	ts := newGatewayServer(t)
	// An API client: 401, no redirect.
	res := ts.do("GET", "/v1/auth", nil, "X-Original-URI: /reports")
	wantStatus(t, res, http.StatusUnauthorized, "no_session")
	if res.Header.Get("Location") != "" || res.Header.Get(headerSubject) != "" {
		t.Fatalf("headers: %v", res.Header)
	}
	// A browser: 401 with the login page and where to come back.
	res = ts.do("GET", "/v1/auth", nil, "Accept: text/html,*/*", "X-Original-URI: /reports?q=a%20b")
	wantStatus(t, res, http.StatusUnauthorized, "no_session")
	if loc := res.Header.Get("Location"); loc != "/keycard/login?return_to="+url.QueryEscape("/reports?q=a%20b") {
		t.Fatalf("Location %q", loc)
	}
	// A logged-out cookie.
	cookie := ts.browserSession("alice")
	res = ts.do("GET", "/v1/auth", nil, cookie)
	wantStatus(t, res, http.StatusOK, "")
	sid := res.Header.Get(headerSessionID)
	wantStatus(t, ts.do("DELETE", "/v1/admin/sessions/"+sid, nil, bearer(testAdminKey)), http.StatusNoContent, "")
	wantStatus(t, ts.do("GET", "/v1/auth", nil, cookie, "Accept: text/html"), http.StatusUnauthorized, "invalid_token")
}

// TestGatewayRefusesMalformedOriginalURI: fail closed, never a 200, even
// with a live session.
func TestGatewayRefusesMalformedOriginalURI(t *testing.T) {
	ts := newGatewayServer(t)
	cookie := ts.browserSession("alice")
	for _, uri := range []string{"reports", "//evil.example/x", "/a\\b", "/a b", "/%zz", "/x?%zz", "http://evil.example/", "/" + strings.Repeat("a", maxOriginalURI)} {
		res := ts.do("GET", "/v1/auth", nil, cookie, "X-Original-URI: "+uri)
		wantStatus(t, res, http.StatusBadRequest, "invalid_original_uri")
		if res.Header.Get(headerSubject) != "" {
			t.Fatalf("%q: identity headers on a refusal", uri)
		}
	}
	for _, h := range []string{"X-Forwarded-Proto: gopher", "X-Original-Method: get me"} {
		wantStatus(t, ts.do("GET", "/v1/auth", nil, cookie, "X-Original-URI: /", h), http.StatusBadRequest, "invalid_original_uri")
	}
}

// TestGatewayIgnoresUntrustedProxyHeaders: from a client that is not a
// trusted proxy, X-Original-* and rule headers are not believed.
func TestGatewayIgnoresUntrustedProxyHeaders(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.GatewayLoginURL = "/login" })
	cookie := ts.browserSession("alice")
	// A malformed URI from an untrusted client is ignored, not believed.
	wantStatus(t, ts.do("GET", "/v1/auth", nil, cookie, "X-Original-URI: //evil", "X-Keycard-Max-Age: 1ns"), http.StatusOK, "")
	res := ts.do("GET", "/v1/auth", nil, "Accept: text/html", "X-Original-URI: /secret")
	if loc := res.Header.Get("Location"); loc != "/login" {
		t.Fatalf("an untrusted client chose the return URL: %q", loc)
	}
}

func TestGatewayStepUpAndKind(t *testing.T) {
	ts := newGatewayServer(t)
	now := time.Now()
	ts.now = func() time.Time { return now }
	cookie := ts.browserSession("alice")
	wantStatus(t, ts.do("GET", "/v1/auth?max_age=10m", nil, cookie), http.StatusOK, "")
	now = now.Add(11 * time.Minute)
	res := ts.do("GET", "/v1/auth?max_age=10m", nil, cookie, "Accept: text/html", "X-Original-URI: /admin")
	wantStatus(t, res, http.StatusForbidden, "reauth_required")
	if !strings.HasPrefix(res.Header.Get("Location"), "/keycard/login?return_to=") {
		t.Fatalf("step-up without the login page: %v", res.Header)
	}
	wantStatus(t, ts.do("GET", "/v1/auth", nil, cookie, "X-Keycard-Max-Age: 10m"), http.StatusForbidden, "reauth_required")
	wantStatus(t, ts.do("GET", "/v1/auth?max_age=1h", nil, cookie), http.StatusOK, "")

	// The trusted proxy's rule header wins over a query that may be the
	// client's own.
	wantStatus(t, ts.do("GET", "/v1/auth?max_age=1000h", nil, cookie, "X-Keycard-Max-Age: 10m"), http.StatusForbidden, "reauth_required")
	wantStatus(t, ts.do("GET", "/v1/auth?kind=browser", nil, cookie, "X-Keycard-Require-Kind: api"), http.StatusForbidden, "wrong_kind")

	wantStatus(t, ts.do("GET", "/v1/auth?kind=browser", nil, cookie), http.StatusOK, "")
	wantStatus(t, ts.do("GET", "/v1/auth?kind=api", nil, cookie), http.StatusForbidden, "wrong_kind")
	for _, bad := range []string{"max_age=soon", "max_age=-1m", "kind=carrier"} {
		wantStatus(t, ts.do("GET", "/v1/auth?"+bad, nil, cookie), http.StatusBadRequest, "invalid_rule")
	}
}

func TestGatewayCrossOriginWrite(t *testing.T) {
	ts := newGatewayServer(t)
	cookie := ts.browserSession("alice")
	for _, h := range [][]string{
		{"X-Original-Method: POST", "Sec-Fetch-Site: cross-site"},
		{"X-Forwarded-Method: DELETE", "Origin: https://evil.example", "X-Forwarded-Host: app.example.com"},
	} {
		wantStatus(t, ts.do("GET", "/v1/auth", nil, append(h, cookie)...), http.StatusForbidden, "cross_origin")
	}
	for _, h := range [][]string{
		{"X-Original-Method: GET", "Sec-Fetch-Site: cross-site"}, // a cross-site link is fine
		{"X-Original-Method: POST", "Sec-Fetch-Site: same-origin"},
		{"X-Forwarded-Method: POST", "Origin: https://app.example.com", "X-Forwarded-Host: app.example.com"},
	} {
		wantStatus(t, ts.do("GET", "/v1/auth", nil, append(h, cookie)...), http.StatusOK, "")
	}
}

func TestGatewayIdentityJWT(t *testing.T) {
	ts := newGatewayServer(t)
	cookie := ts.browserSession("alice")
	res := ts.do("GET", "/v1/auth?jwt=grafana", nil, cookie)
	wantStatus(t, res, http.StatusOK, "")
	token := res.Header.Get(headerJWT)
	keys, err := jwt.ParseJWKS(ts.do("GET", "/.well-known/jwks.json", nil).body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier("keycard", "grafana", keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(context.Background(), token)
	if err != nil || claims.Subject != "alice" || claims.SessionID != res.Header.Get(headerSessionID) {
		t.Fatalf("claims %+v, %v", claims, err)
	}
	// A forged token: the payload changed to another subject.
	parts := strings.Split(token, ".")
	forged := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
	if _, err := v.Verify(context.Background(), forged); err == nil {
		t.Fatal("a forged identity JWT verified")
	}
}

func TestSafeReturnTo(t *testing.T) {
	ts := newGatewayServer(t)
	for raw, want := range map[string]string{
		"/reports?q=1":                    "/reports?q=1",
		"https://app.example.com/x":       "https://app.example.com/x",
		"HTTPS://APP.EXAMPLE.COM/x":       "https://APP.EXAMPLE.COM/x",
		"//evil.example/":                 "",
		"/\\evil.example":                 "",
		"https://evil.example/":           "",
		"https://app.example.com@evil/":   "",
		"https://user@app.example.com/":   "",
		"javascript:alert(1)":             "",
		"reports":                         "",
		"/x\r\nSet-Cookie: a=b":           "",
		"https://app.example.com.evil.io": "",
		"":                                "",
	} {
		got, ok := ts.safeReturnTo(raw)
		if got != want || ok != (want != "") {
			t.Errorf("safeReturnTo(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
}

// TestGatewayAnyMethod: proxies ask with the original method (Envoy) or
// GET (nginx, Caddy, Traefik); every method gets the same answer.
func TestGatewayAnyMethod(t *testing.T) {
	ts := newGatewayServer(t)
	cookie := ts.browserSession("alice")
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		res := ts.do(m, "/v1/auth", nil, cookie)
		wantStatus(t, res, http.StatusOK, "")
		if res.Header.Get(headerSubject) != "alice" {
			t.Fatalf("%s: %v", m, res.Header)
		}
		if res := ts.do(m, "/v1/auth", nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s without a session: %d", m, res.StatusCode)
		}
	}
}

// TestGatewayRedirectRule: for proxies that pass the answer on as it is,
// redirect=302 sends a browser to the login page by a 302; API clients
// still get their 401, and a live session its 200.
func TestGatewayRedirectRule(t *testing.T) {
	ts := newGatewayServer(t)
	res := ts.do("GET", "/v1/auth", nil, "Accept: text/html", "X-Forwarded-Uri: /reports", "X-Keycard-Redirect: 302")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/keycard/login?return_to=%2Freports" {
		t.Fatalf("browser: %d %v", res.StatusCode, res.Header)
	}
	wantStatus(t, ts.do("GET", "/v1/auth?redirect=302", nil), http.StatusUnauthorized, "no_session")
	res = ts.do("GET", "/v1/auth?redirect=302", nil, ts.browserSession("alice"), "Accept: text/html")
	wantStatus(t, res, http.StatusOK, "")
	if len(res.body) != 0 {
		t.Fatalf("a 200 of /v1/auth with a body: %q", res.body)
	}
	wantStatus(t, ts.do("GET", "/v1/auth?redirect=301", nil), http.StatusBadRequest, "invalid_rule")
}
