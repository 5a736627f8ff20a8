package csrf

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"slices"

	"github.com/keycard-go/keycard/internal/cookiehdr"
)

// SecretStore keeps the per-session CSRF secret. The session layer implements
// it (Keycard's Manager keeps the secret in the session record); CookieStore is
// a self-contained implementation for applications without server-side sessions.
//
// Contract for implementers:
//
//   - LoadSecret returns the secret bound to the session of r, or a nil current
//     secret when there is none yet (an anonymous visitor, or a session whose
//     secret was dropped at login). It must not create anything. It is called
//     whenever a token is issued or checked, and must answer for the session
//     as this request will leave it: after a SaveSecret earlier in the same
//     request, the saved secret; after a login in the same request that drops
//     the secret, none. previous is a
//     secret that was replaced by a renewal and is still inside its grace
//     window; it is nil otherwise and always nil after a login or any other
//     privilege change. Secrets are SecretLen bytes; any other length is
//     treated as absent.
//   - SaveSecret binds secret to the session of r, replacing the current one
//     (and forgetting any previous one). It is called before the response body
//     is written, so it may set a cookie on w; it may create an anonymous
//     session, since a login form needs a secret before anyone has logged in.
//   - The secret must be forgotten or replaced whenever the session's token is
//     rotated for a login, re-authentication or privilege change, so that a
//     token issued before the login stops working (login CSRF, fixation).
//   - Secrets never appear in errors or logs. A SecretStore is called from many
//     requests at once and must be safe for concurrent use.
type SecretStore interface {
	LoadSecret(r *http.Request) (current, previous []byte, err error)
	SaveSecret(w http.ResponseWriter, r *http.Request, secret []byte) error
}

// CookieStore is a SecretStore that keeps the secret in its own cookie, for
// applications that have no server-side session (and for tests). The cookie is
// named "__Host-csrf" by default and is Secure, HttpOnly, SameSite=Lax, Path=/,
// without Domain and without Max-Age (it ends with the browser session).
//
// Security model: the secret is bound to the browser, not to a login. The
// "__Host-" prefix stops a sibling subdomain or a plain-HTTP man in the middle
// from planting a secret of its choosing (cookie tossing), and HttpOnly keeps
// page scripts from reading it. Call Rotate at login so that a token issued to
// the anonymous visitor stops working once somebody signs in.
//
// The zero value is ready to use and safe for concurrent use.
type CookieStore struct {
	// Name is the cookie name. Default "__Host-csrf", or "csrf" when
	// InsecureAllowHTTP is set (browsers refuse "__Host-" cookies without Secure).
	Name string

	// InsecureAllowHTTP drops the Secure attribute and the "__Host-" prefix so
	// that the cookie works over plain HTTP during development. Not secure: a
	// network attacker or a sibling subdomain can then read or plant the secret.
	InsecureAllowHTTP bool
}

func (c *CookieStore) name() string {
	switch {
	case c.Name != "":
		return c.Name
	case c.InsecureAllowHTTP:
		return "csrf"
	}
	return "__Host-csrf"
}

// LoadSecret implements SecretStore. A missing, malformed or duplicated cookie
// (two cookies of the same name: a sign of cookie tossing) counts as no secret.
func (c *CookieStore) LoadSecret(r *http.Request) (current, previous []byte, err error) {
	// A secret saved earlier in this request is on the response, not in
	// the request's cookie.
	if st, _ := r.Context().Value(stateKey{}).(*requestState); st != nil {
		if saved := st.saved.Load(); saved != nil {
			return bytes.Clone(*saved), nil, nil
		}
	}
	v, ok := singleCookie(r.Header["Cookie"], c.name())
	if !ok || len(v) != base64.RawURLEncoding.EncodedLen(SecretLen) {
		return nil, nil, nil
	}
	b := make([]byte, SecretLen)
	if !decodeSecret(v, b) {
		return nil, nil, nil
	}
	return b, nil, nil
}

// singleCookie returns the value of the cookie called name in the Cookie
// header lines, and false when there is none or more than one.
func singleCookie(lines []string, name string) (string, bool) {
	value, found := "", false
	for v := range cookiehdr.Values(lines, name) {
		if found {
			return "", false
		}
		value, found = v, true
	}
	return value, found
}

// decodeSecret decodes the canonical unpadded base64url text of a secret into
// b without allocating.
func decodeSecret(s string, b []byte) bool {
	var buf [64]byte
	if len(s) > len(buf) {
		return false
	}
	n := copy(buf[:], s)
	m, err := strictBase64.Decode(b, buf[:n])
	return err == nil && m == len(b)
}

// SaveSecret implements SecretStore by setting the cookie on w.
func (c *CookieStore) SaveSecret(w http.ResponseWriter, r *http.Request, secret []byte) error {
	http.SetCookie(w, &http.Cookie{
		Name:     c.name(),
		Value:    base64.RawURLEncoding.EncodeToString(secret),
		Path:     "/",
		Secure:   !c.InsecureAllowHTTP,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	// The response now depends on the cookie; shared caches must not keep it.
	if !slices.Contains(w.Header().Values("Vary"), "Cookie") {
		w.Header().Add("Vary", "Cookie")
	}
	return nil
}

// strictBase64 rejects non-canonical encodings (stray bits in the last character).
var strictBase64 = base64.RawURLEncoding.Strict()
