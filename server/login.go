package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/guard"
	"github.com/keycard-go/keycard/storage"
)

var errNoUsers = &apiError{http.StatusNotImplemented, "no_users", "this store keeps no local users: create sessions through the admin API"}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// login is POST /v1/login: a local user's name and password exchanged
// once for an API session (token and refresh token).
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return badRequest("username and password are required")
	}
	if len(req.Username) > MaxUserNameLen || len(req.Password) > MaxPasswordLen {
		return errInvalidCredentials // no user has such a name or password
	}
	subject, err := s.authenticate(w, r, req.Username, req.Password)
	if err != nil {
		return err
	}
	cred, err := s.issueFor(r, subject, keycard.KindAPI)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cred)
	return nil
}

// authenticate checks a local user's password and returns the subject of
// their sessions. Unknown users, wrong passwords and disabled users get
// one answer (errInvalidCredentials) after comparable work: unknown users
// are checked against a dummy hash. Attempts are limited per account and
// per client network; a success gives its tokens back. A 429 says when to
// retry.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, name, password string) (string, error) {
	if s.users == nil {
		return "", errNoUsers
	}
	now := s.now()
	network := guard.Network(s.clientIP(r))
	if ok, wait := s.networkLim.Take(network, now); !ok {
		return "", s.limited(w, r, name, wait)
	}
	if ok, wait := s.accountLim.Take(name, now); !ok {
		s.networkLim.Refund(network, now)
		return "", s.limited(w, r, name, wait)
	}
	u, err := s.users.GetUser(r.Context(), name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		u = nil
	case err != nil:
		return "", storeErr(err)
	}
	hash := dummyHash()
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := s.checkPassword(r.Context(), hash, password)
	if err != nil {
		return "", err
	}
	reason := ""
	switch {
	case u == nil:
		reason = "unknown_user"
	case !ok:
		reason = "wrong_password"
	case u.Disabled:
		reason = "disabled"
	}
	if reason != "" {
		s.audit.refused(r, "login_failed", name, reason)
		return "", errInvalidCredentials
	}
	s.accountLim.Refund(name, now)
	s.networkLim.Refund(network, now)
	return u.Name, nil
}

func (s *Server) limited(w http.ResponseWriter, r *http.Request, name string, wait time.Duration) error {
	s.audit.refused(r, "login_failed", name, "rate_limited")
	setRetryAfter(w, wait)
	return errLoginLimited
}

// setRetryAfter sets Retry-After to wait, rounded up to whole seconds.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
}

// checkPassword runs checkPassword with at most GOMAXPROCS hashes at once,
// giving up when the client does.
func (s *Server) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	return checkPassword(hash, password), nil
}

// issueFor creates a session of kind for the local user subject, then
// reads the user again: a user disabled, or given a new password, while
// the password was being checked has the new session ended at once, so a
// login racing `keycard users disable` never outlives it.
func (s *Server) issueFor(r *http.Request, subject string, kind keycard.Kind) (keycard.Credentials, error) {
	ctx := r.Context()
	before, err := s.users.GetUser(ctx, subject)
	if errors.Is(err, storage.ErrNotFound) {
		return keycard.Credentials{}, errInvalidCredentials
	}
	if err != nil {
		return keycard.Credentials{}, storeErr(err)
	}
	cred, err := s.m.Issue(ctx, keycard.IssueOptions{
		Subject:   subject,
		Kind:      kind,
		IP:        s.clientIP(r).String(),
		UserAgent: r.UserAgent(),
		Request:   r,
	})
	if err != nil {
		return keycard.Credentials{}, err
	}
	after, err := s.users.GetUser(ctx, subject)
	if err == nil && !after.Disabled && after.Version == before.Version && !before.Disabled {
		return cred, nil
	}
	if rerr := s.m.Revoke(ctx, cred.Session.ID); rerr != nil && !errors.Is(rerr, keycard.ErrNotFound) {
		return keycard.Credentials{}, rerr
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return keycard.Credentials{}, storeErr(err)
	}
	return keycard.Credentials{}, errInvalidCredentials
}

// storeErr marks a failed user lookup as a store outage (503), the way
// the Manager reports its own store failures. A cancelled request stays
// what it is.
func storeErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %v", keycard.ErrStoreUnavailable, err)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refresh is POST /v1/session/refresh. Invalid refresh tokens count
// against the client network like invalid session tokens do.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return badRequest("refresh_token is required")
	}
	if ok, wait := s.guard.Allow(r); !ok {
		setRetryAfter(w, wait)
		return keycard.ErrRateLimited
	}
	cred, err := s.m.Refresh(r.Context(), req.RefreshToken)
	if errors.Is(err, keycard.ErrInvalidToken) {
		s.guard.Invalid(r)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cred)
	return nil
}
