package jwt

import (
	"context"
	"errors"
	"time"

	"github.com/keycard-go/keycard"
)

// ErrNotAuthenticated means MintFromSession was asked for a token without a live,
// authenticated session.
var ErrNotAuthenticated = errors.New("jwt: no authenticated session")

// MintFromSession mints an access token for the request's Keycard session s
// (keycard.FromContext) and the service aud. It refuses anonymous and
// missing sessions, and sessions the store could not load. Only the subject,
// the session's public ID and its authentication time go into the token.
func (i *Issuer) MintFromSession(s *keycard.Session, aud string) (token string, expires time.Time, err error) {
	if s == nil {
		return "", time.Time{}, ErrNotAuthenticated
	}
	if err := s.Err(); err != nil {
		return "", time.Time{}, err
	}
	info, ok := s.Info()
	if !ok || info.Subject == "" || info.AuthenticatedAt.IsZero() {
		return "", time.Time{}, ErrNotAuthenticated
	}
	return i.Mint(Session{Subject: info.Subject, ID: info.ID, AuthTime: info.AuthenticatedAt, Generation: s.Generation()}, aud)
}

// Revocation returns a revocation check for VerifierOptions.Revocation that
// asks m whether the token's session is still active, so that a logout, a
// revocation or a sign-out-everywhere ends the session's access tokens at
// once rather than at their expiry. For a sealed session, which the server
// cannot see, it asks m.ActiveSealed with the token's sid, sub and sid_gen.
// A store failure is returned as an error (answer 503, not 401).
func Revocation(m *keycard.Manager) RevocationFunc {
	return func(ctx context.Context, c *Claims) (bool, error) {
		active, err := m.ActiveSealed(ctx, c.SessionID, c.Subject, c.Generation)
		return !active, err
	}
}
