package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/jwt"
)

func TestLoginWhoamiRefreshLogout(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.login()
	if c.Session.Subject != testUser || c.Session.Kind != "api" || c.RefreshToken == "" {
		t.Fatalf("login answered %+v", c)
	}

	res := ts.do("GET", "/v1/session", nil, bearer(c.Token))
	wantStatus(t, res, http.StatusOK, "")
	var info struct{ ID, Subject string }
	res.decode(t, &info)
	if info.ID != c.Session.ID || info.Subject != testUser {
		t.Fatalf("whoami: %s", res.body)
	}

	res = ts.do("POST", "/v1/session/refresh", map[string]string{"refresh_token": c.RefreshToken})
	wantStatus(t, res, http.StatusOK, "")
	var c2 credentials
	res.decode(t, &c2)
	if c2.Token == c.Token || c2.RefreshToken == c.RefreshToken || c2.Session.ID != c.Session.ID {
		t.Fatalf("refresh did not rotate: %+v", c2)
	}
	// The spent refresh token never works again, and its reuse ends the session.
	res = ts.do("POST", "/v1/session/refresh", map[string]string{"refresh_token": c.RefreshToken})
	wantStatus(t, res, http.StatusUnauthorized, "invalid_token")
	res = ts.do("GET", "/v1/session", nil, bearer(c2.Token))
	wantStatus(t, res, http.StatusUnauthorized, "invalid_token")

	c3 := ts.login()
	wantStatus(t, ts.do("DELETE", "/v1/session", nil, bearer(c3.Token)), http.StatusNoContent, "")
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(c3.Token)), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, ts.do("GET", "/v1/session", nil), http.StatusUnauthorized, "no_session")
}

func TestLoginFailuresLookAlike(t *testing.T) {
	ts := newTestServer(t, nil)
	if err := AddUser(context.Background(), ts.store, "bob", testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := SetDisabled(context.Background(), ts.store, "bob", true); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, cred := range []map[string]string{
		{"username": "nobody", "password": testPassword},
		{"username": testUser, "password": "wrong password!"},
		{"username": "bob", "password": testPassword},
	} {
		res := ts.do("POST", "/v1/login", cred)
		wantStatus(t, res, http.StatusUnauthorized, "invalid_credentials")
		bodies = append(bodies, string(res.body))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("login failures differ: %q", bodies)
	}
}

func TestLoginRateLimitedPerAccount(t *testing.T) {
	ts := newTestServer(t, nil)
	for range loginAccountBurst {
		wantStatus(t, ts.do("POST", "/v1/login", map[string]string{"username": testUser, "password": "wrong password!"}),
			http.StatusUnauthorized, "invalid_credentials")
	}
	res := ts.do("POST", "/v1/login", map[string]string{"username": testUser, "password": testPassword})
	wantStatus(t, res, http.StatusTooManyRequests, "rate_limited")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Another account from the same network is not locked out by alice's.
	if err := AddUser(context.Background(), ts.store, "carol", testPassword); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ts.do("POST", "/v1/login", map[string]string{"username": "carol", "password": testPassword}), http.StatusCreated, "")
}

func TestSuccessfulLoginsAreNotLimited(t *testing.T) {
	ts := newTestServer(t, nil)
	for range loginNetworkBurst + 5 {
		ts.login()
	}
}

func TestDisabledUserLosesSessions(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.login()
	n, err := SetDisabled(context.Background(), ts.store, testUser, true)
	if err != nil || n != 1 {
		t.Fatalf("SetDisabled = %d, %v", n, err)
	}
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(c.Token)), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, ts.do("POST", "/v1/login", map[string]string{"username": testUser, "password": testPassword}),
		http.StatusUnauthorized, "invalid_credentials")
}

func TestDevices(t *testing.T) {
	ts := newTestServer(t, nil)
	a, b, c := ts.login(), ts.login(), ts.login()

	res := ts.do("GET", "/v1/session/devices", nil, bearer(a.Token))
	wantStatus(t, res, http.StatusOK, "")
	var list struct {
		Devices []struct {
			ID      string
			Current bool
		}
	}
	res.decode(t, &list)
	if len(list.Devices) != 3 {
		t.Fatalf("devices: %s", res.body)
	}
	for _, d := range list.Devices {
		if d.Current != (d.ID == a.Session.ID) {
			t.Fatalf("current marks the wrong device: %s", res.body)
		}
	}

	wantStatus(t, ts.do("DELETE", "/v1/session/devices/"+b.Session.ID, nil, bearer(a.Token)), http.StatusNoContent, "")
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(b.Token)), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, ts.do("DELETE", "/v1/session/devices/"+b.Session.ID, nil, bearer(a.Token)), http.StatusNotFound, "not_found")

	// Another subject's session is not found, and stays live.
	other, err := ts.Manager().Issue(context.Background(), issueAPI("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ts.do("DELETE", "/v1/session/devices/"+other.Session.ID, nil, bearer(a.Token)), http.StatusNotFound, "not_found")
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(string(other.Token))), http.StatusOK, "")

	res = ts.do("DELETE", "/v1/session/devices", nil, bearer(a.Token))
	wantStatus(t, res, http.StatusOK, "")
	var revoked struct{ Revoked int }
	res.decode(t, &revoked)
	if revoked.Revoked != 1 {
		t.Fatalf("revoke others: %s", res.body)
	}
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(c.Token)), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(a.Token)), http.StatusOK, "")

	wantStatus(t, ts.do("DELETE", "/v1/session/devices/"+a.Session.ID, nil, bearer(a.Token)), http.StatusNoContent, "")
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(a.Token)), http.StatusUnauthorized, "invalid_token")
}

func TestMintedJWTVerifiesWithJWKS(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Issuer = "https://keycard.test" })
	c := ts.login()
	res := ts.do("POST", "/v1/session/jwt", map[string]string{"audience": "billing"}, bearer(c.Token))
	wantStatus(t, res, http.StatusOK, "")
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	res.decode(t, &out)
	if out.TokenType != "Bearer" || out.ExpiresIn <= 0 || out.ExpiresIn > 300 {
		t.Fatalf("jwt answer: %s", res.body)
	}
	jwks := ts.do("GET", "/.well-known/jwks.json", nil)
	wantStatus(t, jwks, http.StatusOK, "")
	keys, err := jwt.ParseJWKS(jwks.body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier("https://keycard.test", "billing", keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(context.Background(), out.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != testUser || claims.SessionID != c.Session.ID {
		t.Fatalf("claims %+v", claims)
	}
	other, err := jwt.NewVerifier("https://keycard.test", "other", keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(context.Background(), out.AccessToken); err == nil {
		t.Fatal("a token for billing verified for another audience")
	}
}

func issueAPI(subject string) keycard.IssueOptions {
	return keycard.IssueOptions{Subject: subject, Kind: keycard.KindAPI}
}
