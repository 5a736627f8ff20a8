package keycard_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// TestWireModel: Info and Credentials encode with the field names of
// Keycard's HTTP API, Kind as its name, and every error of the package maps
// to one status and one stable code; anything else is 500 "internal" with
// nothing of its cause.
func TestWireModel(t *testing.T) {
	e := newEnv(t, nil)
	creds, err := e.m.Issue(context.Background(), keycard.IssueOptions{Subject: "bob", IP: "192.0.2.1", UserAgent: "cli/1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["token"] != creds.Token.Reveal() || got["refresh_token"] != creds.RefreshToken.Reveal() {
		t.Fatalf("credentials JSON %s: want token and refresh_token", b)
	}
	session, _ := got["session"].(map[string]any)
	for _, k := range []string{"id", "subject", "kind", "created_at", "authenticated_at", "last_seen_at", "idle_expires_at", "expires_at", "ip", "user_agent"} {
		if _, ok := session[k]; !ok {
			t.Errorf("session JSON lacks %q: %s", k, b)
		}
	}
	if session["kind"] != "api" {
		t.Errorf("kind = %v, want \"api\"", session["kind"])
	}
	var back keycard.Info
	if err := json.Unmarshal(b[strings.Index(string(b), `"session":`)+10:len(b)-1], &back); err != nil || back.Kind != keycard.KindAPI || back.ID != creds.Session.ID {
		t.Fatalf("Info does not decode back: %+v, %v", back, err)
	}
	for _, bad := range []string{`"nonsense"`, `"revocation"`, `3`} {
		var k keycard.Kind
		if err := json.Unmarshal([]byte(bad), &k); err == nil {
			t.Errorf("Kind %s decoded", bad)
		}
	}

	tests := []struct {
		err    error
		status int
		code   string
	}{
		{keycard.ErrTokenInURL, 400, "token_in_url"},
		{keycard.ErrAmbiguousCredentials, 400, "ambiguous_credentials"},
		{keycard.ErrInvalidToken, 401, "invalid_token"},
		{keycard.ErrNoSession, 401, "no_session"},
		{keycard.ErrWrongKind, 403, "wrong_kind"},
		{keycard.ErrTooManySessions, 403, "too_many_sessions"},
		{keycard.ErrCSRF, 403, "csrf"},
		{keycard.ErrNotFound, 404, "not_found"},
		{keycard.ErrTooLarge, 413, "session_too_large"},
		{keycard.ErrRateLimited, 429, "rate_limited"},
		{storage.ErrConflict, 503, "session_conflict"},
		{errors.Join(keycard.ErrStoreUnavailable, errors.New("dial tcp 10.0.0.5:6379: connection refused")), 503, "store_unavailable"},
		{keycard.ErrNoMiddleware, 500, "internal"},
		{errors.New("secret cause"), 500, "internal"},
	}
	for _, tt := range tests {
		status, code, msg := keycard.ErrorStatus(tt.err)
		if status != tt.status || code != tt.code {
			t.Errorf("ErrorStatus(%v) = %d %q, want %d %q", tt.err, status, code, tt.status, tt.code)
		}
		if strings.Contains(msg, "secret") || strings.Contains(msg, "10.0.0.5") || strings.HasPrefix(msg, "keycard:") {
			t.Errorf("ErrorStatus(%v) message %q leaks the cause or the package prefix", tt.err, msg)
		}
		w := httptest.NewRecorder()
		keycard.WriteError(w, httptest.NewRequest("GET", "/", nil), tt.err)
		var body struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(w.Body.Bytes(), &body) != nil || w.Code != tt.status || body.Error.Code != tt.code || body.Error.Message != msg {
			t.Errorf("WriteError(%v) = %d %s", tt.err, w.Code, w.Body)
		}
	}
	// The invalid-token reasons metrics range over are the ones events carry.
	seen := map[keycard.Reason]bool{}
	for _, r := range keycard.InvalidTokenReasons() {
		if seen[r] || r == "" {
			t.Fatalf("InvalidTokenReasons repeats or has an empty reason: %v", keycard.InvalidTokenReasons())
		}
		seen[r] = true
	}
	forged, _ := storetest.NewToken()
	e.do(req{method: "GET", path: "/whoami", cookie: e.m.CookieName() + "=" + forged})
	e.do(req{method: "GET", path: "/whoami", cookie: e.m.CookieName() + "=x"})
	for _, r := range e.events.reasons(keycard.EventInvalidToken) {
		if !seen[keycard.Reason(r)] {
			t.Errorf("an invalid-token event carries %q, which InvalidTokenReasons does not list", r)
		}
	}
}

// TestCheckSealedCSRFFailsClosed: a Manager that is not in sealed mode has
// no sealed cookie to check, and refuses every state-changing request
// rather than wave it through.
func TestCheckSealedCSRFFailsClosed(t *testing.T) {
	e := newEnv(t, nil)
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		r := httptest.NewRequest(method, "/", nil)
		r.Header.Set(keycard.CSRFHeader, "anything")
		r.Header.Set("Cookie", e.login("alice"))
		if err := e.m.CheckSealedCSRF(r); !errors.Is(err, keycard.ErrCSRF) {
			t.Errorf("%s without sealed mode: %v, want ErrCSRF", method, err)
		}
	}
	if err := e.m.CheckSealedCSRF(httptest.NewRequest("GET", "/", nil)); err != nil {
		t.Errorf("GET: %v, want nil", err)
	}
}
