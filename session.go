package keycard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keycard-go/keycard/internal/jsonobj"
	"github.com/keycard-go/keycard/storage"
)

// Session is one request's view of its session. The middleware creates it;
// handlers reach it with FromContext. Reads load the session on first use;
// writes are kept in memory and committed once, before the first byte of the
// response. A Session is safe for concurrent use by the goroutines of one
// request, and useless after the request ends.
//
// How the session is kept (in the store, or sealed in the cookie) is its
// mode's business: Session holds the request's state only, and hands
// loading, committing and ending to the mode of its transport.
type Session struct {
	m    *Manager
	mode mode // the mode of the request's transport
	r    *http.Request
	mu   sync.Mutex
	at   time.Time // the request's time, read once (see clock)

	cred credential // what the request presented
	got  found      // what loading it found
	p    pending    // what the request changes, applied at commit
	out  outcome    // what the commit did
}

// credential is what a request presented.
type credential struct {
	transport Kind         // KindBrowser (a cookie, or no credential) or KindAPI (bearer)
	token     Token        // the presented token or sealed value; "" when none was well formed
	hash      storage.Hash // the token's hash, for sessions kept in the store
	reason    Reason       // why a presented credential was refused before any lookup; "" if it was not
}

// found is what loading the credential found. (The fields of these
// structs are ordered to pack: every request allocates a Session.)
type found struct {
	err         error           // the store failed; the response becomes 503
	rec         *storage.Record // the live session; nil while there is none
	gen         uint64          // a sealed session: the subject's generation it was sealed under
	subjectGen  uint64          // a sealed session: the subject's current generation
	retryAfter  time.Duration   // when rateLimited: when the network may try again
	done        bool
	viaGrace    bool // rec was reached through a renewed token's grace window
	rateLimited bool // the credential was invalid and its network is over the guard's limit
}

// pending is what the request changes, applied at commit.
type pending struct {
	changes     changes         // keys set or deleted; non-nil: a session is wanted
	subject     string          // the subject Login binds
	replaced    *storage.Record // the session a login that changed the subject ends
	destroyed   *storage.Record // the session Logout ends
	persistent  *bool           // SetRememberMe
	idleTimeout time.Duration   // SetIdleTimeout; -1 restores the Manager's
	absTimeout  time.Duration   // SetAbsoluteTimeout
	csrf        []byte          // a CSRF secret saved by this request
	login       bool            // Login was called: bind subject, replace the token
	renew       bool            // replace the token without grace (Login, Renew, remember-me)
	fresh       bool            // got.rec is a new session not stored yet (a login that changed the subject)
	reauth      bool            // the guard asked for re-authentication
}

// changed reports whether p changes the session whatever its activity.
func (p *pending) changed() bool {
	return p.renew || p.changes != nil || p.login || p.reauth || p.csrf != nil ||
		p.persistent != nil || p.idleTimeout != 0 || p.absTimeout > 0
}

// outcome is what the commit did, for the response's headers.
type outcome struct {
	newToken    Token // the token (or sealed value) issued by the commit
	committed   bool
	hijacked    bool // the connection is hijacked: no header reaches the client
	clearCookie bool // the presented cookie should be removed
}

// clock returns the time of this request: read from the Manager's clock on
// first use and kept, so that one request sees one time. A commit therefore
// uses the time the session was loaded, which can only make deadlines it
// writes earlier, never later. s.mu is held.
func (s *Session) clock() time.Time {
	if s.at.IsZero() {
		s.at = s.m.now()
	}
	return s.at
}

type ctxKey struct{}

// FromContext returns the request's Session. Outside Manager.Handler it
// returns a detached Session that reads as anonymous and whose writes return
// ErrNoMiddleware, so a forgotten middleware is a clear error, not a panic.
func FromContext(ctx context.Context) *Session {
	if s, ok := ctx.Value(ctxKey{}).(*Session); ok {
		return s
	}
	return &Session{got: found{done: true, err: ErrNoMiddleware}}
}

// Login binds subject to the request's session (creating one if needed) and
// replaces its token: the pre-login token stops working when the response
// is committed, so a token planted before login (session fixation) is worth
// nothing. Call it again to record a re-authentication. It returns
// ErrWrongKind for requests authenticated by a bearer token (use Manager.Issue
// for API logins) and ErrNoMiddleware outside the middleware.
func Login(ctx context.Context, subject string) error { return FromContext(ctx).Login(subject) }

// Logout ends the request's session: the record is destroyed when the
// response is committed, the cookie is expired, and the response carries
// Clear-Site-Data and Cache-Control: no-store.
func Logout(ctx context.Context) error { return FromContext(ctx).Logout() }

// Renew replaces the request's session token at once (no grace window), for
// a privilege change other than login, such as a step-up.
func Renew(ctx context.Context) error { return FromContext(ctx).Renew() }

// load resolves the presented credential once. s.mu is held.
func (s *Session) load() {
	if s.got.done {
		return
	}
	s.got.done = true
	if s.cred.reason != "" {
		s.m.emit(s.r.Context(), Event{Type: EventInvalidToken, Kind: s.cred.transport, Reason: s.cred.reason, Request: requestOf(s.r)})
		s.out.clearCookie = s.cred.transport == KindBrowser
		s.invalid()
		return
	}
	if s.cred.token == "" {
		return
	}
	s.mode.load(s)
	if s.got.err != nil {
		return
	}
	if s.got.rec == nil {
		s.invalid()
		return
	}
	s.checkClient(s.r.Context())
}

// hijacking prepares the commit of a request whose connection is about to be
// hijacked: no header will reach the client, so nothing may replace its
// token. A pending explicit rotation cannot be delivered and is an error.
func (s *Session) hijacking() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p.renew && !s.out.committed {
		return errHijackAfterRotation
	}
	s.out.hijacked = true
	return nil
}

// invalid counts an invalid token against the client's network and notes
// whether the network is over the guard's limit. s.mu is held.
func (s *Session) invalid() {
	if g := s.m.cfg.guard; g != nil {
		ok, retry := g.Invalid(s.r)
		s.got.rateLimited, s.got.retryAfter = !ok, retry
	}
}

// decodeData returns the values of rec, which may be nil. Data is written
// only by Keycard as a JSON object; a record that does not decode is
// treated as empty rather than failing the request.
func decodeData(rec *storage.Record) map[string]json.RawMessage {
	if rec == nil {
		return map[string]json.RawMessage{}
	}
	return jsonobj.Decode(rec.Data)
}

// Err returns the error that prevented loading the session (it wraps
// ErrStoreUnavailable), or nil. While it is non-nil the session looks
// anonymous and the middleware answers the request with 503. Outside the
// middleware it is ErrNoMiddleware.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.got.err
}

// Raw returns the JSON encoding of key's value and whether it is set.
func (s *Session) Raw(key string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	// This request's own writes first, then the stored values, scanned for
	// the one key rather than decoded whole.
	if v, ok := s.p.changes.get(key); ok {
		return v, v != nil
	}
	if s.got.rec == nil {
		return nil, false
	}
	if v, ok, valid := jsonobj.Lookup(s.got.rec.Data, key); valid {
		return v, ok
	}
	v, ok := decodeData(s.got.rec)[key]
	return v, ok
}

// Has reports whether key is set.
func (s *Session) Has(key string) bool {
	_, ok := s.Raw(key)
	return ok
}

// Keys returns the keys that are set, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.got.rec == nil && s.p.changes == nil {
		return nil
	}
	vals := decodeData(s.got.rec)
	s.p.changes.applyTo(vals)
	return slices.Sorted(maps.Keys(vals))
}

// GetString returns key's value if it is a JSON string, else "".
func (s *Session) GetString(key string) string {
	raw, ok := s.Raw(key)
	if !ok {
		return ""
	}
	// Fast path: a string without escapes needs no decoder.
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var v string
	_ = json.Unmarshal(raw, &v)
	return v
}

// GetInt returns key's value if it is a JSON integer that fits an int64, else 0.
func (s *Session) GetInt(key string) int64 { v, _, _ := Get[int64](s, key); return v }

// GetFloat returns key's value if it is a JSON number, else 0.
func (s *Session) GetFloat(key string) float64 { v, _, _ := Get[float64](s, key); return v }

// GetBool returns key's value if it is a JSON boolean, else false.
func (s *Session) GetBool(key string) bool { v, _, _ := Get[bool](s, key); return v }

// Get decodes key's value into a T. ok is false when key is not set; err is
// the decoding error when the value is not a T.
func Get[T any](s *Session, key string) (v T, ok bool, err error) {
	raw, ok := s.Raw(key)
	if !ok {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, true, fmt.Errorf("keycard: value of %q: %w", key, err)
	}
	return v, true, nil
}

// Put sets key to v, marshalled with encoding/json. On a request without a
// session, Put starts one (with a fresh token; a presented unknown token is
// never adopted). It returns ErrNoSession on an API request without a valid
// token, the store error when the session could not be loaded, and, for a
// sealed session that would no longer fit in its cookie, ErrTooLarge (the
// value is then not set).
//
// On a store that implements storage.Merger, a browser request that writes
// without reading its session does not read it at all: the writes reach the
// store as one Merge when the response is committed, and a store failure
// then turns the response into the 503 a failed read would have given.
func (s *Session) Put(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("keycard: value of %q: %w", key, err)
	}
	return s.set(key, b)
}

// Delete unsets key.
func (s *Session) Delete(key string) error { return s.set(key, nil) }

func (s *Session) set(key string, b json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode != nil && s.mode.deferWrite(s) {
		s.p.changes = s.p.changes.with(key, b) // no read now: the commit merges
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	before := s.p.changes
	s.p.changes = s.p.changes.with(key, b)
	if err := s.mode.fits(s); err != nil {
		s.p.changes = before
		return err
	}
	return nil
}

// writable loads the session and says whether this request may change it. s.mu is held.
func (s *Session) writable() error {
	s.load()
	switch {
	case s.got.err != nil:
		return s.got.err
	case s.out.committed:
		return errors.New("keycard: session already committed; change it before writing the response")
	case s.got.rec == nil && s.cred.transport == KindAPI:
		return ErrNoSession
	}
	return nil
}

// rotatable is writable for the changes that replace a browser session's
// token (Login, Renew, remember-me), which API sessions refuse with
// ErrWrongKind. s.mu is held.
func (s *Session) rotatable() error {
	if err := s.writable(); err != nil {
		return err
	}
	if s.cred.transport == KindAPI {
		return ErrWrongKind
	}
	return nil
}

// Login binds subject and replaces the token; see the package-level Login.
func (s *Session) Login(subject string) error {
	if subject == "" {
		return errors.New("keycard: Login needs a subject")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rotatable(); err != nil {
		return err
	}
	if err := s.mode.admitLogin(s, subject); err != nil {
		return err
	}
	got, p := s.got, s.p
	switch {
	case s.got.rec == nil:
		// A login on a request without a session starts one now, so that
		// Info and ID tell the handler the session it is making.
		s.got.rec, s.p.fresh = s.m.newRecord(s.clock(), KindBrowser, ""), true
	case s.got.rec.Subject != subject && !s.p.fresh:
		s.startOver()
	}
	s.p.login, s.p.subject, s.p.renew, s.p.csrf = true, subject, true, nil
	if err := s.mode.fits(s); err != nil {
		s.got, s.p = got, p // a subject too long for a sealed cookie: nothing changed
		return err
	}
	return nil
}

// startOver replaces the loaded session by a new one for a login that
// changes the subject: a new ID and deadlines, and the old session ended at
// commit. The values of an anonymous session carry over (a shopping cart
// survives signing in); those of another subject never do, so that Bob never
// sees Alice's values and nothing that names Alice's session ID (her access
// tokens, RevokeAll("alice")) reaches Bob's. An application that wants to
// keep a value across such a login reads it before Login and puts it after.
// s.mu is held.
func (s *Session) startOver() {
	old := s.got.rec
	next := s.m.newRecord(s.clock(), KindBrowser, "")
	if old.Subject == "" {
		next.Data = old.Data
	}
	s.p.replaced, s.got.rec, s.p.fresh = old, next, true
	s.got.viaGrace, s.p.reauth = false, false
}

// Logout ends the session; see the package-level Logout. Values put after
// Logout start a new anonymous session.
func (s *Session) Logout() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil && !errors.Is(err, ErrNoSession) {
		return err
	}
	destroyed := s.got.rec
	if s.p.fresh {
		destroyed = s.p.replaced // the stored session, not the unsaved new one
	}
	s.got.rec, s.got.viaGrace = nil, false
	s.p = pending{destroyed: destroyed}
	s.out.clearCookie = s.cred.transport == KindBrowser
	return nil
}

// Renew replaces the token without a grace window; see the package-level Renew.
func (s *Session) Renew() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rotatable(); err != nil {
		return err
	}
	s.p.renew, s.p.csrf = true, nil
	return nil
}

// SetRememberMe makes the session persistent or not. On, it gets the
// limits of Options.RememberMe: its cookie carries Max-Age, its idle timeout
// is RememberMe.IdleTimeout and it ends RememberMe.AbsoluteTimeout after its
// last login at the latest. Off, it is a browser-session cookie again with
// the Manager's timeouts. The change takes effect with a fresh token, like
// any privilege change. SetRememberMe(true) returns ErrRememberMeOff when
// Options.RememberMe is not configured, rather than doing almost nothing.
func (s *Session) SetRememberMe(on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rotatable(); err != nil {
		return err
	}
	if on && s.m.cfg.remember.AbsoluteTimeout == 0 {
		return ErrRememberMeOff
	}
	s.p.persistent, s.p.renew, s.p.csrf = &on, true, nil
	return nil
}

// SetIdleTimeout overrides the idle timeout of this session; it may not
// exceed the longest lifetime a session can have (the absolute timeout, or
// RememberMe.AbsoluteTimeout when longer), and the idle deadline never
// passes the session's absolute deadline. Zero restores the Manager's.
func (s *Session) SetIdleTimeout(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if d < 0 || d > s.m.cfg.lifetime {
		return fmt.Errorf("keycard: idle timeout %v outside (0, %v]", d, s.m.cfg.lifetime)
	}
	s.p.idleTimeout = d
	if d == 0 {
		s.p.idleTimeout = -1 // restore the default
	}
	return nil
}

// SetAbsoluteTimeout shortens this session's absolute lifetime to d from its
// creation. A session's absolute deadline never moves later, so a d beyond
// the current deadline changes nothing.
func (s *Session) SetAbsoluteTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("keycard: absolute timeout %v must be positive", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	s.p.absTimeout = d
	return nil
}

// Info describes the session, with its pending changes applied (after Login
// the subject is the new one). ok is false while the request has no session.
func (s *Session) Info() (info Info, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.got.rec == nil {
		return Info{}, false
	}
	info = infoOf(s.got.rec)
	if s.p.login {
		info.Subject = s.p.subject
	}
	return info, true
}

// String describes the session for logs and debugging without its token,
// its values or its subject: "keycard.Session{id: …, kind: browser, token:
// REDACTED}". It never loads the session from the store.
func (s *Session) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	b.WriteString("keycard.Session{")
	switch rec := s.got.rec; {
	case rec != nil:
		b.WriteString("id: ")
		b.WriteString(rec.ID)
		b.WriteString(", kind: ")
		b.WriteString(rec.Kind.String())
		if rec.Subject != "" || s.p.login {
			b.WriteString(", authenticated")
		}
	case !s.got.done:
		b.WriteString("not loaded")
	default:
		b.WriteString("none")
	}
	if s.cred.token != "" || s.out.newToken != "" {
		b.WriteString(", token: REDACTED")
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, for the %#v verb.
func (s *Session) GoString() string { return s.String() }

// LogValue describes the session to log/slog with the fields of String:
// the session ID and kind, never the token, the values or the subject.
func (s *Session) LogValue() slog.Value {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.got.rec
	if rec == nil {
		return slog.GroupValue(slog.Bool("loaded", s.got.done), slog.String("token", "REDACTED"))
	}
	return slog.GroupValue(slog.String("id", rec.ID), slog.String("kind", rec.Kind.String()),
		slog.Bool("authenticated", rec.Subject != "" || s.p.login), slog.String("token", "REDACTED"))
}

// ID returns the public ID of the session, or "" while there is none.
func (s *Session) ID() string { i, _ := s.Info(); return i.ID }

// Subject returns the subject bound to the session, or "" while anonymous.
func (s *Session) Subject() string { i, _ := s.Info(); return i.Subject }

// IsAuthenticated reports whether a subject is bound to the session.
func (s *Session) IsAuthenticated() bool { return s.Subject() != "" }

// commit writes the request's changes through its mode. It runs once,
// before the first byte of the response. A non-nil error turns the response
// into an error response.
func (s *Session) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out.committed {
		return s.got.err
	}
	s.out.committed = true
	return s.mode.commit(s.r.Context(), s, s.clock())
}

// endSessions ends the sessions this request's Logout or login as another
// subject ended, through the mode, and reports them. s.mu is held.
func (s *Session) endSessions(ctx context.Context, now time.Time) error {
	for _, ended := range [...]*storage.Record{s.p.destroyed, s.p.replaced} {
		if ended == nil {
			continue
		}
		did, err := s.mode.end(ctx, ended, now)
		if err != nil {
			return s.fail(err)
		}
		if !did {
			continue // already ended by another request, which reported it
		}
		// EventDestroyed for a logout, and for an authenticated session that
		// a login as another subject replaced (reason "login"). The
		// anonymous session a sign-in replaces ends silently: the sign-in's
		// EventCreated and EventAuthenticated say what happened.
		e := Event{Type: EventDestroyed, Time: now, SessionID: ended.ID, Subject: ended.Subject, Kind: ended.Kind, Request: requestOf(s.r)}
		if ended != s.p.destroyed {
			if ended.Subject == "" {
				continue
			}
			e.Reason = ReasonLogin
		}
		s.m.emit(ctx, e)
	}
	return nil
}

func (s *Session) fail(err error) error {
	s.got.err = storeErr(err)
	return s.got.err
}

// emitIssued reports the new token a commit issued for rec: EventCreated
// (and EventAuthenticated for a login) for a new session, and
// EventAuthenticated or EventRenewed for a new token of an existing one.
// s.mu is held.
func (s *Session) emitIssued(ctx context.Context, rec *storage.Record, created bool, now time.Time) {
	e := Event{Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: rec.Kind, Request: requestOf(s.r)}
	if created {
		e.Type = EventCreated
		s.m.emit(ctx, e)
		if !s.p.login {
			return
		}
	}
	e.Type = EventRenewed
	if s.p.login {
		e.Type = EventAuthenticated
	}
	s.m.emit(ctx, e)
}

// apply writes the request's changes into next and reports whether they need
// a store write (or a new seal); now is the commit time and force says a
// write happens anyway. It replaces next.Data and next.Meta rather than
// editing them, so next may share them with the record read.
func (s *Session) apply(next *storage.Record, now time.Time, force bool) bool {
	p := &s.p
	write := force || p.changed()
	if p.changes != nil {
		next.Data = storage.MergeData(next.Data, p.changes)
	}
	if p.login {
		next.Subject, next.AuthenticatedAt = p.subject, now
		next.IP, next.UserAgent = clientOf(s.r)
		if g := s.m.cfg.guard; g != nil {
			next.Fingerprint = g.Fingerprint(s.r)
		}
	}
	if p.login || p.reauth || p.renew || p.csrf != nil {
		md := readMeta(next)
		if p.login || p.reauth {
			md.Reauth = !p.login
		}
		if p.renew {
			md.CSRF = nil // a privilege change forgets the CSRF secret
		}
		if p.csrf != nil {
			md.CSRF = p.csrf
		}
		next.Meta = md.encode()
	}
	if p.persistent != nil {
		s.m.cfg.setPersistent(next, *p.persistent)
	}
	if p.idleTimeout != 0 {
		next.IdleTimeout = max(p.idleTimeout, 0)
	}
	if p.absTimeout > 0 {
		if d := next.CreatedAt.Add(p.absTimeout); d.Before(next.ExpiresAt) {
			next.ExpiresAt = d
		}
	}
	if write || s.m.cfg.touchDue(next, now) {
		next.LastSeenAt, next.IdleExpiresAt = now, s.m.cfg.idleDeadline(next, now)
		write = true
	}
	return write
}

func encodeData(v map[string]any) ([]byte, error) {
	if len(v) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("keycard: session data: %w", err)
	}
	return b, nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// clientIP returns the host part of r.RemoteAddr.
func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
