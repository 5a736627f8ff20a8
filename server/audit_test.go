package server

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/keycard-go/keycard/internal/testlog"
)

// TestAuditLog: every security event is one JSON line with the session ID
// and a hashed subject; no line holds a token, a password or the subject.
func TestAuditLog(t *testing.T) {
	var audit testlog.Buffer
	ts := newTestServer(t, func(o *Options) { o.Audit = &audit })
	c := ts.login()
	ts.do("POST", "/v1/login", map[string]string{"username": testUser, "password": "wrong password!"})
	ts.do("GET", "/v1/session", nil, bearer(strings.Repeat("A", 43)))
	ts.do("POST", "/v1/admin/introspect", map[string]string{"token": c.Token}, bearer("kcadm_guess"))
	wantStatus(t, ts.do("DELETE", "/v1/session", nil, bearer(c.Token)), http.StatusNoContent, "")

	log := audit.String()
	for _, secret := range []string{c.Token, c.RefreshToken, testPassword, "wrong password!", testUser, testAdminKey} {
		if strings.Contains(log, secret) {
			t.Fatalf("the audit log holds a secret or the subject %q:\n%s", secret, log)
		}
	}
	events := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		events[line["event"].(string)] = line
	}
	want := ts.audit.subjectHash(testUser)
	for _, name := range []string{"created", "destroyed"} {
		e := events[name]
		if e == nil || e["session_id"] != c.Session.ID || e["subject_hash"] != want {
			t.Fatalf("event %s: %v\n%s", name, e, log)
		}
	}
	if e := events["login_failed"]; e == nil || e["reason"] != "wrong_password" || e["subject_hash"] != want {
		t.Fatalf("login_failed: %v", e)
	}
	if events["invalid-token"] == nil || events["admin_key_rejected"] == nil {
		t.Fatalf("missing security events:\n%s", log)
	}
}
