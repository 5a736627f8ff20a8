package api_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keycard-go/keycard/api"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec)
	if err != nil {
		t.Fatalf("loading openapi.yaml: %v", err)
	}
	return doc
}

// TestSpecValid checks the document against OpenAPI 3.1 with kin-openapi,
// which validates a 3.1 document's schemas and examples as JSON Schema
// 2020-12.
func TestSpecValid(t *testing.T) {
	doc := load(t)
	if got, want := doc.OpenAPI, "3.1.0"; got != want {
		t.Fatalf("openapi = %q, want %q", got, want)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatal("kin-openapi does not treat the document as OpenAPI 3.1")
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("openapi.yaml is not valid:\n%v", err)
	}
}

// TestSpecChecksExamples makes sure that Validate really checks the
// examples of request and response bodies against their schemas, so that
// TestSpecValid means something for them: each hostile example must be
// refused.
func TestSpecChecksExamples(t *testing.T) {
	session := map[string]any{"id": "6ilPssHv5Amwzz_NM0p-jA", "subject": "a", "kind": "api",
		"created_at": "2025-06-02T09:14:03Z", "last_seen_at": "2025-06-02T09:14:03Z",
		"idle_expires_at": "2025-06-02T09:44:03Z", "expires_at": "2025-06-02T21:14:03Z"}
	with := func(k string, v any) map[string]any {
		m := maps.Clone(session)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name, method, path, status string // status "" means the request body
		value                      any
	}{
		{"login: unknown field", "POST", "/v1/login", "", map[string]any{"username": "alice", "password": "pw", "admin": true}},
		{"login: password missing", "POST", "/v1/login", "", map[string]any{"username": "alice"}},
		{"login: username not a string", "POST", "/v1/login", "", map[string]any{"username": 1, "password": "pw"}},
		{"login: not an object", "POST", "/v1/login", "", []any{"alice", "pw"}},
		{"error: extra member", "POST", "/v1/login", "401", map[string]any{"error": map[string]any{"code": "x", "message": "y", "cause": "z"}}},
		{"error: message missing", "POST", "/v1/login", "401", map[string]any{"error": map[string]any{"code": "x"}}},
		{"error: code not a string", "POST", "/v1/login", "401", map[string]any{"error": map[string]any{"code": 401, "message": "y"}}},
		{"session: kind unknown", "GET", "/v1/session", "200", with("kind", "revocation")},
		{"session: id missing", "GET", "/v1/session", "200", with("id", nil)},
		{"session: id of a token's length", "GET", "/v1/session", "200", with("id", "xorYJbxKWlxweuUl9zjQX3votMSX-tMA_3TUqOeZ5uM")},
		{"devices: current missing", "GET", "/v1/session/devices", "200", map[string]any{"devices": []any{session}}},
		{"credentials: refresh token missing", "POST", "/v1/login", "201", map[string]any{"token": "xorYJbxKWlxweuUl9zjQX3votMSX-tMA_3TUqOeZ5uM", "session": session}},
		{"credentials: token too short", "POST", "/v1/login", "201", map[string]any{"token": "abc",
			"refresh_token": "kr1.6ilPssHv5Amwzz_NM0p-jA.CHqptePRKp9GAnweaCKgI7_b7L_BIpvQVZbltKtm99E", "session": session}},
		{"introspection: inactive with a session", "POST", "/v1/admin/introspect", "200", map[string]any{"active": false, "session": session}},
		{"introspection: active without a session", "POST", "/v1/admin/introspect", "200", map[string]any{"active": true}},
		{"admin session: no subject", "POST", "/v1/admin/sessions", "", map[string]any{"kind": "api"}},
		{"admin session: kind unknown", "POST", "/v1/admin/sessions", "", map[string]any{"subject": "a", "kind": "revocation"}},
		{"admin session: data not an object", "POST", "/v1/admin/sessions", "", map[string]any{"subject": "a", "data": "x"}},
		{"jwt: token_type not Bearer", "POST", "/v1/session/jwt", "200", map[string]any{"access_token": "x", "token_type": "DPoP", "expires_in": 60}},
		{"jwt: expires_in beyond the longest lifetime", "POST", "/v1/session/jwt", "200", map[string]any{"access_token": "x", "token_type": "Bearer", "expires_in": 3600}},
		{"revoked: negative", "DELETE", "/v1/session/devices", "200", map[string]any{"revoked": -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := load(t)
			op := doc.Paths.Find(tt.path).GetOperation(tt.method)
			var content openapi3.Content
			if tt.status == "" {
				content = op.RequestBody.Value.Content
			} else {
				content = op.Responses.Status(mustAtoi(t, tt.status)).Value.Content
			}
			mt := content.Get("application/json")
			mt.Examples = openapi3.Examples{"hostile": {Value: openapi3.NewExample(tt.value)}}
			if err := doc.Validate(context.Background()); err == nil {
				t.Errorf("Validate accepted %v for %s %s %s", tt.value, tt.method, tt.path, tt.status)
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSchemaExamples checks the examples of the component schemas, which
// Validate leaves alone, as JSON Schema 2020-12.
func TestSchemaExamples(t *testing.T) {
	doc := load(t)
	for name, ref := range doc.Components.Schemas {
		for _, ex := range ref.Value.Examples {
			if err := ref.Value.VisitJSON(ex, openapi3.EnableJSONSchema2020()); err != nil {
				t.Errorf("schema %s: example %v: %v", name, ex, err)
			}
		}
	}
}

// TestSpecPaths checks that the document has exactly the endpoints of
// `keycard serve`, each with its methods, and nothing else.
func TestSpecPaths(t *testing.T) {
	want := map[string][]string{
		"/v1/login":                             {"POST"},
		"/v1/session":                           {"DELETE", "GET"},
		"/v1/session/refresh":                   {"POST"},
		"/v1/session/devices":                   {"DELETE", "GET"},
		"/v1/session/devices/{id}":              {"DELETE"},
		"/v1/session/jwt":                       {"POST"},
		"/v1/admin/sessions":                    {"POST"},
		"/v1/admin/introspect":                  {"POST"},
		"/v1/admin/subjects/{subject}/sessions": {"DELETE", "GET"},
		"/v1/admin/sessions/{id}":               {"DELETE"},
		"/v1/auth":                              {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"},
		"/.well-known/jwks.json":                {"GET"},
		"/healthz":                              {"GET"},
		"/readyz":                               {"GET"},
		"/metrics":                              {"GET"},
		"/openapi.yaml":                         {"GET"},
	}
	doc := load(t)
	for path, item := range doc.Paths.Map() {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected path %s", path)
			continue
		}
		var got []string
		for m := range item.Operations() {
			got = append(got, m)
		}
		slices.Sort(got)
		if !slices.Equal(got, want[path]) {
			t.Errorf("%s: methods %v, want %v", path, got, want[path])
		}
	}
	for path := range want {
		if doc.Paths.Find(path) == nil {
			t.Errorf("missing path %s", path)
		}
	}
}

// TestSpecConventions checks the rules every operation follows: an
// operationId, an explicit security requirement, an example for every
// request and response body, the Error schema on every error answer,
// additionalProperties false on request bodies, Retry-After on 429 and
// 503, and WWW-Authenticate on the admin API's 401.
func TestSpecConventions(t *testing.T) {
	doc := load(t)
	errSchema := doc.Components.Schemas["Error"].Value
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", where)
			}
			if op.Security == nil {
				t.Errorf("%s: no security requirement (use [] for none)", where)
			}
			if rb := op.RequestBody; rb != nil {
				mt := rb.Value.Content.Get("application/json")
				if mt == nil {
					t.Errorf("%s: request body is not application/json", where)
				} else {
					if len(mt.Examples) == 0 && mt.Example == nil {
						t.Errorf("%s: request body has no example", where)
					}
					if ap := mt.Schema.Value.AdditionalProperties; ap.Has == nil || *ap.Has {
						t.Errorf("%s: request body allows additional properties", where)
					}
				}
			}
			for status, resp := range op.Responses.Map() {
				where := where + " " + status
				for ct, mt := range resp.Value.Content {
					if len(mt.Examples) == 0 && mt.Example == nil {
						t.Errorf("%s %s: no example", where, ct)
					}
				}
				if status[0] != '4' && status[0] != '5' && status != "default" {
					continue
				}
				mt := resp.Value.Content.Get("application/json")
				if mt == nil || mt.Schema.Value != errSchema {
					t.Errorf("%s: error answer is not the Error schema", where)
				}
				if (status == "429" || status == "503") && resp.Value.Headers["Retry-After"] == nil {
					t.Errorf("%s: no Retry-After header", where)
				}
				if status == "401" && strings.HasPrefix(path, "/v1/admin/") && resp.Value.Headers["WWW-Authenticate"] == nil {
					t.Errorf("%s: no WWW-Authenticate header", where)
				}
			}
		}
	}
}
