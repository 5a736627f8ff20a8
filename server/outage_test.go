package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/redisstore"
)

// TestStoreOutage stops a real Redis under the server: every request that
// needs the store is a 503 with Retry-After (never a 401 that would log
// the client out, never a 500), /readyz fails, and once Redis is back
// every session made before the outage works again.
func TestStoreOutage(t *testing.T) {
	srv := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1,
		DialerRetries: 1, DialerRetryTimeout: 10 * time.Millisecond})
	st, err := redisstore.New(c, &redisstore.Options{Prefix: "outage:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ts := newTestServerOn(t, st, testOptions(t, nil))
	admin := bearer(testAdminKey)

	res := ts.do("POST", "/v1/admin/sessions", map[string]string{"subject": "u1"}, admin)
	wantStatus(t, res, http.StatusCreated, "")
	var cred credentials
	res.decode(t, &cred)

	srv.Stop()
	for _, rq := range []struct {
		method, path string
		body         any
		headers      []string
	}{
		{"GET", "/v1/session", nil, []string{bearer(cred.Token)}},
		{"DELETE", "/v1/session", nil, []string{bearer(cred.Token)}},
		{"GET", "/v1/session/devices", nil, []string{bearer(cred.Token)}},
		{"POST", "/v1/session/refresh", map[string]string{"refresh_token": cred.RefreshToken}, nil},
		{"POST", "/v1/admin/sessions", map[string]string{"subject": "u2"}, []string{admin}},
		{"POST", "/v1/admin/introspect", map[string]string{"token": cred.Token}, []string{admin}},
		{"GET", "/v1/admin/subjects/u1/sessions", nil, []string{admin}},
		{"GET", "/readyz", nil, nil},
	} {
		res := ts.do(rq.method, rq.path, rq.body, rq.headers...)
		wantStatus(t, res, http.StatusServiceUnavailable, "store_unavailable")
		if res.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %s: 503 without Retry-After", rq.method, rq.path)
		}
	}
	wantStatus(t, ts.do("GET", "/healthz", nil), http.StatusOK, "") // the process is alive

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, ts.do("GET", "/readyz", nil), http.StatusOK, "")
	wantStatus(t, ts.do("GET", "/v1/session", nil, bearer(cred.Token)), http.StatusOK, "")
	res = ts.do("POST", "/v1/session/refresh", map[string]string{"refresh_token": cred.RefreshToken})
	wantStatus(t, res, http.StatusOK, "")
}
