package server

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/keycard-go/keycard"
)

// maxSubjectLen bounds the subjects the admin API accepts, in bytes.
const maxSubjectLen = 256

// requireAdmin lets h run only for requests with a valid admin API key
// (Authorization: Bearer kcadm_…). Wrong keys count against the client
// network like invalid session tokens, so a key cannot be guessed fast.
func (s *Server) requireAdmin(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if ok, wait := s.guard.Allow(r); !ok {
			setRetryAfter(w, wait)
			return keycard.ErrRateLimited
		}
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || !s.admin.match(strings.TrimSpace(key)) {
			s.guard.Invalid(r)
			s.audit.refused(r, "admin_key_rejected", "", "invalid_admin_key")
			w.Header().Set("WWW-Authenticate", `Bearer realm="keycard-admin"`)
			return errAdminKey
		}
		return h(w, r)
	}
}

type adminCreateRequest struct {
	Subject   string         `json:"subject"`
	Kind      string         `json:"kind"`
	IP        string         `json:"ip"`
	UserAgent string         `json:"user_agent"`
	Data      map[string]any `json:"data"`
}

// validSubject reports why subject cannot be a session's subject.
func validSubject(subject string) error {
	switch {
	case subject == "":
		return badRequest("subject is required")
	case len(subject) > maxSubjectLen:
		return badRequest("subject is longer than 256 bytes")
	case !utf8.ValidString(subject) || strings.ContainsFunc(subject, unicode.IsControl):
		return badRequest("subject must be UTF-8 without control characters")
	}
	return nil
}

// adminCreate is POST /v1/admin/sessions: a trusted backend creates a
// session for a user it authenticated itself.
func (s *Server) adminCreate(w http.ResponseWriter, r *http.Request) error {
	var req adminCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := validSubject(req.Subject); err != nil {
		return err
	}
	kind := keycard.KindAPI
	switch req.Kind {
	case "", "api":
	case "browser":
		kind = keycard.KindBrowser
	default:
		return badRequest(`kind must be "api" or "browser"`)
	}
	if len(req.IP) > 64 || len(req.UserAgent) > 512 {
		return badRequest("ip is at most 64 bytes and user_agent at most 512")
	}
	cred, err := s.m.Issue(r.Context(), keycard.IssueOptions{
		Subject: req.Subject, Kind: kind, IP: req.IP, UserAgent: req.UserAgent, Data: req.Data, Request: r,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cred)
	return nil
}

type introspectRequest struct {
	Token string `json:"token"`
}

// adminIntrospect is POST /v1/admin/introspect: is this token live, and
// whose is it? A token of either kind is looked up as what it is; every
// invalid token is {"active":false}, as in RFC 7662.
func (s *Server) adminIntrospect(w http.ResponseWriter, r *http.Request) error {
	var req introspectRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	for _, kind := range [...]keycard.Kind{keycard.KindAPI, keycard.KindBrowser} {
		info, err := s.m.Lookup(r.Context(), req.Token, kind)
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"active": true, "session": info})
			return nil
		}
		if !errors.Is(err, keycard.ErrInvalidToken) {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]bool{"active": false})
	return nil
}

// adminList is GET /v1/admin/subjects/{subject}/sessions.
func (s *Server) adminList(w http.ResponseWriter, r *http.Request) error {
	subject := r.PathValue("subject")
	if err := validSubject(subject); err != nil {
		return err
	}
	infos, err := s.m.List(r.Context(), subject)
	if err != nil {
		return err
	}
	if infos == nil {
		infos = []keycard.Info{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": infos})
	return nil
}

// adminRevokeSubject is DELETE /v1/admin/subjects/{subject}/sessions:
// "sign out everywhere" for a user.
func (s *Server) adminRevokeSubject(w http.ResponseWriter, r *http.Request) error {
	subject := r.PathValue("subject")
	if err := validSubject(subject); err != nil {
		return err
	}
	n, err := s.m.RevokeAll(r.Context(), subject, "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}

// adminRevoke is DELETE /v1/admin/sessions/{id}.
func (s *Server) adminRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.m.Revoke(r.Context(), r.PathValue("id")); err != nil {
		if errors.Is(err, keycard.ErrNotFound) {
			return errNoSuchSession
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
