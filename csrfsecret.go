package keycard

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"github.com/keycard-go/keycard/internal/cookiehdr"
)

// CSRFSecrets returns the store that keeps each session's CSRF secret in the
// session itself, for the csrf package (csrf.Options.Secrets). Its methods
// must run inside the Manager's middleware, so put the csrf middleware inside
// Handler: sessions.Handler(protector.Handler(app)).
//
// The secret lives in the session's Keycard-owned state, never in the
// application's values. It is forgotten at every Login, Renew and
// SetRememberMe, so a token obtained before them is worthless after, and a
// token obtained after them in the same request (a page rendered by the
// login handler) is bound to the secret the session keeps. An automatic
// renewal keeps it.
//
// A visitor without a session (a login form) gets a secret of its own, in a
// cookie named after the session cookie with "-csrf-anon" appended
// ("__Host-keycard-csrf-anon"), HttpOnly with the session cookie's other
// attributes and a Max-Age of the idle timeout. No session is created and
// the store is not written, so crawlers and bots fetching forms cost
// nothing and cannot fill the store. The secret is random and its cookie
// carries nothing else: a server-side key would add nothing, because
// whoever can plant a cookie in the victim's browser (prevented by the
// __Host- prefix) could plant a pair it obtained honestly. The login
// forgets it, and its cookie is expired by the login's response. An
// anonymous session that exists (values were put) keeps its secret in the
// session, and a page rendered before it existed keeps working.
func (m *Manager) CSRFSecrets() *CSRFSecrets { return &CSRFSecrets{m: m} }

// CSRFSecrets implements the csrf package's SecretStore on Keycard sessions.
// It is safe for concurrent use.
type CSRFSecrets struct{ m *Manager }

var errOutsideMiddleware = errors.New("keycard: CSRF secrets used outside the Manager's middleware")

// csrfSecretLen is the length of a CSRF secret (csrf.SecretLen).
const csrfSecretLen = 32

// LoadSecret returns the CSRF secret of r's session, nil when it has none.
// previous is always nil: secrets change only at privilege changes, where the
// old one must stop working at once.
func (c *CSRFSecrets) LoadSecret(r *http.Request) (current, previous []byte, err error) {
	s := FromContext(r.Context())
	if s.m != c.m {
		return nil, nil, errOutsideMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.got.err != nil {
		return nil, nil, s.got.err
	}
	switch rec := s.got.rec; {
	case s.p.csrf != nil:
		return s.p.csrf, nil, nil
	case s.p.renew:
		return nil, nil, nil // a login or step-up pending: no secret until one is saved
	case rec != nil:
		if sec := readMeta(rec).CSRF; sec != nil || rec.Subject != "" {
			return sec, nil, nil
		}
	}
	return s.anonCSRF(), nil, nil
}

// SaveSecret binds secret to r's session, or, for a visitor without a
// session, to the anonymous CSRF cookie.
func (c *CSRFSecrets) SaveSecret(_ http.ResponseWriter, r *http.Request, secret []byte) error {
	s := FromContext(r.Context())
	if s.m != c.m {
		return errOutsideMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	s.p.csrf = append([]byte(nil), secret...)
	return nil
}

// anonCSRFName is the name of the cookie that holds the CSRF secret of a
// visitor without a session.
func (m *Manager) anonCSRFName() string { return m.cfg.cookieName + "-csrf-anon" }

// anonCSRF returns the secret of the request's anonymous CSRF cookie, nil
// when there is none (or several: a sign of cookie tossing). s.mu is held.
func (s *Session) anonCSRF() []byte {
	var value string
	n := 0
	for v := range cookiehdr.Values(s.r.Header["Cookie"], s.m.anonCSRFName()) {
		value, n = v, n+1
	}
	if n != 1 || len(value) != base64.RawURLEncoding.EncodedLen(csrfSecretLen) {
		return nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil || len(b) != csrfSecretLen {
		return nil
	}
	return b
}

// anonCSRFCookie returns the Set-Cookie value for the anonymous CSRF cookie
// holding secret, or expiring it when secret is nil.
func (m *Manager) anonCSRFCookie(secret []byte) string {
	if secret == nil {
		return m.anonCSRFName() + "=" + m.cfg.cookieAttrs + "; Max-Age=0"
	}
	return m.anonCSRFName() + "=" + base64.RawURLEncoding.EncodeToString(secret) + m.cfg.cookieAttrs +
		"; Max-Age=" + strconv.FormatInt(int64(m.cfg.idle.Seconds()), 10)
}
