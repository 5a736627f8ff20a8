package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"log/slog"

	"github.com/keycard-go/keycard/jwt"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storage"
)

// testAdminKey is the admin key every test server accepts.
var testAdminKey, testAdminHash = mustAdminKey()

func mustAdminKey() (string, string) {
	k, h, err := NewAdminKey()
	if err != nil {
		panic(err)
	}
	return k, h
}

const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
)

// testServer is a Server over a memstore with the user alice, behind an
// httptest server.
type testServer struct {
	*Server
	store storage.Store
	srv   *httptest.Server
	t     testing.TB
}

func newTestServer(t testing.TB, edit func(*Options)) *testServer {
	t.Helper()
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	if err := AddUser(context.Background(), store, testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	return newTestServerOn(t, store, testOptions(t, edit))
}

// testOptions are the options of a test server: a fresh signing key, a
// fixed fingerprint key, the test admin key, no log.
func testOptions(t testing.TB, edit func(*Options)) *Options {
	t.Helper()
	key, err := jwt.GenerateKey(jwt.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	opts := &Options{
		SigningKeys:    []*jwt.SigningKey{key},
		FingerprintKey: bytes.Repeat([]byte{7}, 32),
		AdminKeyHashes: []string{testAdminHash},
		Logger:         discardLogger(),
	}
	if edit != nil {
		edit(opts)
	}
	return opts
}

func newTestServerOn(t testing.TB, store storage.Store, opts *Options) *testServer {
	t.Helper()
	s, err := New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return &testServer{Server: s, store: store, srv: srv, t: t}
}

// response is a finished response with its body read.
type response struct {
	*http.Response
	body []byte
}

// code returns the error code of an error response, "" otherwise.
func (r response) code() string {
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// doRaw sends body as is, with only the headers given.
func (ts *testServer) doRaw(method, path, body string, headers ...string) response {
	ts.t.Helper()
	return ts.send(method, path, strings.NewReader(body), "", headers)
}

// do sends method path with body (a JSON value, a string sent as is, or
// nil) and header lines "Name: value".
func (ts *testServer) do(method, path string, body any, headers ...string) response {
	ts.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	return ts.send(method, path, rd, ctype, headers)
}

func (ts *testServer) send(method, path string, rd io.Reader, ctype string, headers []string) response {
	ts.t.Helper()
	var reqBody []byte
	if rd != nil {
		var err error
		if reqBody, err = io.ReadAll(rd); err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequest(method, ts.srv.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for _, h := range headers {
		if h == "" {
			continue
		}
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	checkContract(ts.t, req, reqBody, res, b)
	return response{res, b}
}

// credentials is the JSON of a login or refresh answer.
type credentials struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refresh_token"`
	Session      struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Kind    string `json:"kind"`
	} `json:"session"`
}

// login logs alice in over the API and returns her credentials.
func (ts *testServer) login() credentials {
	ts.t.Helper()
	res := ts.do("POST", "/v1/login", map[string]string{"username": testUser, "password": testPassword})
	if res.StatusCode != http.StatusCreated {
		ts.t.Fatalf("login: %d %s", res.StatusCode, res.body)
	}
	var c credentials
	res.decode(ts.t, &c)
	return c
}

func bearer(token string) string { return "Authorization: Bearer " + token }

func wantStatus(t testing.TB, res response, status int, code string) {
	t.Helper()
	if res.StatusCode != status || res.code() != code {
		t.Fatalf("%s %s: got %d %q (%s), want %d %q", res.Request.Method, res.Request.URL.Path,
			res.StatusCode, res.code(), res.body, status, code)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
