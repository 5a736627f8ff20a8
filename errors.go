package keycard

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/keycard-go/keycard/storage"
)

// The errors of the root package, in one place. Each has one HTTP status and
// one stable machine code (see ErrorStatus), used by the middleware's error
// responses and by every HTTP API built on Keycard.
var (
	// ErrInvalidToken means the token is malformed, unknown, expired,
	// destroyed, or presented through the wrong transport. One error for
	// every reason; the reason (a Reason) goes to the event hook and the
	// debug log only. 401 invalid_token.
	ErrInvalidToken = errors.New("keycard: invalid session token")
	// ErrStoreUnavailable wraps an error from the store that is not one of
	// its sentinels. 503 store_unavailable; nobody is logged out.
	ErrStoreUnavailable = errors.New("keycard: session store unavailable")
	// ErrTokenInURL means the request carries a session token in its URL
	// query. 400 token_in_url.
	ErrTokenInURL = errors.New("keycard: session token in URL; send it in the cookie or the Authorization header")
	// ErrAmbiguousCredentials means the request carries both a session
	// cookie and a bearer token, or several bearer tokens. 400
	// ambiguous_credentials.
	ErrAmbiguousCredentials = errors.New("keycard: request carries more than one session credential")
	// ErrNoSession means the operation needs a session and the request has
	// none that the middleware may create (API requests without a valid
	// token). 401 no_session.
	ErrNoSession = errors.New("keycard: no session")
	// ErrNotFound is storage.ErrNotFound: Revoke returns it when there is no
	// live session with the ID. 404 not_found.
	ErrNotFound = storage.ErrNotFound
	// ErrWrongKind means the operation is not available for this kind of
	// session, such as Login on a request authenticated by a bearer token.
	// 403 wrong_kind.
	ErrWrongKind = errors.New("keycard: operation not available for this kind of session")
	// ErrNoMiddleware means the context carries no Session because the
	// request did not pass through Manager.Handler. Every method of the
	// Session that FromContext returns then fails with it (reads see an
	// anonymous request). 500 internal: it is a bug of the application.
	ErrNoMiddleware = errors.New("keycard: no session in this context: the request did not pass through Manager.Handler; wrap the handler with it")
	// ErrRateLimited means the client's network presented too many invalid
	// tokens. 429 rate_limited, with Retry-After.
	ErrRateLimited = errors.New("keycard: too many invalid session tokens from this network; retry later")
	// ErrTooManySessions means Login was refused because the subject already
	// holds SessionLimit.Max sessions and the policy is DenyNew. 403
	// too_many_sessions.
	ErrTooManySessions = errors.New("keycard: too many sessions for this user")
	// ErrRememberMeOff means SetRememberMe(true) was called on a Manager
	// whose Options.RememberMe is not configured. 500 internal: it is a bug
	// of the application.
	ErrRememberMeOff = errors.New("keycard: remember-me is not configured: set Options.RememberMe's IdleTimeout and AbsoluteTimeout to the limits a remembered session should have")
	// ErrTooLarge means the session of a sealed cookie would not fit in a
	// cookie (browsers keep 4096 bytes). Put, Login and the other changes
	// return it before anything is lost. 413 session_too_large.
	ErrTooLarge = errors.New("keycard: session too large for a sealed cookie")
	// ErrCSRF means a state-changing request did not echo its sealed
	// session's CSRF token. 403 csrf.
	ErrCSRF = errors.New("keycard: missing or wrong CSRF token")
)

// errorTable maps each error to its HTTP status, stable code and public
// message ("" for the error's own text without the "keycard: " prefix).
// The first entry the error matches (errors.Is) wins.
var errorTable = [...]struct {
	err     error
	status  int
	code    string
	message string
}{
	{ErrTokenInURL, http.StatusBadRequest, "token_in_url", ""},
	{ErrAmbiguousCredentials, http.StatusBadRequest, "ambiguous_credentials", ""},
	{ErrInvalidToken, http.StatusUnauthorized, "invalid_token", ""},
	{ErrNoSession, http.StatusUnauthorized, "no_session", ""},
	{ErrWrongKind, http.StatusForbidden, "wrong_kind", ""},
	{ErrTooManySessions, http.StatusForbidden, "too_many_sessions", ""},
	{ErrCSRF, http.StatusForbidden, "csrf", ""},
	{ErrNotFound, http.StatusNotFound, "not_found", "no such session"},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "session_too_large", ""},
	{ErrRateLimited, http.StatusTooManyRequests, "rate_limited", ""},
	// A conflict the commit could not resolve: the cause is concurrency.
	{storage.ErrConflict, http.StatusServiceUnavailable, "session_conflict", "the session is being changed concurrently; retry"},
	// The cause goes to the log, never to the client.
	{ErrStoreUnavailable, http.StatusServiceUnavailable, "store_unavailable", "the session store is unavailable; retry later"},
}

// ErrorStatus returns the HTTP status, the stable machine code and the
// public message of err: one table for every error of this package (each
// error's doc comment names its status and code). Anything else, an
// application bug among it, is 500 "internal" with a generic message, so a
// cause never reaches a client.
func ErrorStatus(err error) (status int, code, message string) {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			msg := e.message
			if msg == "" {
				msg = strings.TrimPrefix(e.err.Error(), "keycard: ")
			}
			return e.status, e.code, msg
		}
	}
	return http.StatusInternalServerError, "internal", "internal error"
}

// WriteError answers r with err as ErrorStatus describes it: a JSON body
// {"error":{"code","message"}} for API clients and scripts, and a plain
// HTML page for a browser's navigation (an Accept header that rates
// text/html above application/json, and no Authorization header). It is
// the default Options.ErrorHandler, minus the status argument.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := ErrorStatus(err)
	writeError(w, r, status, code, msg)
}

// defaultErrorHandler is the default Options.ErrorHandler.
func defaultErrorHandler(w http.ResponseWriter, r *http.Request, status int, err error) {
	_, code, msg := ErrorStatus(err)
	writeError(w, r, status, code, msg)
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if wantsHTML(r) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = errorPage.Execute(w, struct {
			Status  int
			Title   string
			Message string
		}{status, http.StatusText(status), msg})
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

// storeErr maps an error from the store: sentinels pass, anything else is
// wrapped in ErrStoreUnavailable.
func storeErr(err error) error {
	if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrExists) || errors.Is(err, storage.ErrConflict) {
		return err
	}
	if errors.Is(err, ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
}

// Reason is the short machine-readable reason an Event carries, such as
// ReasonUnknown for an EventInvalidToken. For EventAnomaly it lists the
// changed fingerprint signals instead ("browser,network").
type Reason string

// The reasons of EventInvalidToken (see InvalidTokenReasons).
const (
	ReasonMalformed        Reason = "malformed"         // not shaped like a Keycard token or sealed value
	ReasonDuplicateCookie  Reason = "duplicate-cookie"  // two session cookies with different values
	ReasonUnknown          Reason = "unknown"           // no such token in the store
	ReasonWrongKind        Reason = "wrong-kind"        // a browser token as a bearer token, or the reverse
	ReasonReplaced         Reason = "replaced"          // replaced at a privilege change (Login, Renew)
	ReasonDestroyed        Reason = "destroyed"         // logged out or revoked
	ReasonUnsealable       Reason = "unsealable"        // a sealed value that does not open
	ReasonRevoked          Reason = "revoked"           // a sealed session that was ended
	ReasonMalformedRefresh Reason = "malformed-refresh" // a refresh token of the wrong shape
	ReasonUnknownRefresh   Reason = "unknown-refresh"   // a refresh token for no live session
	ReasonNoRefresh        Reason = "no-refresh"        // a refresh token for a session without one
	ReasonWrongRefresh     Reason = "wrong-refresh"     // a refresh token that is not the session's
)

// The reasons of the other events.
const (
	ReasonRevoke            Reason = "revoke"                    // EventRevoked: Manager.Revoke
	ReasonRevokeAll         Reason = "revoke-all"                // EventRevoked: Manager.RevokeAll
	ReasonReplay            Reason = "replay"                    // EventRevoked: after EventReplay
	ReasonAnomaly           Reason = "anomaly"                   // EventRevoked: the guard's verdict
	ReasonSessionLimit      Reason = "session-limit"             // EventRevoked: SessionLimit
	ReasonLogin             Reason = "login"                     // EventDestroyed: a login as another subject
	ReasonRotatedAfterGrace Reason = "rotated-token-after-grace" // EventReplay: a renewed token used late
	ReasonRefreshReuse      Reason = "refresh-token-reuse"       // EventReplay, EventRevoked: a used refresh token
	ReasonRefresh           Reason = "refresh"                   // EventRenewed: Manager.Refresh
	ReasonInvalidTokens     Reason = "invalid-tokens"            // EventRateLimited
)

// InvalidTokenReasons returns every Reason an EventInvalidToken carries, for
// code that ranges over them (metrics label sets).
func InvalidTokenReasons() []Reason {
	return []Reason{ReasonMalformed, ReasonDuplicateCookie, ReasonUnknown, ReasonWrongKind, ReasonReplaced,
		ReasonDestroyed, ReasonUnsealable, ReasonRevoked, ReasonMalformedRefresh, ReasonUnknownRefresh,
		ReasonNoRefresh, ReasonWrongRefresh}
}
