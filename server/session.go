package server

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keycard-go/keycard"
)

var (
	errReauth        = &apiError{http.StatusForbidden, "reauth_required", "the session's client changed: log in again"}
	errInvalidBearer = &apiError{http.StatusUnauthorized, "invalid_token", "invalid session token"}
)

// current returns the request's authenticated session, or the error for a
// request without one: invalid_token when a credential was presented and
// did not open a session (unknown, expired, logged out, of the other kind),
// no_session when none was presented. Sessions whose client changed must
// log in again.
func (s *Server) current(r *http.Request) (*keycard.Session, error) {
	sess := keycard.FromContext(r.Context())
	if err := sess.Err(); err != nil {
		return nil, err
	}
	if !sess.IsAuthenticated() {
		if s.presentsCredential(r) {
			return nil, errInvalidBearer
		}
		return nil, errNotAuthenticated
	}
	if sess.NeedsReauth() {
		return nil, errReauth
	}
	return sess, nil
}

func (s *Server) presentsCredential(r *http.Request) bool {
	if scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return true
	}
	_, err := r.Cookie(s.m.CookieName())
	return err == nil
}

// whoami is GET /v1/session.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.current(r)
	if err != nil {
		return err
	}
	info, _ := sess.Info()
	writeJSON(w, http.StatusOK, info)
	return nil
}

// logout is DELETE /v1/session. A session asked to re-authenticate may
// still log out.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.current(r)
	if err == errReauth {
		sess, err = keycard.FromContext(r.Context()), nil
	}
	if err != nil {
		return err
	}
	if err := sess.Logout(); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// device is a session in the device list: its Info and whether it is the
// session asking.
type device struct {
	keycard.Info
	Current bool `json:"current"`
}

// devicesOf lists the live sessions of sess's subject, most recently seen
// first, the asking one marked.
func (s *Server) devicesOf(r *http.Request, sess *keycard.Session) ([]device, error) {
	infos, err := s.m.List(r.Context(), sess.Subject())
	if err != nil {
		return nil, err
	}
	out := make([]device, 0, len(infos)+1)
	seenCurrent := false
	for _, in := range infos {
		cur := in.ID == sess.ID()
		seenCurrent = seenCurrent || cur
		out = append(out, device{Info: in, Current: cur})
	}
	if !seenCurrent { // a sealed session is not in the store's list
		if in, ok := sess.Info(); ok {
			out = append(out, device{Info: in, Current: true})
		}
	}
	slices.SortFunc(out, func(a, b device) int {
		if c := b.LastSeenAt.Compare(a.LastSeenAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// devices is GET /v1/session/devices.
func (s *Server) devices(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.current(r)
	if err != nil {
		return err
	}
	ds, err := s.devicesOf(r, sess)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": ds})
	return nil
}

// revokeDevice is DELETE /v1/session/devices/{id}: one of the subject's
// own sessions (another subject's ID is 404, as if it did not exist).
// Revoking the asking session is a logout.
func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.current(r)
	if err != nil {
		return err
	}
	if err := s.signOutDevice(r, sess, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signOutDevice ends the session id of sess's subject.
func (s *Server) signOutDevice(r *http.Request, sess *keycard.Session, id string) error {
	if id == sess.ID() {
		return sess.Logout()
	}
	infos, err := s.m.List(r.Context(), sess.Subject())
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(infos, func(in keycard.Info) bool { return in.ID == id }) {
		return errNoSuchSession
	}
	return s.m.Revoke(r.Context(), id)
}

// revokeOtherDevices is DELETE /v1/session/devices: "sign out everywhere
// else".
func (s *Server) revokeOtherDevices(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.current(r)
	if err != nil {
		return err
	}
	n, err := s.m.RevokeAll(r.Context(), sess.Subject(), sess.ID())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}

type jwtRequest struct {
	Audience string `json:"audience"`
}

// mintJWT is POST /v1/session/jwt: a short-lived access token for another
// service (audience), verifiable with /.well-known/jwks.json.
func (s *Server) mintJWT(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.current(r)
	if err != nil {
		return err
	}
	var req jwtRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Audience == "" || len(req.Audience) > 512 {
		return badRequest("audience is required: the service the token is for (at most 512 bytes)")
	}
	token, exp, err := s.issuer.MintFromSession(sess, req.Audience)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(time.Until(exp).Round(time.Second) / time.Second),
	})
	return nil
}
