package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/keycard-go/keycard"
)

// apiError is an error of the server's own with the status, stable code and
// public message the client gets. Errors of package keycard keep its table
// (keycard.ErrorStatus); anything else is a 500 whose cause only the log
// sees.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return "server: " + e.message }

// The server's own errors. Their codes are stable: clients branch on them
// and api/openapi.yaml lists them.
var (
	errUnsupportedMediaType = &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "the request body must be application/json"}
	errBodyTooLarge         = &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than 64 KiB"}
	errInvalidCredentials   = &apiError{http.StatusUnauthorized, "invalid_credentials", "wrong username or password"}
	errAdminKey             = &apiError{http.StatusUnauthorized, "invalid_admin_key", "missing or wrong admin API key: send Authorization: Bearer <admin key>"}
	errLoginLimited         = &apiError{http.StatusTooManyRequests, "rate_limited", "too many failed logins; retry later"}
	errNotFound             = &apiError{http.StatusNotFound, "not_found", "no such endpoint"}
	errMethodNotAllowed     = &apiError{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed for this endpoint"}
	errCrossOrigin          = &apiError{http.StatusForbidden, "cross_origin", "cross-origin request refused"}
	errNoSuchSession        = &apiError{http.StatusNotFound, "not_found", "no such session"}
	errNotAuthenticated     = &apiError{http.StatusUnauthorized, "no_session", "no session"}
)

// badRequest is a 400 invalid_request with a message saying what is wrong.
func badRequest(msg string) error {
	return &apiError{http.StatusBadRequest, "invalid_request", msg}
}

// invalidJSON is a 400 invalid_json.
func invalidJSON(msg string) error {
	return &apiError{http.StatusBadRequest, "invalid_json", msg}
}

// errorStatus is the one table from error to status, code and message:
// the server's own errors, then package keycard's.
func errorStatus(err error) (status int, code, message string) {
	if e, ok := errors.AsType[*apiError](err); ok {
		return e.status, e.code, e.message
	}
	return keycard.ErrorStatus(err)
}

// handlerFunc is an HTTP handler that returns its error instead of writing
// it, so that every error goes through writeErr.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to http.Handler.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeErr(w, r, err)
		}
	})
}

// writeErr answers r with err: {"error":{"code","message"}}. A 5xx is
// logged with its cause; a store outage says when to retry.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := errorStatus(err)
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "server: request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.String("error", err.Error()))
	}
	writeErrorBody(w, status, code, msg)
}

func writeErrorBody(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	if status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", retryAfterOutage)
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// retryAfterOutage is the Retry-After of a 503: a store outage is usually
// a restart or a failover, which takes seconds.
const retryAfterOutage = "2"

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
