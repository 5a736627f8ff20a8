package keycard

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// GuardAction is what a Guard asks the Manager to do when a session's client
// no longer matches the fingerprint recorded at login.
type GuardAction uint8

const (
	// GuardNone: the client matches, or the change calls for nothing.
	GuardNone GuardAction = iota
	// GuardLog: report EventAnomaly and carry on.
	GuardLog
	// GuardReauth: report EventAnomaly and mark the session as needing
	// re-authentication (Session.NeedsReauth) until the next Login.
	GuardReauth
	// GuardRevoke: report EventAnomaly and end the session.
	GuardRevoke
)

// String returns "none", "log", "reauth" or "revoke".
func (a GuardAction) String() string {
	switch a {
	case GuardLog:
		return "log"
	case GuardReauth:
		return "reauth"
	case GuardRevoke:
		return "revoke"
	}
	return "none"
}

// Guard binds sessions to their clients and limits token guessing. The
// guard package provides one (guard.New(...).Keycard()). Its methods are
// called from many requests at once.
type Guard interface {
	// Invalid counts one invalid token presented by the client of r (the
	// store found it unknown, expired or ended, or it was malformed) and
	// reports whether the client is still within its limit; when it is not,
	// retryAfter says when it may try again. Counting and checking must be
	// one atomic step, so that concurrent requests cannot all pass. It is
	// called only after the token was looked up, so a valid token is never
	// refused, whatever else its network sent.
	Invalid(r *http.Request) (ok bool, retryAfter time.Duration)
	// Fingerprint returns the keyed fingerprint of r's client, stored in
	// Record.Fingerprint at login. It must not contain raw client data.
	Fingerprint(r *http.Request) string
	// Judge compares a stored fingerprint with r's client and returns the
	// action its changes call for and a short description of the changed
	// signals, such as "browser,network".
	Judge(stored string, r *http.Request) (action GuardAction, changed string)
}

// limited verifies the credential of a request, when the guard is on and
// the request presents one, and answers 429 when it was invalid and its
// network is over the guard's limit. It reports whether it answered.
//
// The token is looked up first, and only a failure is counted (OWASP's
// Session Management Cheat Sheet asks to detect and limit brute force of
// session IDs, not to refuse networks): many users share one address or
// prefix behind carrier or office NAT, and refusing a network before the
// lookup let one client's junk cookies lock out every valid session behind
// it. The price is one store read per guess; a guess stays worthless, since
// 256-bit tokens cannot be found by guessing.
func (m *Manager) limited(w http.ResponseWriter, s *Session) bool {
	if m.cfg.guard == nil || (s.cred.token == "" && s.cred.reason == "") {
		return false
	}
	s.mu.Lock()
	s.load()
	retry, refused := s.got.retryAfter, s.got.rateLimited
	s.mu.Unlock()
	if !refused {
		return false
	}
	r := s.r
	m.emit(r.Context(), Event{Type: EventRateLimited, Reason: ReasonInvalidTokens, Request: requestOf(r)})
	secs := int64((retry + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	m.fail(w, r, ErrRateLimited)
	return true
}

// checkClient applies the guard's verdict on the loaded session. s.mu is held.
func (s *Session) checkClient(ctx context.Context) {
	g := s.m.cfg.guard
	rec := s.got.rec
	if g == nil || rec == nil || rec.Fingerprint == "" {
		return
	}
	action, changed := g.Judge(rec.Fingerprint, s.r)
	if action == GuardNone {
		return
	}
	s.m.emit(ctx, Event{Type: EventAnomaly, SessionID: rec.ID, Subject: rec.Subject, Kind: rec.Kind, Reason: Reason(changed), Action: action, Request: requestOf(s.r)})
	switch action {
	case GuardReauth:
		if !readMeta(rec).Reauth {
			s.p.reauth = true
		}
	case GuardRevoke:
		if _, err := s.mode.end(ctx, rec, s.clock()); err != nil {
			s.got.err = storeErr(err)
			return
		}
		s.m.emit(ctx, Event{Type: EventRevoked, SessionID: rec.ID, Subject: rec.Subject, Kind: rec.Kind, Reason: ReasonAnomaly, Request: requestOf(s.r)})
		s.got.rec = nil
		s.out.clearCookie = s.cred.transport == KindBrowser
	}
}

// NeedsReauth reports whether the guard found the session's client changed
// in a way that calls for re-authentication (GuardReauth). It stays true
// until the next Login. Applications should ask for the password again
// before anything sensitive.
func (s *Session) NeedsReauth() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.got.rec != nil && !s.p.login && (s.p.reauth || readMeta(s.got.rec).Reauth)
}
