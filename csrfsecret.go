package keycard

import (
	"errors"
	"net/http"
)

// CSRFSecrets returns the store that keeps each session's CSRF secret in the
// session itself, for the csrf package (csrf.Options.Secrets). Its methods
// must run inside the Manager's middleware, so put the csrf middleware inside
// Handler: sessions.Handler(protector.Handler(app)).
//
// The secret lives in the session's Keycard-owned state, never in the
// application's values. It is forgotten at every Login, so a token obtained
// before login is worthless after it. An automatic renewal keeps it; Renew
// and SetRememberMe, like Login, forget it. Saving a secret on a request
// without a session starts an anonymous one, since a login form needs a
// token before anyone has logged in.
func (m *Manager) CSRFSecrets() *CSRFSecrets { return &CSRFSecrets{m: m} }

// CSRFSecrets implements the csrf package's SecretStore on Keycard sessions.
// It is safe for concurrent use.
type CSRFSecrets struct{ m *Manager }

var errOutsideMiddleware = errors.New("keycard: CSRF secrets used outside the Manager's middleware")

// LoadSecret returns the CSRF secret of r's session, nil when it has none.
// previous is always nil: secrets change only at privilege changes, where the
// old one must stop working at once.
func (c *CSRFSecrets) LoadSecret(r *http.Request) (current, previous []byte, err error) {
	s := FromContext(r.Context())
	if s == nil || s.m != c.m {
		return nil, nil, errOutsideMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.err != nil {
		return nil, nil, s.err
	}
	if s.csrf != nil {
		return s.csrf, nil, nil
	}
	if s.rec == nil || s.renew {
		return nil, nil, nil // no session, or a login/step-up pending: no secret
	}
	return readMeta(s.rec).CSRF, nil, nil
}

// SaveSecret binds secret to r's session, starting one if needed.
func (c *CSRFSecrets) SaveSecret(_ http.ResponseWriter, r *http.Request, secret []byte) error {
	s := FromContext(r.Context())
	if s == nil || s.m != c.m {
		return errOutsideMiddleware
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	s.csrf = append([]byte(nil), secret...)
	if s.rec == nil && s.changes == nil {
		s.changes = changes{} // start an anonymous session
	}
	return nil
}
