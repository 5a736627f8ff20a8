package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/keycard-go/keycard"
)

// auditLog writes one JSON line per session event and per refused login or
// admin key: what happened, to which session, for which (hashed) subject,
// from where. It never writes a token, a password or a subject in clear.
type auditLog struct {
	log  *slog.Logger // nil: no audit log
	salt []byte
}

func newAuditLog(w io.Writer, salt []byte) *auditLog {
	a := &auditLog{salt: salt}
	if w != nil {
		a.log = slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
			ReplaceAttr: func(groups []string, attr slog.Attr) slog.Attr {
				if len(groups) == 0 && attr.Key == slog.TimeKey {
					attr.Value = slog.StringValue(attr.Value.Time().UTC().Format(time.RFC3339Nano))
				}
				return attr
			},
		}))
	}
	return a
}

// subjectHash is the first 16 hex digits of HMAC-SHA256(salt, subject): the
// same user gets the same hash in every line and on every node sharing the
// salt, and the log does not name them.
func (a *auditLog) subjectHash(subject string) string {
	if subject == "" {
		return ""
	}
	mac := hmac.New(sha256.New, a.salt)
	mac.Write([]byte(subject))
	return hex.EncodeToString(mac.Sum(nil))[:16]
}

// event is the Manager's event hook.
func (a *auditLog) event(e keycard.Event) {
	if a.log == nil {
		return
	}
	attrs := []slog.Attr{slog.String("event", e.Type.String())}
	if e.SessionID != "" {
		attrs = append(attrs, slog.String("session_id", e.SessionID))
	}
	if h := a.subjectHash(e.Subject); h != "" {
		attrs = append(attrs, slog.String("subject_hash", h))
	}
	if e.Kind != 0 {
		attrs = append(attrs, slog.String("kind", e.Kind.String()))
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", string(e.Reason)))
	}
	if e.Type == keycard.EventAnomaly {
		attrs = append(attrs, slog.String("action", e.Action.String()))
	}
	if e.Request.Method != "" {
		attrs = append(attrs, slog.String("method", e.Request.Method),
			slog.String("path", e.Request.Path), slog.String("remote_addr", e.Request.RemoteAddr))
	}
	level := slog.LevelInfo
	if e.Type.Security() {
		level = slog.LevelWarn
	}
	a.log.LogAttrs(context.Background(), level, "session event", attrs...)
}

// refused records a refused login (reason "unknown_user", "wrong_password",
// "disabled", "rate_limited") or admin key.
func (a *auditLog) refused(r *http.Request, event, subject, reason string) {
	if a.log == nil {
		return
	}
	attrs := []slog.Attr{slog.String("event", event), slog.String("reason", reason)}
	if h := a.subjectHash(subject); h != "" {
		attrs = append(attrs, slog.String("subject_hash", h))
	}
	attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("remote_addr", r.RemoteAddr))
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "refused", attrs...)
}

// derive returns HMAC-SHA256(key, label): a key for one purpose derived
// from a key kept for another, so that the key file holds fewer secrets.
func derive(key []byte, label string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(label))
	return mac.Sum(nil)
}
