package metrics

import (
	"errors"
	"net/http"

	"github.com/keycard-go/keycard/csrf"
)

// The label values of keycard_csrf_rejections_total.
const (
	csrfCrossOrigin  = "cross_origin"
	csrfTokenMissing = "token_missing"
	csrfTokenInvalid = "token_invalid"
)

var csrfReasons = []string{csrfCrossOrigin, csrfTokenMissing, csrfTokenInvalid, other}

// CSRFDenyHandler returns a handler for csrf.Options.DenyHandler that counts
// the rejection under its csrf.FailureReason and then calls next. A nil next
// answers like the csrf package's default: 403 with the body "Forbidden".
//
//	protect, err := csrf.Protect(&csrf.Options{
//		Secrets:     sessions.CSRFSecrets(),
//		DenyHandler: collector.CSRFDenyHandler(nil),
//	})
func (c *Collector) CSRFDenyHandler(next http.Handler) http.Handler {
	if next == nil {
		next = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "Forbidden", http.StatusForbidden)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.CSRFRejected(csrf.FailureReason(r))
		next.ServeHTTP(w, r)
	})
}

// CSRFRejected counts one CSRF rejection for reason, the error of
// csrf.Protector.Check or csrf.FailureReason, for applications that build
// their own middleware around Check. csrf.ErrCrossOrigin, ErrTokenMissing and
// ErrTokenInvalid (or errors wrapping them) count under cross_origin,
// token_missing and token_invalid; any other error, nil included, under other.
func (c *Collector) CSRFRejected(reason error) {
	c.csrf.WithLabelValues(csrfLabel(reason)).Inc()
}

func csrfLabel(err error) string {
	switch {
	case err == nil:
		return other
	case errors.Is(err, csrf.ErrCrossOrigin):
		return csrfCrossOrigin
	case errors.Is(err, csrf.ErrTokenMissing):
		return csrfTokenMissing
	case errors.Is(err, csrf.ErrTokenInvalid):
		return csrfTokenInvalid
	}
	return other
}
