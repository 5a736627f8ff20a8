package keycard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"html/template"
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
			m.cfg.errHandler(w, r, http.StatusBadRequest, ErrTokenInURL)
			return
		}
		rs := &requestState{}
		s := &rs.session
		s.m = m
		if err := s.readCredentials(r); err != nil {
			m.cfg.errHandler(w, r, http.StatusBadRequest, err)
			return
		}
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

// readCredentials finds the request's session token. It returns an error for
// requests that must be refused outright (400); a malformed or duplicated
// cookie is not an error but an invalid token, reported when the session is
// first used.
func (s *Session) readCredentials(r *http.Request) error {
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
			return ErrAmbiguousCredentials
		}
		bearer = cred
	}
	cookie, found, dup := s.findCookie(r)
	s.transport = KindBrowser
	switch {
	case bearer != "" && found:
		return ErrAmbiguousCredentials
	case bearer != "":
		s.transport = KindAPI
		s.token = Token(bearer)
	case dup:
		// Two cookies of our name: one may have been planted (cookie tossing
		// from a sibling domain, possible without the __Host- prefix). Trust
		// neither; RFC 6265bis section 8.6 explains why servers cannot tell.
		s.reason = "duplicate-cookie"
		return nil
	case found && s.m.cfg.sealer != nil && !sealedValueShaped(cookie):
		s.reason = "malformed"
		return nil
	case found && s.m.cfg.sealer == nil && !tokenShaped(cookie):
		s.reason = "malformed"
		return nil
	case found:
		s.token = Token(cookie)
	default:
		return nil
	}
	if s.transport == KindAPI || s.m.cfg.sealer == nil {
		s.hash = storage.HashToken(string(s.token))
	}
	return nil
}

// findCookie returns the value of the session cookie, whether one was found,
// and whether several cookies of that name with different values were sent.
func (s *Session) findCookie(r *http.Request) (value string, found, dup bool) {
	for v := range cookiehdr.Values(r.Header["Cookie"], s.m.cfg.cookieName) {
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
		status := http.StatusServiceUnavailable
		switch {
		case errors.Is(err, storage.ErrConflict):
			h.Set("Retry-After", "1")
		case errors.Is(err, ErrTooManySessions):
			status = http.StatusForbidden // a concurrent login took the last place
		}
		s.m.cfg.errHandler(w.ResponseWriter, s.r, status, err)
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
	if s.transport == KindBrowser {
		switch {
		case s.newToken != "":
			h["Set-Cookie"] = append(h["Set-Cookie"], s.m.cookie(s.newToken, s.rec))
			if s.sealed() {
				if c := s.m.csrfCompanion(string(s.newToken), s.rec); c != "" {
					h.Add("Set-Cookie", c)
				}
			}
			cookie = true
		case s.clearCookie:
			h.Add("Set-Cookie", s.m.expiredCookie())
			if s.sealed() {
				h.Add("Set-Cookie", s.m.csrfCookieName()+"="+strings.Replace(s.m.cfg.cookieAttrs, "; HttpOnly", "", 1)+"; Max-Age=0")
			}
			cookie = true
		}
		switch {
		case s.csrf != nil && s.rec == nil:
			// A CSRF secret for a visitor without a session (see CSRFSecrets).
			h.Add("Set-Cookie", s.m.anonCSRFCookie(s.csrf))
			cookie = true
		case s.login && s.rec != nil && s.anonCSRF() != nil:
			h.Add("Set-Cookie", s.m.anonCSRFCookie(nil)) // the login forgot it
			cookie = true
		}
		if s.destroyed != nil && s.m.cfg.clearSite != "" {
			// Clear-Site-Data (W3C) asks the browser to drop what the
			// application cached or stored for the logged-out user; its
			// scope is explained at Options.ClearSiteData.
			h.Set("Clear-Site-Data", s.m.cfg.clearSite)
		}
	}
	if s.loaded || cookie {
		// Shared, never-modified slices: these headers are set on every
		// session response, and allocating them shows in benchmarks.
		h["Cache-Control"] = noStore
		vary := varyCookie
		if s.transport == KindAPI {
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

// cookie returns the Set-Cookie value carrying tok for rec.
func (m *Manager) cookie(tok Token, rec *storage.Record) string {
	var b strings.Builder
	b.Grow(len(m.cfg.cookieName) + TokenLen + len(m.cfg.cookieAttrs) + 24)
	b.WriteString(m.cfg.cookieName)
	b.WriteByte('=')
	b.WriteString(tok.Reveal())
	b.WriteString(m.cfg.cookieAttrs)
	if rec.Persistent {
		// A persistent cookie never outlives the session's absolute deadline.
		secs := int64(rec.ExpiresAt.Sub(m.now()) / time.Second)
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.FormatInt(max(secs, 1), 10))
	}
	return b.String()
}

// expiredCookie returns a Set-Cookie value that removes the session cookie.
func (m *Manager) expiredCookie() string {
	return m.cfg.cookieName + "=" + m.cfg.cookieAttrs + "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
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

// writeError is the default ErrorHandler: a JSON error body, or a plain
// HTML page for a browser that asks for one (see wantsHTML).
func writeError(w http.ResponseWriter, r *http.Request, status int, err error) {
	code := "bad_request"
	msg := err.Error()
	switch {
	case errors.Is(err, ErrTokenInURL):
		code = "token_in_url"
	case errors.Is(err, ErrAmbiguousCredentials):
		code = "ambiguous_credentials"
	case errors.Is(err, ErrRateLimited):
		code = "rate_limited"
	case errors.Is(err, storage.ErrConflict):
		code, msg = "session_conflict", "the session is being changed concurrently; retry"
	case errors.Is(err, ErrTooManySessions):
		code = "too_many_sessions"
	case status == http.StatusServiceUnavailable:
		// The cause goes to the log, not to the client.
		code, msg = "store_unavailable", "the session store is unavailable; retry later"
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if wantsHTML(r) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = errorPage.Execute(w, struct {
			Status  int
			Title   string
			Message string
		}{status, http.StatusText(status), strings.TrimPrefix(msg, "keycard: ")})
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// errorPage is the page a browser gets for the middleware's own errors.
var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Status}} {{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}h1{font-size:1.4em}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}.</p></body></html>
`))

// wantsHTML reports whether the error response to r should be a page: the
// request is not an API call (no Authorization header) and its Accept header
// rates text/html above application/json, as a browser's navigation does.
// fetch() and most HTTP clients send "*/*" or nothing and get JSON.
func wantsHTML(r *http.Request) bool {
	if r == nil || r.Header.Get("Authorization") != "" {
		return false
	}
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return false
	}
	html, json := acceptQ(accept, "text", "html"), acceptQ(accept, "application", "json")
	return html > 0 && html > json
}

// acceptQ returns the quality (0 to 1000) that the Accept header lines give
// to the media type typ/sub: that of the most specific matching range
// (RFC 9110 section 12.5.1), 0 when none matches.
func acceptQ(lines []string, typ, sub string) int {
	best, q := -1, 0
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ",") {
			mt, params, _ := strings.Cut(part, ";")
			t, st, ok := strings.Cut(strings.TrimSpace(mt), "/")
			if !ok {
				continue
			}
			spec := -1
			switch {
			case strings.EqualFold(t, typ) && strings.EqualFold(st, sub):
				spec = 2
			case strings.EqualFold(t, typ) && st == "*":
				spec = 1
			case t == "*" && st == "*":
				spec = 0
			}
			if spec <= best {
				continue
			}
			best, q = spec, 1000
			for p := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "q") {
					q = parseQ(v)
				}
			}
		}
	}
	return q
}

// parseQ parses a qvalue ("0", "0.5", "1.000") into thousandths; a malformed
// one counts as 0.
func parseQ(v string) int {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0
	}
	n := int(v[0]-'0') * 1000
	if len(v) > 1 {
		if v[1] != '.' {
			return 0
		}
		scale := 100
		for _, c := range v[2:] {
			if c < '0' || c > '9' {
				return 0
			}
			n += int(c-'0') * scale
			scale /= 10
		}
	}
	return min(n, 1000)
}
