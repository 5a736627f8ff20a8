// Package csrf protects state-changing HTTP requests against cross-site
// request forgery with two independent lines of defence.
//
// The first line is the standard library's http.CrossOriginProtection: a
// browser request whose Sec-Fetch-Site header says "same-site" or "cross-site",
// or (from browsers too old to send Sec-Fetch-Site) whose Origin does not
// match the Host, is rejected unless its Origin is one of the exactly
// configured trusted origins.
//
// The second line is a synchronizer token bound to the session: every
// POST, PUT, PATCH, DELETE (any method but GET, HEAD and OPTIONS) must carry a
// token in the X-CSRF-Token header or the csrf_token form field that was
// derived from the session's secret.
//
// A short complete program:
//
//	protect, err := csrf.Protect(nil) // secrets in a __Host- cookie
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
//		loginPage.Execute(w, map[string]any{"CSRF": csrf.TemplateField(r)})
//	})
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		// ... check the password, then:
//		if err := csrf.Rotate(r); err != nil { // tokens of the anonymous visitor die here
//			http.Error(w, "internal error", 500)
//			return
//		}
//		http.Redirect(w, r, "/", http.StatusSeeOther)
//	})
//	log.Fatal(http.ListenAndServeTLS(":443", "cert.pem", "key.pem", protect(mux)))
//
// # Security model
//
// GET, HEAD and OPTIONS are never checked, so they must never change state:
// a link or an image on another site can always trigger them.
//
// A cross-site page can make the browser send requests with the user's
// cookies but can neither read the responses nor set the Sec-Fetch-Site and
// Origin headers. The first line stops those requests outright. Requests that
// carry neither header come from non-browser clients (which send no ambient
// cookies unless told to) or from very old browsers; they pass the first line
// and are stopped by the second unless they carry a valid token.
//
// The token is secret material of the session: a per-session secret of 32
// random bytes never leaves the server (or, with CookieStore, an HttpOnly
// cookie). Pages receive a masked token: a fresh 32-byte one-time pad and the
// secret XOR that pad, so the text differs on every response and a
// compression side channel (BREACH) cannot recover it. Tokens are compared in
// constant time. Every rejection gets the same 403 with a generic body; the
// reason (ErrCrossOrigin, ErrTokenMissing, ErrTokenInvalid) is logged through
// log/slog and offered to a DenyHandler by FailureReason. Tokens, secrets and
// cookie values are never logged.
//
// # Login CSRF and anonymous visitors
//
// Requests from visitors who have not logged in are checked like any other:
// Token creates a secret for the anonymous visitor, so the login form carries
// a token and a forged login from another site (which would sign the victim
// in to the attacker's account) is rejected. Rotate at login (Keycard's
// session layer does it for you) so that the anonymous visitor's tokens stop
// working once somebody has signed in.
//
// # Where secrets live
//
// A SecretStore keeps the secret. With Keycard sessions the session layer
// implements it and the secret lives in the session record, rotated with the
// session token at login and renewal. Without Keycard, the default
// CookieStore keeps it in a "__Host-csrf" cookie (Secure, HttpOnly,
// SameSite=Lax); the __Host- prefix keeps sibling subdomains from planting a
// secret of their choosing.
//
// # Trusted origins and exemptions
//
// Options.TrustedOrigins lets named origins send cross-origin requests; they
// are exact "scheme://host[:port]" strings, compared byte for byte with the
// Origin header ("http://a.example" does not trust "https://a.example", nor
// "https://a.example.evil"). Requests from them still need a token. The only
// way to skip the checks is Options.InsecureBypassPatterns, for endpoints that
// authenticate requests some other way; declare them next to their routes.
//
// # Forms, scripts and uploads
//
// The header is looked at first, then the form field of an
// application/x-www-form-urlencoded or multipart/form-data body; URL query
// parameters are never read. Uploads parse the whole multipart body before
// the check, so scripts that upload large files should send the header.
// Call Token or TemplateField before the response body is written: they may
// set a cookie and they set "Cache-Control: no-store".
package csrf
