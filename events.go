package keycard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"
)

// EventType names what happened to a session.
type EventType uint8

const (
	// EventCreated: a new session was stored.
	EventCreated EventType = iota + 1
	// EventAuthenticated: Login bound a subject to the session (a new token was issued).
	EventAuthenticated
	// EventRenewed: the session's token was replaced (renewal timeout or Renew).
	EventRenewed
	// EventDestroyed: the session was logged out.
	EventDestroyed
	// EventExpired: a token was presented after its idle or absolute deadline.
	EventExpired
	// EventRevoked: the session was ended by Revoke, RevokeAll or a detected replay.
	EventRevoked
	// EventInvalidToken: a token was presented that is malformed, unknown,
	// destroyed, or of the wrong kind for its transport.
	EventInvalidToken
	// EventReplay: a token replaced by renewal was used after its grace window;
	// the token may have been stolen, and the session is ended.
	EventReplay
	// EventAnomaly: the session's client no longer matches the fingerprint
	// recorded at login; Reason lists the changed signals.
	EventAnomaly
	// EventRateLimited: a request was refused (429) because its network
	// presented too many invalid tokens.
	EventRateLimited
)

var eventNames = [...]string{
	EventCreated:       "created",
	EventAuthenticated: "authenticated",
	EventRenewed:       "renewed",
	EventDestroyed:     "destroyed",
	EventExpired:       "expired",
	EventRevoked:       "revoked",
	EventInvalidToken:  "invalid-token",
	EventReplay:        "replay-of-rotated-token",
	EventAnomaly:       "anomaly",
	EventRateLimited:   "rate-limited",
}

// String returns the event's name, such as "invalid-token".
func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return "unknown"
}

// Security reports whether the event may indicate an attack.
func (t EventType) Security() bool {
	return t == EventInvalidToken || t == EventReplay || t == EventAnomaly || t == EventRateLimited
}

// Event describes one lifecycle or security event. It never carries a token.
type Event struct {
	Type      EventType
	Time      time.Time
	SessionID string       // empty when no session could be identified
	Subject   string       // the session's subject, if known; never logged by Keycard
	Kind      Kind         // the session's kind, if known
	Reason    Reason       // a short machine-readable reason, such as ReasonUnknown; for EventAnomaly, the changed signals ("browser,network")
	Action    GuardAction  // for EventAnomaly: what the Guard's verdict called for
	Request   EventRequest // the request that caused it; zero for Manager calls without one
}

// EventRequest describes the request behind an event without its
// credentials: it has no headers (so no Cookie or Authorization) and no URL
// query (where a token may have been put). An event hook can log all of it.
type EventRequest struct {
	Method     string
	Path       string // the URL path, without the query
	RemoteAddr string // http.Request.RemoteAddr: the peer, not a forwarded address
	UserAgent  string // at most maxUserAgent bytes, as a session record keeps it
}

// requestOf describes r for an event; r may be nil.
func requestOf(r *http.Request) EventRequest {
	if r == nil {
		return EventRequest{}
	}
	e := EventRequest{Method: r.Method, RemoteAddr: capString(r.RemoteAddr, maxIP), UserAgent: capString(r.UserAgent(), maxUserAgent)}
	if r.URL != nil {
		e.Path = capString(r.URL.Path, maxEventPath)
	}
	return e
}

// What a session record and an event keep of what the client sent is
// bounded, so that a client cannot park megabytes of headers in the store
// (Go's server accepts 1 MiB of headers by default). Real user agents are
// 100 to 300 bytes; the longest client address is an IPv6 address with a
// zone and a port.
const (
	maxUserAgent = 512
	maxIP        = 64
	maxEventPath = 1024
)

// clientOf returns what a session record keeps of r's client: the host of
// RemoteAddr and the User-Agent, each bounded.
func clientOf(r *http.Request) (ip, userAgent string) {
	return capString(clientIP(r), maxIP), capString(r.UserAgent(), maxUserAgent)
}

// capString returns s cut to at most n bytes, never inside a UTF-8 sequence.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (m *Manager) emit(ctx context.Context, e Event) {
	if e.Time.IsZero() {
		e.Time = m.now()
	}
	if m.cfg.onEvent != nil {
		m.cfg.onEvent(e)
	}
	level := slog.LevelDebug
	if e.Type.Security() {
		level = slog.LevelWarn
	}
	if !m.cfg.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("event", e.Type.String())}
	if e.SessionID != "" {
		attrs = append(attrs, slog.String("session_id", e.SessionID))
	}
	if e.Subject != "" && len(m.cfg.subjectSalt) > 0 {
		mac := hmac.New(sha256.New, m.cfg.subjectSalt)
		mac.Write([]byte(e.Subject))
		attrs = append(attrs, slog.String("subject_hash", hex.EncodeToString(mac.Sum(nil)[:8])))
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", string(e.Reason)))
	}
	if e.Action != GuardNone {
		attrs = append(attrs, slog.String("action", e.Action.String()))
	}
	if e.Request.RemoteAddr != "" {
		attrs = append(attrs, slog.String("remote_addr", e.Request.RemoteAddr))
	}
	m.cfg.logger.LogAttrs(ctx, level, "keycard session event", attrs...)
}
