package csrf

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestValidateOrigin(t *testing.T) {
	tests := []struct {
		origin string
		ok     bool
	}{
		{"https://trusted.example", true},
		{"http://trusted.example", true},
		{"http://localhost:8080", true},
		{"https://[::1]:8443", true},
		{"https://192.0.2.1", true},
		{"https://xn--bcher-kva.example", true},

		{"", false},
		{"null", false},
		{"trusted.example", false},
		{"//trusted.example", false},
		{"https://trusted.example/", false},
		{"https://trusted.example/path", false},
		{"https://trusted.example?q=1", false},
		{"https://trusted.example#f", false},
		{"https://user@trusted.example", false},
		{"https://user:pw@trusted.example", false},
		{"HTTPS://trusted.example", false},
		{"https://Trusted.example", false},
		{"https://trusted.example:443", false},
		{"http://trusted.example:80", false},
		{"https://trusted.example:", false},
		{"https://trusted.example:0", false},
		{"https://trusted.example:08443", false},
		{"https://trusted.example:65536", false},
		{"https://trusted.example:https", false},
		{"https://*.trusted.example", false},
		{"https://[fe80::1%25eth0]", false},
		{"ftp://trusted.example", false},
		{"javascript:alert(1)", false},
		{"https://trusted.example ", false},
		{" https://trusted.example", false},
		{"https://trusted.example\n", false},
		{"https://bücher.example", false},
		{"https:trusted.example", false},
		{"https://", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			err := ValidateOrigin(tt.origin)
			if got := err == nil; got != tt.ok {
				t.Fatalf("ValidateOrigin(%q): got err %v, want ok=%v", tt.origin, err, tt.ok)
			}
			_, err = New(&Options{TrustedOrigins: []string{tt.origin}})
			if got := err == nil; got != tt.ok {
				t.Fatalf("New with %q: got err %v, want ok=%v", tt.origin, err, tt.ok)
			}
		})
	}
}

// TestTrustedOriginExact sends cross-site requests (with a valid token) from
// origins that resemble the trusted one; only the exact origin gets through.
func TestTrustedOriginExact(t *testing.T) {
	p := newProtector(t, &Options{TrustedOrigins: []string{"https://trusted.example", "http://localhost:8080"}})
	b := newBrowser()
	tok := b.fetchToken(t, p)

	tests := []struct {
		origin string
		want   int
	}{
		{"https://trusted.example", 200},
		{"http://localhost:8080", 200},

		{"http://trusted.example", 403},       // scheme differs
		{"https://trusted.example:8443", 403}, // port differs
		{"https://trusted.example:443", 403},  // browsers never send the default port
		{"https://trusted.example.evil", 403}, // suffix trick
		{"https://trusted.example.", 403},     // trailing dot
		{"https://eviltrusted.example", 403},  // prefix trick
		{"https://sub.trusted.example", 403},  // subdomain
		{"https://trusted.example/", 403},     // trailing slash
		{"https://trusted.example/path", 403}, // path
		{"https://TRUSTED.example", 403},      // uppercase
		{"HTTPS://trusted.example", 403},      // uppercase scheme
		{"https://trusted.example ", 403},     // trailing space
		{"https://user@trusted.example", 403}, // userinfo
		{"http://localhost:8081", 403},        // port differs
		{"http://localhost", 403},             // port missing
		{"null", 403},                         // opaque origin
		{"https://trusted.example, https://evil.example", 403},
	}
	for _, site := range []string{"cross-site", "same-site", ""} {
		for _, tt := range tests {
			t.Run(site+"/"+tt.origin, func(t *testing.T) {
				r := httptest.NewRequest("POST", "https://"+testHost+"/api", nil)
				if site != "" {
					r.Header.Set("Sec-Fetch-Site", site)
				}
				r.Header.Set("Origin", tt.origin)
				r.Header.Set("X-CSRF-Token", tok)
				b.attach(r)
				h := &okHandler{}
				if got := serve(p.Handler(h), r).Code; got != tt.want {
					t.Fatalf("status: got %d, want %d", got, tt.want)
				}
			})
		}
	}
}

// TestTrustedOriginStillNeedsToken: trust in an origin opens the first line
// only; the token is still required.
func TestTrustedOriginStillNeedsToken(t *testing.T) {
	p := newProtector(t, &Options{TrustedOrigins: []string{"https://trusted.example"}})
	b := newBrowser()
	b.fetchToken(t, p)
	r := httptest.NewRequest("POST", "https://"+testHost+"/api", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Origin", "https://trusted.example")
	b.attach(r)
	if got := serve(p.Handler(&okHandler{}), r).Code; got != 403 {
		t.Fatalf("status: got %d, want 403", got)
	}
}

func TestInsecureBypassPatterns(t *testing.T) {
	p := newProtector(t, &Options{InsecureBypassPatterns: []string{"POST /webhook/{id}"}})
	tests := []struct {
		method, path string
		want         int
	}{
		{"POST", "/webhook/42", 200},
		{"POST", "/webhook/42/", 403}, // not the pattern
		{"POST", "/webhook//42", 403}, // would be redirected, not matched
		{"POST", "/webhook/../login", 403},
		{"PUT", "/webhook/42", 403}, // other method
		{"POST", "/login", 403},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "https://"+testHost+"/", nil)
			r.URL.Path = tt.path
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			r.Header.Set("Origin", "https://evil.example")
			if got := serve(p.Handler(&okHandler{}), r).Code; got != tt.want {
				t.Fatalf("status: got %d, want %d", got, tt.want)
			}
		})
	}

	for _, bad := range []string{"POST /a/{", "/x", "/x"} {
		if _, err := New(&Options{InsecureBypassPatterns: []string{"/x", bad}}); err == nil {
			t.Errorf("New with bypass patterns %q: got nil error, want one", []string{"/x", bad})
		}
	}
}

func TestDenyHandlerAndReason(t *testing.T) {
	var got []error
	p := newProtector(t, &Options{DenyHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, FailureReason(r))
		http.Error(w, "nope", http.StatusTeapot)
	})})
	b := newBrowser()
	b.fetchToken(t, p) // the session has a secret

	cross := httptest.NewRequest("POST", "https://"+testHost+"/", nil)
	cross.Header.Set("Sec-Fetch-Site", "cross-site")
	missing := httptest.NewRequest("POST", "https://"+testHost+"/", nil)
	invalid := httptest.NewRequest("POST", "https://"+testHost+"/", nil)
	invalid.Header.Set("X-CSRF-Token", maskToken(NewSecret())) // another secret's
	b.attach(invalid)
	for _, r := range []*http.Request{cross, missing, invalid} {
		if code := serve(p.Handler(&okHandler{}), r).Code; code != http.StatusTeapot {
			t.Fatalf("status: got %d, want %d", code, http.StatusTeapot)
		}
	}
	want := []error{ErrCrossOrigin, ErrTokenMissing, ErrTokenInvalid}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("reasons: got %v, want %v", got, want)
		}
	}
	if FailureReason(httptest.NewRequest("GET", "/", nil)) != nil {
		t.Fatal("FailureReason of a plain request: got non-nil")
	}
}

// TestRejectionLog: the reason reaches the log, the token and the cookie never do.
func TestRejectionLog(t *testing.T) {
	var buf strings.Builder
	p := newProtector(t, &Options{Logger: newTextLogger(&buf)})
	b := newBrowser()
	tok := b.fetchToken(t, p)
	other := newBrowser()
	otherTok := other.fetchToken(t, p)

	r := httptest.NewRequest("POST", "https://"+testHost+"/transfer", nil)
	r.Header.Set("X-CSRF-Token", otherTok)
	b.attach(r)
	if code := serve(p.Handler(&okHandler{}), r).Code; code != 403 {
		t.Fatalf("status: got %d, want 403", code)
	}
	log := buf.String()
	for _, want := range []string{"csrf: request rejected", "csrf: token invalid", "/transfer"} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q: missing %q", log, want)
		}
	}
	for _, secret := range []string{tok, otherTok, b.cookies["__Host-csrf"], other.cookies["__Host-csrf"]} {
		if secret == "" || strings.Contains(log, secret) {
			t.Errorf("log contains a token or cookie value (or it was empty)")
		}
	}
}
