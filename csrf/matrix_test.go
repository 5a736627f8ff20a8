package csrf

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The CSRF matrix: every combination of Sec-Fetch-Site, Origin and method.
//
// The rule each row is checked against (it restates what
// http.CrossOriginProtection does, and the test checks that it does):
//
//  1. GET, HEAD and OPTIONS are always allowed (and never checked for a token).
//  2. Otherwise Sec-Fetch-Site decides when present: "same-origin" and "none"
//     (a user-initiated navigation) are allowed; "same-site" and "cross-site"
//     are rejected (no origin is trusted in this matrix).
//  3. Without Sec-Fetch-Site, Origin decides: absent (non-browser client or an
//     old browser's same-origin request) or equal to the Host is allowed;
//     another origin or "null" (sandboxed frame, privacy redirect) is rejected.
//  4. A request allowed by the first line still needs a valid token (second
//     line): with one it reaches the handler, without one it gets 403.
func TestMatrix(t *testing.T) {
	sites := []string{"same-origin", "same-site", "cross-site", "none", ""}
	origins := []struct{ name, value string }{
		{"same", "https://" + testHost},
		{"other", "https://evil.example"},
		{"null", "null"},
		{"absent", ""},
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}

	firstLine := func(method, site, origin string) bool {
		switch {
		case method == "GET" || method == "HEAD" || method == "OPTIONS":
			return true
		case site == "same-origin" || site == "none":
			return true
		case site == "same-site" || site == "cross-site":
			return false
		}
		return origin == "absent" || origin == "same"
	}

	p := newProtector(t, nil)
	b := newBrowser()
	tok := b.fetchToken(t, p)
	cop := http.NewCrossOriginProtection()

	rows := 0
	for _, site := range sites {
		for _, o := range origins {
			for _, m := range methods {
				rows++
				siteName := site
				if siteName == "" {
					siteName = "absent"
				}
				t.Run(siteName+"/"+o.name+"/"+m, func(t *testing.T) {
					newReq := func(withToken bool) *http.Request {
						r := httptest.NewRequest(m, "https://"+testHost+"/submit", nil)
						if site != "" {
							r.Header.Set("Sec-Fetch-Site", site)
						}
						if o.value != "" {
							r.Header.Set("Origin", o.value)
						}
						b.attach(r)
						if withToken {
							r.Header.Set("X-CSRF-Token", tok)
						}
						return r
					}
					safe := safeMethod(m)
					want := firstLine(m, site, o.name)

					// The rule is what the standard library does.
					if got := cop.Check(newReq(false)) == nil; got != want {
						t.Fatalf("CrossOriginProtection allows: got %v, want %v (the rule is wrong)", got, want)
					}

					for _, withToken := range []bool{true, false} {
						h := &okHandler{}
						w := serve(p.Handler(h), newReq(withToken))
						allowed := want && (safe || withToken)
						wantStatus := http.StatusForbidden
						if allowed {
							wantStatus = http.StatusOK
						}
						if w.Code != wantStatus {
							t.Errorf("token=%v: status: got %d, want %d", withToken, w.Code, wantStatus)
						}
						if got := h.calls == 1; got != allowed {
							t.Errorf("token=%v: handler called: got %v, want %v", withToken, got, allowed)
						}
						if !allowed && w.Body.String() != "Forbidden\n" {
							t.Errorf("token=%v: body: got %q, want the generic %q", withToken, w.Body.String(), "Forbidden\n")
						}
					}
				})
			}
		}
	}
	if rows != 140 {
		t.Fatalf("rows: got %d, want 140", rows)
	}
}
