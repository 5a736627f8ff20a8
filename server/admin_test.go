package server

import (
	"net/http"
	"testing"
)

func TestAdminAPI(t *testing.T) {
	ts := newTestServer(t, nil)
	admin := bearer(testAdminKey)

	res := ts.do("POST", "/v1/admin/sessions", map[string]any{
		"subject": "user-42", "kind": "api", "ip": "203.0.113.9", "user_agent": "billing/1.0", "data": map[string]any{"plan": "pro"},
	}, admin)
	wantStatus(t, res, http.StatusCreated, "")
	var c credentials
	res.decode(t, &c)
	if c.Session.Subject != "user-42" || c.Token == "" {
		t.Fatalf("admin create: %s", res.body)
	}
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(c.Token)), http.StatusOK, "")

	res = ts.do("POST", "/v1/admin/introspect", map[string]string{"token": c.Token}, admin)
	wantStatus(t, res, http.StatusOK, "")
	var in struct {
		Active  bool
		Session struct{ ID, Subject string }
	}
	res.decode(t, &in)
	if !in.Active || in.Session.ID != c.Session.ID {
		t.Fatalf("introspect: %s", res.body)
	}

	res = ts.do("POST", "/v1/admin/sessions", map[string]any{"subject": "user-42", "kind": "browser"}, admin)
	wantStatus(t, res, http.StatusCreated, "")
	var b credentials
	res.decode(t, &b)
	if b.RefreshToken != "" || b.Session.Kind != "browser" {
		t.Fatalf("browser session: %s", res.body)
	}
	res = ts.do("POST", "/v1/admin/introspect", map[string]string{"token": b.Token}, admin)
	res.decode(t, &in)
	if !in.Active || in.Session.ID != b.Session.ID {
		t.Fatalf("introspect browser: %s", res.body)
	}

	res = ts.do("GET", "/v1/admin/subjects/user-42/sessions", nil, admin)
	wantStatus(t, res, http.StatusOK, "")
	var list struct{ Sessions []struct{ ID string } }
	res.decode(t, &list)
	if len(list.Sessions) != 2 {
		t.Fatalf("list: %s", res.body)
	}

	wantStatus(t, ts.do("DELETE", "/v1/admin/sessions/"+c.Session.ID, nil, admin), http.StatusNoContent, "")
	wantStatus(t, ts.do("DELETE", "/v1/admin/sessions/"+c.Session.ID, nil, admin), http.StatusNotFound, "not_found")
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(c.Token)), http.StatusUnauthorized, "invalid_token")
	res = ts.do("POST", "/v1/admin/introspect", map[string]string{"token": c.Token}, admin)
	if wantStatus(t, res, http.StatusOK, ""); string(res.body) != "{\"active\":false}\n" {
		t.Fatalf("introspect of a revoked token: %s", res.body)
	}

	res = ts.do("DELETE", "/v1/admin/subjects/user-42/sessions", nil, admin)
	wantStatus(t, res, http.StatusOK, "")
	if string(res.body) != "{\"revoked\":1}\n" {
		t.Fatalf("revoke subject: %s", res.body)
	}
}

func TestAdminKeyRequired(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.login()
	for _, h := range []string{"", bearer("kcadm_wrong"), bearer(c.Token), "Authorization: Basic " + testAdminKey} {
		res := ts.do("POST", "/v1/admin/introspect", map[string]string{"token": c.Token}, h)
		wantStatus(t, res, http.StatusUnauthorized, "invalid_admin_key")
		if res.Header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
	}
	// A session token is no admin key, and an admin key is no session token.
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(testAdminKey)), http.StatusUnauthorized, "invalid_token")
}
