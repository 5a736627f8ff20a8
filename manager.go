package keycard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// Manager creates, loads and ends sessions. It is safe for concurrent use.
//
// Every request's session is kept by one mode, chosen once in New: API
// sessions always in the store, browser sessions in the store too unless
// Options.Sealer turns on sealed-cookie mode. server.go and sealed.go hold
// each mode whole.
type Manager struct {
	store   storage.Store
	cfg     *config
	server  *serverMode // API sessions, and browser sessions unless sealed
	browser mode        // browser sessions: server, or a *sealedMode
	stop    func()      // stops the background work of the modes (Close)
}

// mode is how a Manager keeps one transport's sessions. The Session of a
// request holds the request's state and hands its mode what depends on
// where the session lives. Methods that take a Session run with its mutex
// held.
type mode interface {
	// load resolves s.cred into s.got (rec nil when it opens no session),
	// reporting the events its checks raise, and s.got.err when the store
	// failed.
	load(s *Session)
	// deferWrite reports whether a value change may skip loading the
	// session, to reach the store as one Merge at commit.
	deferWrite(s *Session) bool
	// admitLogin checks a login of subject before Login accepts it.
	admitLogin(s *Session, subject string) error
	// fits reports, as ErrTooLarge, a session that would no longer fit where
	// the mode keeps it with s's pending changes applied.
	fits(s *Session) error
	// commit writes s's pending changes, ending what s ended first (see
	// Session.endSessions) and issuing s.out.newToken when a token changes.
	commit(ctx context.Context, s *Session, now time.Time) error
	// end ends the session rec at once, wherever it is presented next, and
	// reports whether it was still live. It never needs the token.
	end(ctx context.Context, rec *storage.Record, now time.Time) (bool, error)
	// cookie appends the Set-Cookie lines that carry tok for rec.
	cookie(h http.Header, tok Token, rec *storage.Record)
	// expire appends the Set-Cookie lines that remove the session's cookies.
	expire(h http.Header)
	// revoke, revokeAll and active are Manager.Revoke, Manager.RevokeAll
	// and Manager.Active for the sessions of this mode (and, for a browser
	// mode, the API sessions kept in the store).
	revoke(ctx context.Context, id string, now time.Time) error
	revokeAll(ctx context.Context, subject, exceptID string, now time.Time) (int, error)
	active(ctx context.Context, id string, now time.Time) (bool, error)
}

// New returns a Manager keeping sessions in store. A nil opts means every
// default. New refuses insecure combinations of options with an error.
// Call Close when the Manager is no longer used: in sealed-cookie mode it
// stops the watcher that keeps revocations cached.
func New(store storage.Store, opts *Options) (*Manager, error) {
	if store == nil {
		return nil, errors.New("keycard: nil Store")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	m := &Manager{store: store, cfg: cfg, stop: func() {}}
	m.server = newServerMode(m)
	m.browser = m.server
	if cfg.sealer != nil {
		sm := newSealedMode(m)
		m.browser, m.stop = sm, sm.close
	}
	return m, nil
}

// Close stops the Manager's background work (the revocation watcher of
// sealed-cookie mode). A closed Manager still answers, reading revocations
// from the store. Close is safe to call more than once.
func (m *Manager) Close() error {
	m.stop()
	return nil
}

// Store returns the store the Manager was created with.
func (m *Manager) Store() storage.Store { return m.store }

// CookieName returns the name of the browser session cookie.
func (m *Manager) CookieName() string { return m.cfg.cookieName }

// now returns the current time in the form stores keep: UTC, microseconds.
func (m *Manager) now() time.Time {
	return m.cfg.now().UTC().Truncate(time.Microsecond)
}

// modeOf returns the mode that keeps sessions of the transport kind.
func (m *Manager) modeOf(kind Kind) mode {
	if kind == KindBrowser {
		return m.browser
	}
	return m.server
}

// Info describes a session. It carries no token. Its JSON form is the
// session object of Keycard's HTTP API.
type Info struct {
	ID              string    `json:"id"`
	Subject         string    `json:"subject"`
	Kind            Kind      `json:"kind"`
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
		Kind:            r.Kind,
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

// Lookup returns the session that token opens when presented through the
// transport of kind, applying every check the middleware applies, without
// recording activity. It returns ErrInvalidToken for every kind of bad token
// and wraps ErrStoreUnavailable when the store fails. Trusted backends use it
// to introspect a token. Sealed browser sessions are not looked up this way:
// they are read from their cookie.
func (m *Manager) Lookup(ctx context.Context, token string, kind Kind) (Info, error) {
	t, err := ParseToken(token)
	if err != nil {
		m.emit(ctx, Event{Type: EventInvalidToken, Kind: kind, Reason: ReasonMalformed})
		return Info{}, ErrInvalidToken
	}
	res, err := m.server.resolve(ctx, nil, storage.HashToken(string(t)), kind, m.now())
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

// Issue creates a session in the store outside the middleware and returns
// its credentials: for an API or CLI login that hands the token over in a
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
	rec.IdleExpiresAt = m.cfg.idleDeadline(rec, now)
	if subject != "" {
		rec.AuthenticatedAt = now
	}
	return rec
}

// Active reports whether the session with public ID id is live: not
// destroyed, revoked, replaced or past a deadline. Services that receive
// access tokens carrying the session ID (the JWT "sid" claim) use it to
// honour a logout at once. A sealed session, which the server cannot see,
// is active unless it was ended by its ID (logout, Revoke); ActiveSealed
// also takes its subject's sign-out-everywhere into account.
func (m *Manager) Active(ctx context.Context, id string) (bool, error) {
	if !validID(id) {
		return false, nil
	}
	return m.browser.active(ctx, id, m.now())
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
		if r.LiveAt(now) && (r.Kind == KindBrowser || r.Kind == KindAPI) {
			out = append(out, infoOf(r))
		}
	}
	return out, nil
}

// Revoke ends the session whose public ID is id, at once, wherever its token
// is presented next. It returns ErrNotFound when there is no such live session.
//
// In sealed-cookie mode the server cannot tell whether a sealed session with
// that ID exists, so Revoke also denies the ID for the longest lifetime a
// session can have (the absolute timeout, or RememberMe.AbsoluteTimeout when
// longer) and returns nil unless the store fails.
func (m *Manager) Revoke(ctx context.Context, id string) error {
	if !validID(id) {
		return ErrNotFound // never a session's ID, whatever else it names
	}
	if err := m.browser.revoke(ctx, id, m.now()); err != nil {
		return err
	}
	m.emit(ctx, Event{Type: EventRevoked, SessionID: id, Reason: ReasonRevoke})
	return nil
}

// RevokeAll ends every session of subject except the one whose ID is
// exceptID (empty: all of them), "sign out everywhere", and returns how many
// it ended. Sealed sessions cannot be counted: they end too, by the
// subject's new revocation generation, but are not in the count.
func (m *Manager) RevokeAll(ctx context.Context, subject, exceptID string) (int, error) {
	if subject == "" {
		return 0, errors.New("keycard: RevokeAll needs a subject")
	}
	n, err := m.browser.revokeAll(ctx, subject, exceptID, m.now())
	if err != nil {
		return n, err
	}
	m.emit(ctx, Event{Type: EventRevoked, Subject: subject, Reason: ReasonRevokeAll})
	return n, nil
}

// validID reports whether id has the shape of a session ID Keycard issues
// (22 characters of base64url), so that nothing else a store keeps, such as
// the revocation entries of sealed sessions, can be named as a session.
func validID(id string) bool { return len(id) == idLen && isBase64URL(id) }
