package keycard

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keycard-go/keycard/internal/cookiehdr"
	"github.com/keycard-go/keycard/storage"
)

// Handler returns middleware that gives every request a Session (see
// FromContext) and commits it before the first byte of the response.
//
// Credentials: a browser session's token is read from the cookie, an API
// session's from "Authorization: Bearer"; a token is only accepted through the
// transport of its kind. Bearer values that do not have the shape of a
// Keycard token are left alone (they belong to another scheme). A request
// carrying a token-shaped value in its URL query under a session-like name is
// answered 400 and never read: the token may already sit in a log. A request
// with both a cookie and a bearer token is answered 400.
//
// Responses that depend on the session (it was read, written or set) carry
// Cache-Control: no-store and Vary: Cookie (or Authorization). When the store
// fails, the response is replaced by 503, whatever the handler wrote: a store
// outage never logs users out, and never lets them in.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" && m.tokenInQuery(r.URL.RawQuery) {
			m.fail(w, r, ErrTokenInURL)
			return
		}
		rs := &requestState{}
		s := &rs.session
		s.m = m
		cred, err := m.readCredentials(r)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		s.cred, s.mode = cred, m.modeOf(cred.transport)
		rs.ctx = sessionContext{Context: r.Context(), s: s}
		r = r.WithContext(&rs.ctx)
		s.r = r
		if m.limited(w, s) {
			return
		}
		rs.w = responseWriter{ResponseWriter: w, s: s}
		next.ServeHTTP(&rs.w, r)
		rs.w.commit()
	})
}

// requestState holds a request's Session, response writer and context in
// one allocation.
type requestState struct {
	session Session
	w       responseWriter
	ctx     sessionContext
}

// sessionContext is the request's context carrying its Session: what
// context.WithValue(parent, ctxKey{}, s) returns, without its allocation.
type sessionContext struct {
	context.Context
	s *Session
}

func (c *sessionContext) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return c.s
	}
	return c.Context.Value(key)
}

// queryTokenNames are the URL query names under which a token-shaped value
// is refused. The comparison ignores case.
var queryTokenNames = []string{"session", "session_id", "sessionid", "sid", "token", "access_token", "keycard"}

// tokenInQuery reports whether the raw query carries a token-shaped value
// under a session-like name or the cookie's name.
func (m *Manager) tokenInQuery(raw string) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		name, value, _ := strings.Cut(pair, "=")
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		if !tokenShaped(value) {
			continue
		}
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if strings.EqualFold(name, m.cfg.cookieName) {
			return true
		}
		for _, q := range queryTokenNames {
			if strings.EqualFold(name, q) {
				return true
			}
		}
	}
	return false
}

// readCredentials finds the request's session credential. It returns an
// error for requests that must be refused outright (400); a malformed or
// duplicated cookie is not an error but an invalid token, reported when the
// session is first used.
func (m *Manager) readCredentials(r *http.Request) (credential, error) {
	var bearer string
	for _, v := range r.Header["Authorization"] {
		scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			continue
		}
		cred = strings.TrimSpace(cred)
		if !tokenShaped(cred) {
			continue // another scheme's bearer token (a JWT, say): not ours
		}
		if bearer != "" {
			return credential{}, ErrAmbiguousCredentials
		}
		bearer = cred
	}
	cookie, found, dup := m.findCookie(r)
	c := credential{transport: KindBrowser}
	_, sealed := m.browser.(*sealedMode)
	switch {
	case bearer != "" && found:
		return credential{}, ErrAmbiguousCredentials
	case bearer != "":
		c.transport, c.token = KindAPI, Token(bearer)
	case dup:
		// Two cookies of our name: one may have been planted (cookie tossing
		// from a sibling domain, possible without the __Host- prefix). Trust
		// neither; RFC 6265bis section 8.6 explains why servers cannot tell.
		c.reason = ReasonDuplicateCookie
		return c, nil
	case found && sealed && !sealedValueShaped(cookie), found && !sealed && !tokenShaped(cookie):
		c.reason = ReasonMalformed
		return c, nil
	case found:
		c.token = Token(cookie)
	default:
		return c, nil
	}
	if c.transport == KindAPI || !sealed {
		c.hash = storage.HashToken(string(c.token))
	}
	return c, nil
}

// findCookie returns the value of the session cookie, whether one was found,
// and whether several cookies of that name with different values were sent.
func (m *Manager) findCookie(r *http.Request) (value string, found, dup bool) {
	for v := range cookiehdr.Values(r.Header["Cookie"], m.cfg.cookieName) {
		if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if found && v != value {
			dup = true
		}
		value, found = v, true
	}
	return value, found, dup
}

// sealedValueShaped reports whether a cookie value could be a sealed value:
// base64url characters within the cookie size limit.
func sealedValueShaped(v string) bool { return v != "" && len(v) <= 4096 && isBase64URL(v) }

// fail answers r with the middleware's own error, through ErrorHandler.
func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, _, _ := ErrorStatus(err)
	m.cfg.errHandler(w, r, status, err)
}

// responseWriter commits the session before the first byte of the response.
type responseWriter struct {
	http.ResponseWriter
	s      *Session
	done   bool // the session was committed (or committing failed)
	failed bool // committing failed: the error response was written instead
}

// commit commits the session once and writes its headers. It reports whether
// the handler's response may proceed.
func (w *responseWriter) commit() bool {
	if w.done {
		return !w.failed
	}
	w.done = true
	s := w.s
	if err := s.commit(); err != nil {
		w.failed = true
		// The cause is logged here; the client gets a generic answer.
		if errors.Is(err, ErrTooManySessions) {
			s.m.cfg.logger.InfoContext(s.r.Context(), "keycard: login refused at commit: session limit reached")
		} else {
			s.m.cfg.logger.ErrorContext(s.r.Context(), "keycard: session commit failed", "err", err)
		}
		h := w.ResponseWriter.Header()
		for k := range h {
			delete(h, k)
		}
		h.Set("Cache-Control", "no-store")
		if errors.Is(err, storage.ErrConflict) {
			h.Set("Retry-After", "1")
		}
		s.m.fail(w.ResponseWriter, s.r, err)
		return false
	}
	s.writeHeaders(w.ResponseWriter.Header())
	return true
}

// writeHeaders adds the session's cookie and caching headers.
func (s *Session) writeHeaders(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cookie := false
	if s.cred.transport == KindBrowser {
		switch {
		case s.out.newToken != "":
			s.mode.cookie(h, s.out.newToken, s.got.rec)
			cookie = true
		case s.out.clearCookie:
			s.mode.expire(h)
			cookie = true
		}
		switch {
		case s.p.csrf != nil && s.got.rec == nil:
			// A CSRF secret for a visitor without a session (see CSRFSecrets).
			h.Add("Set-Cookie", s.m.anonCSRFCookie(s.p.csrf))
			cookie = true
		case s.p.login && s.got.rec != nil && s.anonCSRF() != nil:
			h.Add("Set-Cookie", s.m.anonCSRFCookie(nil)) // the login forgot it
			cookie = true
		}
		if s.p.destroyed != nil && s.m.cfg.clearSite != "" {
			// Clear-Site-Data (W3C) asks the browser to drop what the
			// application cached or stored for the logged-out user; its
			// scope is explained at Options.ClearSiteData.
			h.Set("Clear-Site-Data", s.m.cfg.clearSite)
		}
	}
	if s.got.done || cookie {
		// Shared, never-modified slices: these headers are set on every
		// session response, and allocating them shows in benchmarks.
		h["Cache-Control"] = noStore
		vary := varyCookie
		if s.cred.transport == KindAPI {
			vary = varyAuthorization
		}
		if prev, ok := h["Vary"]; ok {
			h["Vary"] = append(prev[:len(prev):len(prev)], vary[0])
		} else {
			h["Vary"] = vary
		}
	}
}

var (
	noStore           = []string{"no-store"}
	varyCookie        = []string{"Cookie"}
	varyAuthorization = []string{"Authorization"}
)

// tokenCookie returns the Set-Cookie value of the cookie name carrying
// value for rec, with the session cookie's attributes (HttpOnly only when
// httpOnly is set).
func (m *Manager) tokenCookie(name, value string, rec *storage.Record, httpOnly bool) string {
	attrs := m.cfg.cookieAttrs
	if !httpOnly {
		attrs = strings.Replace(attrs, "; HttpOnly", "", 1)
	}
	var b strings.Builder
	b.Grow(len(name) + len(value) + len(attrs) + 24)
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString(attrs)
	if rec.Persistent {
		// A persistent cookie never outlives the session's absolute deadline.
		secs := int64(rec.ExpiresAt.Sub(m.now()) / time.Second)
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.FormatInt(max(secs, 1), 10))
	}
	return b.String()
}

// expiredCookie returns a Set-Cookie value that removes the cookie name.
func (m *Manager) expiredCookie(name string, httpOnly bool) string {
	attrs := m.cfg.cookieAttrs
	if !httpOnly {
		attrs = strings.Replace(attrs, "; HttpOnly", "", 1)
	}
	return name + "=" + attrs + "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
}

// WriteHeader commits the session, then writes the status. Informational
// (1xx) statuses pass through without committing.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session before the first byte.
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.commit() {
		return len(b), nil // the error response was written instead
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps io.Copy on the underlying writer's fast path (sendfile).
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.commit() {
		return io.Copy(io.Discard, r)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush commits the session and flushes the underlying writer.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError commits the session and flushes, for http.ResponseController.
func (w *responseWriter) FlushError() error {
	w.commit()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session, then hands over the connection. A hijacked
// connection carries none of the response's headers, so no Set-Cookie can
// reach the client: the commit skips a due automatic renewal (the next
// ordinary request renews), since rotating would leave the browser with only
// the old token and its next use after the grace window would end the
// session as a replay. After Login, Renew or SetRememberMe in the same
// request, whose new token could never be delivered, Hijack refuses.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if err := w.s.hijacking(); err != nil {
		return nil, nil, err
	}
	if !w.commit() {
		return nil, nil, errHijackFailedCommit
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

var (
	errHijackAfterRotation = errors.New("keycard: cannot hijack the connection after Login, Renew or SetRememberMe: the new session token could not reach the client")
	errHijackFailedCommit  = errors.New("keycard: cannot hijack the connection: the session could not be committed (an error response was written)")
)
