package keycard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// Errors the Manager returns.
var (
	// ErrInvalidToken means the token is malformed, unknown, expired, destroyed,
	// or presented through the wrong transport. One error for every reason;
	// the reason goes to the event hook and the debug log only.
	ErrInvalidToken = errors.New("keycard: invalid session token")
	// ErrStoreUnavailable wraps an error from the store that is not one of its
	// sentinels. The middleware answers it with 503; nobody is logged out.
	ErrStoreUnavailable = errors.New("keycard: session store unavailable")
	// ErrTokenInURL means the request carries a session token in its URL query.
	ErrTokenInURL = errors.New("keycard: session token in URL; send it in the cookie or the Authorization header")
	// ErrAmbiguousCredentials means the request carries both a session cookie and a
	// bearer token, or several bearer tokens.
	ErrAmbiguousCredentials = errors.New("keycard: request carries more than one session credential")
	// ErrNoSession means the operation needs a session and the request has none
	// that the middleware may create (API requests without a valid token).
	ErrNoSession = errors.New("keycard: no session")
	// ErrNotFound is storage.ErrNotFound: Revoke returns it when there is no
	// live session with the ID.
	ErrNotFound = storage.ErrNotFound
	// ErrWrongKind means the operation is not available for this kind of session,
	// such as Login on a request authenticated by a bearer token.
	ErrWrongKind = errors.New("keycard: operation not available for this kind of session")
)

// Manager creates, loads and ends sessions. It is safe for concurrent use.
type Manager struct {
	store  storage.Store
	merger storage.Merger // store, when it implements Merger
	cfg    *config
	// commitLocks serialise commits to one session within this process, so
	// that compare-and-swap conflicts arise only between processes.
	commitLocks [64]sync.Mutex
}

// commitLock returns the lock for commits to the session id.
func (m *Manager) commitLock(id string) *sync.Mutex {
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return &m.commitLocks[h%uint32(len(m.commitLocks))]
}

// New returns a Manager keeping sessions in store. A nil opts means every
// default. New refuses insecure combinations of options with an error.
func New(store storage.Store, opts *Options) (*Manager, error) {
	if store == nil {
		return nil, errors.New("keycard: nil Store")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	m := &Manager{store: store, cfg: cfg}
	m.merger, _ = store.(storage.Merger)
	return m, nil
}

// Store returns the store the Manager was created with.
func (m *Manager) Store() storage.Store { return m.store }

// CookieName returns the name of the browser session cookie.
func (m *Manager) CookieName() string { return m.cfg.cookieName }

// now returns the current time in the form stores keep: UTC, microseconds.
func (m *Manager) now() time.Time {
	return m.cfg.now().UTC().Truncate(time.Microsecond)
}

// Info describes a session. It carries no token.
type Info struct {
	ID              string    `json:"id"`
	Subject         string    `json:"subject"`
	Kind            string    `json:"kind"`
	CreatedAt       time.Time `json:"created_at"`
	AuthenticatedAt time.Time `json:"authenticated_at,omitzero"`
	LastSeenAt      time.Time `json:"last_seen_at"`
	IdleExpiresAt   time.Time `json:"idle_expires_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	IP              string    `json:"ip,omitempty"`
	UserAgent       string    `json:"user_agent,omitempty"`
	Persistent      bool      `json:"persistent,omitempty"`
}

func infoOf(r *storage.Record) Info {
	return Info{
		ID:              r.ID,
		Subject:         r.Subject,
		Kind:            r.Kind.String(),
		CreatedAt:       r.CreatedAt,
		AuthenticatedAt: r.AuthenticatedAt,
		LastSeenAt:      r.LastSeenAt,
		IdleExpiresAt:   r.IdleExpiresAt,
		ExpiresAt:       r.ExpiresAt,
		IP:              r.IP,
		UserAgent:       r.UserAgent,
		Persistent:      r.Persistent,
	}
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

// maxGraceHops bounds how many rotated tombstones a lookup follows.
const maxGraceHops = 4

// resolved is the outcome of looking a token up.
type resolved struct {
	rec       *storage.Record // the live record, nil when the token is not usable
	viaGrace  bool            // the token was rotated and resolved through its grace window
	reason    string          // why rec is nil: "unknown", "destroyed", "expired", ...
	clearable bool            // the client should drop its cookie
}

// resolve looks up the token hash h presented through transport kind and
// applies every server-side check: kind, tombstones, grace window, replay,
// idle and absolute deadlines. It emits the events those checks raise. The
// error is non-nil only when the store failed.
func (m *Manager) resolve(ctx context.Context, r *http.Request, h storage.Hash, kind Kind, now time.Time) (resolved, error) {
	rec, err := m.store.Get(ctx, h)
	if errors.Is(err, storage.ErrNotFound) {
		m.emit(ctx, Event{Type: EventInvalidToken, Time: now, Kind: kind, Reason: "unknown", Request: requestOf(r)})
		return resolved{reason: "unknown", clearable: true}, nil
	}
	if err != nil {
		return resolved{}, storeErr(err)
	}
	if rec.Kind != kind {
		// A browser token sent as a bearer token, or the reverse: refuse it
		// without touching the session, whose owner may be the victim.
		m.emit(ctx, Event{Type: EventInvalidToken, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Reason: "wrong-kind", Request: requestOf(r)})
		return resolved{reason: "wrong-kind"}, nil
	}
	viaGrace := false
	for hops := 0; rec.State == storage.StateRotated; hops++ {
		if rec.GraceUntil.IsZero() {
			// Replaced at a privilege change (login, step-up): the old token
			// belonged to the lesser privilege, and whoever holds it (maybe a
			// fixation attacker) must not be able to end the new session.
			m.emit(ctx, Event{Type: EventInvalidToken, Time: now, SessionID: rec.ID, Kind: kind, Reason: "replaced", Request: requestOf(r)})
			return resolved{reason: "replaced", clearable: true}, nil
		}
		if hops == maxGraceHops || !now.Before(rec.GraceUntil) {
			// A replaced token used after its grace window: the old token and
			// the new one are now held by two parties, one of them possibly an
			// attacker. OWASP's Session Management Cheat Sheet ("Renewal of the
			// Session ID") and RFC 9700 section 4.14.2 (refresh token reuse)
			// both resolve this by ending the session for everyone.
			m.emit(ctx, Event{Type: EventReplay, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Reason: "rotated-token-after-grace", Request: requestOf(r)})
			err := m.store.DeleteByID(ctx, rec.ID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return resolved{}, storeErr(err)
			}
			if err == nil {
				m.emit(ctx, Event{Type: EventRevoked, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Reason: "replay", Request: requestOf(r)})
			}
			return resolved{reason: "replay", clearable: true}, nil
		}
		next, err := m.store.Get(ctx, rec.Successor)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return resolved{}, storeErr(err)
		}
		if err != nil || next.ID != rec.ID || next.Kind != rec.Kind {
			// A successor must be the same session under a new token; anything
			// else (a store fault) must never hand over another session.
			m.emit(ctx, Event{Type: EventInvalidToken, Time: now, SessionID: rec.ID, Kind: kind, Reason: "unknown", Request: requestOf(r)})
			return resolved{reason: "unknown", clearable: true}, nil
		}
		rec, viaGrace = next, true
	}
	if rec.State == storage.StateDestroyed {
		m.emit(ctx, Event{Type: EventInvalidToken, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Reason: "destroyed", Request: requestOf(r)})
		return resolved{reason: "destroyed", clearable: true}, nil
	}
	if !now.Before(rec.ExpiresAt) || !now.Before(rec.IdleExpiresAt) {
		m.emit(ctx, Event{Type: EventExpired, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Request: requestOf(r)})
		return resolved{reason: "expired", clearable: true}, nil
	}
	return resolved{rec: rec, viaGrace: viaGrace}, nil
}

// Lookup returns the session that token opens when presented through the
// transport of kind, applying every check the middleware applies, without
// recording activity. It returns ErrInvalidToken for every kind of bad token
// and wraps ErrStoreUnavailable when the store fails. Trusted backends use it
// to introspect a token.
func (m *Manager) Lookup(ctx context.Context, token string, kind Kind) (Info, error) {
	t, err := ParseToken(token)
	if err != nil {
		m.emit(ctx, Event{Type: EventInvalidToken, Kind: kind, Reason: "malformed"})
		return Info{}, ErrInvalidToken
	}
	res, err := m.resolve(ctx, nil, storage.HashToken(string(t)), kind, m.now())
	if err != nil {
		return Info{}, err
	}
	if res.rec == nil {
		return Info{}, ErrInvalidToken
	}
	return infoOf(res.rec), nil
}

// IssueOptions describes a session created by Issue.
type IssueOptions struct {
	Subject   string         // the authenticated user; empty for an anonymous session
	Kind      Kind           // KindAPI (the default when zero) or KindBrowser
	IP        string         // client address to record (at most 64 bytes are kept)
	UserAgent string         // client user agent to record (at most 512 bytes are kept)
	Data      map[string]any // initial application values, marshalled to JSON
	Raw       []byte         // initial application values as a JSON object; overrides Data
	Request   *http.Request  // the request, passed to the event hook; may be nil
}

// Issue creates a session outside the middleware and returns its
// credentials: for an API or CLI login that hands the token over in a
// response body, or a trusted backend creating sessions for its users. API
// sessions also get a refresh token (see Refresh). Tokens are shown once; only
// their hashes are stored.
func (m *Manager) Issue(ctx context.Context, o IssueOptions) (Credentials, error) {
	kind := o.Kind
	if kind == 0 {
		kind = KindAPI
	}
	if kind != KindAPI && kind != KindBrowser {
		return Credentials{}, fmt.Errorf("keycard: invalid kind %d", kind)
	}
	data := o.Raw
	if data == nil && o.Data != nil {
		var err error
		if data, err = encodeData(o.Data); err != nil {
			return Credentials{}, err
		}
	}
	if data != nil && !isJSONObject(data) {
		return Credentials{}, errors.New("keycard: session data must be a JSON object")
	}
	now := m.now()
	rec := m.newRecord(now, kind, o.Subject)
	rec.IP, rec.UserAgent, rec.Data = capString(o.IP, maxIP), capString(o.UserAgent, maxUserAgent), data
	var c Credentials
	if kind == KindAPI {
		var md meta
		c.RefreshToken, md.Refresh = newRefresh(rec.ID)
		rec.Meta = md.encode()
	}
	c.Token, rec.Hash = newToken()
	if err := m.store.Create(ctx, rec); err != nil {
		return Credentials{}, storeErr(err)
	}
	m.emit(ctx, Event{Type: EventCreated, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Request: requestOf(o.Request)})
	if rec.Subject != "" {
		m.emit(ctx, Event{Type: EventAuthenticated, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Request: requestOf(o.Request)})
	}
	c.Session = infoOf(rec)
	return c, nil
}

// newRecord returns a live record with a fresh ID and deadlines from now.
func (m *Manager) newRecord(now time.Time, kind Kind, subject string) *storage.Record {
	rec := &storage.Record{
		ID:         newID(),
		Subject:    subject,
		Kind:       kind,
		CreatedAt:  now,
		RenewedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(m.cfg.absolute),
	}
	rec.IdleExpiresAt = now.Add(m.cfg.idle)
	if subject != "" {
		rec.AuthenticatedAt = now
	}
	return rec
}

// idleTimeout returns the idle timeout that applies to rec.
func (m *Manager) idleTimeout(rec *storage.Record) time.Duration {
	if rec.IdleTimeout > 0 {
		return rec.IdleTimeout
	}
	return m.cfg.idle
}

// idleDeadline returns the idle deadline of rec for activity at now, capped
// by the absolute deadline.
func (m *Manager) idleDeadline(rec *storage.Record, now time.Time) time.Time {
	d := now.Add(m.idleTimeout(rec))
	if d.After(rec.ExpiresAt) {
		return rec.ExpiresAt
	}
	return d
}

// Active reports whether the session with public ID id is live: not
// destroyed, revoked, replaced or past a deadline. Services that receive
// access tokens carrying the session ID (the JWT "sid" claim) use it to
// honour a logout at once. Sealed sessions are reported active unless denied.
func (m *Manager) Active(ctx context.Context, id string) (bool, error) {
	rec, err := m.store.GetByID(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound) && m.cfg.sealer != nil:
		denied, err := m.store.Get(ctx, denyHash(id))
		if errors.Is(err, storage.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, storeErr(err)
		}
		return denied.State != storage.StateLive, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	case err != nil:
		return false, storeErr(err)
	}
	now := m.now()
	return rec.State == storage.StateLive && now.Before(rec.ExpiresAt) && now.Before(rec.IdleExpiresAt), nil
}

// List returns the live sessions of subject that have not expired. Sealed
// sessions live in their clients and are not listed.
func (m *Manager) List(ctx context.Context, subject string) ([]Info, error) {
	if subject == "" {
		return nil, nil
	}
	recs, err := m.store.List(ctx, subject)
	if err != nil {
		return nil, storeErr(err)
	}
	now := m.now()
	out := make([]Info, 0, len(recs))
	for _, r := range recs {
		if r.State == storage.StateLive && now.Before(r.ExpiresAt) && now.Before(r.IdleExpiresAt) {
			out = append(out, infoOf(r))
		}
	}
	return out, nil
}

// Revoke ends the session whose public ID is id, at once, wherever its token
// is presented next. It returns ErrNotFound when there is no such live session.
//
// In sealed-cookie mode the server cannot tell whether a sealed session with
// that ID exists, so Revoke denies the ID for the longest lifetime a session
// can have (the absolute timeout, or RememberMe.AbsoluteTimeout when longer)
// and returns nil unless the store fails.
func (m *Manager) Revoke(ctx context.Context, id string) error {
	err := m.store.DeleteByID(ctx, id)
	if m.cfg.sealer != nil && (err == nil || errors.Is(err, storage.ErrNotFound)) {
		err = m.deny(ctx, id, m.now().Add(m.cfg.lifetime))
	}
	if err != nil {
		return storeErr(err)
	}
	m.emit(ctx, Event{Type: EventRevoked, SessionID: id, Reason: "revoke"})
	return nil
}

// RevokeAll ends every session of subject except the one whose ID is
// exceptID (empty: all of them), "sign out everywhere", and returns how many
// it ended.
func (m *Manager) RevokeAll(ctx context.Context, subject, exceptID string) (int, error) {
	if subject == "" {
		return 0, errors.New("keycard: RevokeAll needs a subject")
	}
	n, err := m.store.DeleteSubject(ctx, subject, exceptID)
	if err != nil {
		return n, storeErr(err)
	}
	if m.cfg.sealer != nil {
		// Sealed sessions cannot be counted; they end through not-before.
		if err := m.setNotBefore(ctx, subject, exceptID); err != nil {
			return n, err
		}
	}
	m.emit(ctx, Event{Type: EventRevoked, Subject: subject, Reason: "revoke-all"})
	return n, nil
}
