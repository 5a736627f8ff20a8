package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestErrorPaths sends every kind of bad request to the endpoints that take
// a body and checks each gets its own 4xx and code, never a 500.
func TestErrorPaths(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.login()
	admin := bearer(testAdminKey)
	big := `{"username":"` + strings.Repeat("a", maxBody) + `","password":"x"}`
	endpoints := []struct {
		path string
		auth string
	}{
		{"/v1/login", ""},
		{"/v1/session/refresh", ""},
		{"/v1/session/jwt", bearer(c.Token)},
		{"/v1/admin/sessions", admin},
		{"/v1/admin/introspect", admin},
	}
	cases := []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
	}{
		{"malformed JSON", `{"username":`, "application/json", 400, "invalid_json"},
		{"syntax error", `{"username" "x"}`, "application/json", 400, "invalid_json"},
		{"not an object", `[1,2]`, "application/json", 400, "invalid_json"},
		{"unknown field", `{"nope":1}`, "application/json", 400, "invalid_json"},
		{"trailing data", `{} {}`, "application/json", 400, "invalid_json"},
		{"empty body", ``, "application/json", 400, "invalid_json"},
		{"wrong type", `{"username":1,"refresh_token":1,"audience":1,"subject":1,"token":1}`, "application/json", 400, "invalid_json"},
		{"oversized", big, "application/json", 413, "body_too_large"},
		{"form content type", `username=a&password=b`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"no content type", `{}`, "", 415, "unsupported_media_type"},
	}
	for _, ep := range endpoints {
		for _, tc := range cases {
			t.Run(ep.path+"/"+tc.name, func(t *testing.T) {
				headers := []string{ep.auth}
				if tc.ctype != "" {
					headers = append(headers, "Content-Type: "+tc.ctype)
				}
				res := ts.doRaw("POST", ep.path, tc.body, headers...)
				wantStatus(t, res, tc.status, tc.code)
				if ct := res.Header.Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type %q", ct)
				}
			})
		}
	}
}

func TestMissingFields(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.login()
	admin := bearer(testAdminKey)
	for _, tc := range []struct{ path, body, auth string }{
		{"/v1/login", `{"username":"alice"}`, ""},
		{"/v1/login", `{"password":"x"}`, ""},
		{"/v1/session/refresh", `{}`, ""},
		{"/v1/session/jwt", `{}`, bearer(c.Token)},
		{"/v1/admin/sessions", `{}`, admin},
		{"/v1/admin/sessions", `{"subject":"a","kind":"carrier-pigeon"}`, admin},
		{"/v1/admin/sessions", `{"subject":"a\u0000b"}`, admin},
	} {
		wantStatus(t, ts.do("POST", tc.path, tc.body, tc.auth), http.StatusBadRequest, "invalid_request")
	}
}

func TestUnknownRoutes(t *testing.T) {
	ts := newTestServer(t, nil)
	wantStatus(t, ts.do("GET", "/v1/nope", nil), http.StatusNotFound, "not_found")
	wantStatus(t, ts.do("GET", "/", nil), http.StatusNotFound, "not_found")
	res := ts.do("PUT", "/v1/session", nil)
	wantStatus(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
	if allow := res.Header.Get("Allow"); allow != "GET, HEAD, DELETE" {
		t.Fatalf("Allow: %q", allow)
	}
	res = ts.do("GET", "/v1/login", nil)
	wantStatus(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
	if allow := res.Header.Get("Allow"); allow != "POST" {
		t.Fatalf("Allow: %q", allow)
	}
}

// TestCredentialOfTheOtherKind: a browser session's token sent as Bearer,
// and an API session's token sent as the cookie, open nothing.
func TestCredentialOfTheOtherKind(t *testing.T) {
	ts := newTestServer(t, nil)
	api := ts.login()
	res := ts.do("POST", "/v1/admin/sessions", map[string]string{"subject": testUser, "kind": "browser"}, bearer(testAdminKey))
	var browser credentials
	res.decode(t, &browser)

	cookie := "Cookie: " + ts.Manager().CookieName() + "="
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(browser.Token)), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, ts.do("GET", "/v1/session", nil, cookie+api.Token), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, ts.do("GET", "/v1/session", nil, cookie+browser.Token), http.StatusOK, "")
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(api.Token)), http.StatusOK, "")
	// Both at once is ambiguous.
	wantStatus(t, ts.do("GET", "/v1/session", nil, cookie+browser.Token, bearer(api.Token)), http.StatusBadRequest, "ambiguous_credentials")
	// A malformed token is a 401, never a 500.
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(strings.Repeat("!", 43))), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, ts.do("GET", "/v1/session", nil, cookie+"%%%"), http.StatusUnauthorized, "invalid_token")
}

func TestCrossOriginRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	res := ts.do("POST", "/v1/admin/sessions", map[string]string{"subject": "x"}, bearer(testAdminKey), "Sec-Fetch-Site: cross-site")
	wantStatus(t, res, http.StatusForbidden, "cross_origin")
	res = ts.do("POST", "/v1/login", map[string]string{"username": testUser, "password": testPassword}, "Origin: https://evil.example")
	wantStatus(t, res, http.StatusForbidden, "cross_origin")
	// Same-origin and non-browser requests pass.
	wantStatus(t, ts.do("POST", "/v1/login", map[string]string{"username": testUser, "password": testPassword}, "Sec-Fetch-Site: same-origin"), http.StatusCreated, "")
}

func TestPublicEndpoints(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Version = "1.2.3"; o.TLS = true })
	res := ts.do("GET", "/healthz", nil)
	wantStatus(t, res, http.StatusOK, "")
	if string(res.body) != "{\"status\":\"ok\",\"version\":\"1.2.3\"}\n" {
		t.Fatalf("healthz: %s", res.body)
	}
	if res.Header.Get("Strict-Transport-Security") == "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: %v", res.Header)
	}
	wantStatus(t, ts.do("GET", "/readyz", nil), http.StatusOK, "")
	res = ts.do("GET", "/metrics", nil)
	wantStatus(t, res, http.StatusOK, "")
	ts.login()
	if !strings.Contains(string(res.body), "go_goroutines") {
		t.Fatal("metrics lack the Go collector")
	}
	if res = ts.do("GET", "/metrics", nil); !strings.Contains(string(res.body), "keycard_sessions_created_total") {
		t.Fatalf("metrics lack Keycard's events: %.300s", res.body)
	}
	res = ts.do("GET", "/openapi.yaml", nil)
	wantStatus(t, res, http.StatusOK, "")
	if !strings.HasPrefix(string(res.body), "openapi: 3.1") {
		t.Fatalf("openapi.yaml: %.100s", res.body)
	}
}

func TestNoHSTSWithoutTLS(t *testing.T) {
	ts := newTestServer(t, nil)
	if h := ts.do("GET", "/healthz", nil).Header.Get("Strict-Transport-Security"); h != "" {
		t.Fatalf("HSTS over plain HTTP: %q", h)
	}
}
