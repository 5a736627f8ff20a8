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

// maxCommitAttempts bounds how often a commit re-reads the session after a
// concurrent write before it gives up with ErrConflict.
const maxCommitAttempts = 8

// Session is one request's view of its session. The middleware creates it;
// handlers reach it with FromContext. Reads load the session from the store
// on first use; writes are kept in memory and committed once, before the
// first byte of the response. A Session is safe for concurrent use by the
// goroutines of one request, and useless after the request ends.
type Session struct {
	m  *Manager
	r  *http.Request
	mu sync.Mutex

	transport Kind  // KindBrowser (cookie, or no credential) or KindAPI (bearer)
	token     Token // the presented token, "" when none was valid-looking
	hash      storage.Hash
	reason    string // why a presented credential was refused before lookup

	rateLimited bool          // the credential was invalid and its network is over the guard's limit
	retryAfter  time.Duration // when rateLimited: when the network may try again

	loaded      bool
	err         error           // store failure; the response becomes 503
	rec         *storage.Record // the live record; nil while anonymous
	viaGrace    bool            // rec was reached through a rotated token's grace window
	clearCookie bool            // the presented cookie should be removed

	changes changes // keys this request set or deleted; non-nil: a session is wanted

	login       bool            // Login was called: bind subject, rotate
	subject     string          // the subject Login binds
	renew       bool            // rotate without grace (Login, Renew, remember-me change)
	autoRenew   bool            // renewal timeout reached: rotate with grace
	fresh       bool            // rec is a new session not stored yet (a login as another subject)
	replaced    *storage.Record // the session a login as another subject ends at commit
	destroyed   *storage.Record
	persistent  *bool
	idleTimeout time.Duration
	absTimeout  time.Duration
	reauth      bool   // the guard asked for re-authentication on this request
	csrf        []byte // a CSRF secret saved by this request

	committed bool
	hijacked  bool      // the connection is hijacked: no header reaches the client
	newToken  Token     // the token issued by this request's commit
	at        time.Time // the request's time, read once (see clock)
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

// ErrNoMiddleware means the context carries no Session because the request did
// not pass through Manager.Handler. Every method of the Session that
// FromContext returns then fails with it (reads see an anonymous request).
var ErrNoMiddleware = errors.New("keycard: no session in this context: the request did not pass through Manager.Handler; wrap the handler with it")

// FromContext returns the request's Session. Outside Manager.Handler it
// returns a detached Session that reads as anonymous and whose writes return
// ErrNoMiddleware, so a forgotten middleware is a clear error, not a panic.
func FromContext(ctx context.Context) *Session {
	if s, ok := ctx.Value(ctxKey{}).(*Session); ok {
		return s
	}
	return &Session{loaded: true, err: ErrNoMiddleware}
}

// Login binds subject to the request's session (creating one if needed) and
// replaces its token: the pre-login token stops working when the response
// is committed, so a token planted before login (session fixation) is worth
// nothing. Call it again to record a re-authentication. It returns
// ErrWrongKind for requests authenticated by a bearer token (use Manager.Issue
// for API logins) and ErrNoMiddleware outside the middleware.
func Login(ctx context.Context, subject string) error {
	return withSession(ctx, func(s *Session) error { return s.Login(subject) })
}

// Logout ends the request's session: the record is destroyed when the
// response is committed, the cookie is expired, and the response carries
// Clear-Site-Data and Cache-Control: no-store.
func Logout(ctx context.Context) error { return withSession(ctx, (*Session).Logout) }

// Renew replaces the request's session token at once (no grace window), for
// a privilege change other than login, such as a step-up.
func Renew(ctx context.Context) error { return withSession(ctx, (*Session).Renew) }

func withSession(ctx context.Context, f func(*Session) error) error {
	return f(FromContext(ctx))
}

// sealed reports whether this request's session is a sealed cookie.
func (s *Session) sealed() bool { return s.m.cfg.sealer != nil && s.transport == KindBrowser }

// load resolves the presented token once. s.mu is held.
func (s *Session) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	if s.reason != "" {
		s.m.emit(s.r.Context(), Event{Type: EventInvalidToken, Kind: s.transport, Reason: s.reason, Request: requestOf(s.r)})
		s.clearCookie = s.transport == KindBrowser
		s.invalid()
		return
	}
	if s.token == "" {
		return
	}
	if s.sealed() {
		s.loadSealed()
	} else {
		res, err := s.m.resolve(s.r.Context(), s.r, s.hash, s.transport, s.clock())
		if err != nil {
			s.err = err
			return
		}
		s.rec, s.viaGrace = res.rec, res.viaGrace
		s.clearCookie = res.clearable && s.transport == KindBrowser
	}
	if s.err != nil {
		return
	}
	if s.rec == nil {
		s.invalid()
		return
	}
	s.checkClient(s.r.Context())
	s.autoRenew = s.renewalDue()
}

// hijacking prepares the commit of a request whose connection is about to be
// hijacked: no header will reach the client, so nothing may replace its
// token. A pending explicit rotation cannot be delivered and is an error.
func (s *Session) hijacking() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.renew && !s.committed {
		return errHijackAfterRotation
	}
	s.hijacked, s.autoRenew = true, false
	return nil
}

// renewalDue reports whether the loaded session's token has reached the
// renewal timeout and should be replaced (with a grace window) at commit.
// s.mu is held.
func (s *Session) renewalDue() bool {
	return s.rec != nil && !s.sealed() && s.transport == KindBrowser && s.m.cfg.renewal > 0 && !s.viaGrace && !s.hijacked &&
		s.clock().Sub(s.rec.RenewedAt) >= s.m.cfg.renewal
}

// mergeable reports whether a write may skip loading the session and go to
// the store as one Merge at commit (see commitMerge): the store is a Merger,
// the request came with a well-formed browser token, the session is not
// loaded yet, and no guard needs to see the record on this request.
// s.mu is held.
func (s *Session) mergeable() bool {
	return s.m != nil && !s.loaded && !s.committed && s.m.merger != nil && s.transport == KindBrowser &&
		s.token != "" && s.reason == "" && s.m.cfg.guard == nil && !s.sealed()
}

// invalid counts an invalid token against the client's network and notes
// whether the network is over the guard's limit. s.mu is held.
func (s *Session) invalid() {
	if g := s.m.cfg.guard; g != nil {
		ok, retry := g.Invalid(s.r)
		s.rateLimited, s.retryAfter = !ok, retry
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
	return s.err
}

// Raw returns the JSON encoding of key's value and whether it is set.
func (s *Session) Raw(key string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	// This request's own writes first, then the stored values, scanned for
	// the one key rather than decoded whole.
	if v, ok := s.changes.get(key); ok {
		return v, v != nil
	}
	if s.rec == nil {
		return nil, false
	}
	if v, ok, valid := jsonobj.Lookup(s.rec.Data, key); valid {
		return v, ok
	}
	v, ok := decodeData(s.rec)[key]
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
	if s.rec == nil && s.changes == nil {
		return nil
	}
	vals := decodeData(s.rec)
	s.changes.applyTo(vals)
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
// token, and the store error when the session could not be loaded.
//
// On a store that implements Merger, a browser request that writes without
// reading its session does not read it at all: the writes reach the store
// as one Merge when the response is committed, and a store failure then
// turns the response into the 503 a failed read would have given.
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
	if s.mergeable() {
		s.changes = s.changes.with(key, b) // no read now: see commitMerge
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	before := s.changes
	s.changes = s.changes.with(key, b)
	if s.sealed() && len(storage.MergeData(s.data(), s.changes)) > maxSealedData {
		s.changes = before
		return ErrTooLarge
	}
	return nil
}

// data returns the stored values of the loaded session. s.mu is held.
func (s *Session) data() []byte {
	if s.rec == nil {
		return nil
	}
	return s.rec.Data
}

// writable loads the session and says whether this request may change it. s.mu is held.
func (s *Session) writable() error {
	s.load()
	switch {
	case s.err != nil:
		return s.err
	case s.committed:
		return errors.New("keycard: session already committed; change it before writing the response")
	case s.rec == nil && s.transport == KindAPI:
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
	if s.transport == KindAPI {
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
	if !s.sealed() {
		keep := ""
		if s.rec != nil && s.rec.Subject == subject {
			keep = s.rec.ID // a re-authentication keeps its own place
		}
		if err := s.m.admit(s.r.Context(), subject, keep); err != nil {
			return err
		}
	}
	if s.rec != nil && s.rec.Subject != subject && !s.fresh {
		s.startOver()
	}
	s.login, s.subject, s.renew, s.csrf = true, subject, true, nil
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
	old := s.rec
	next := s.m.newRecord(s.clock(), KindBrowser, "")
	if old.Subject == "" {
		next.Data = old.Data
	}
	s.replaced, s.rec, s.fresh = old, next, true
	s.viaGrace, s.autoRenew, s.reauth = false, false, false
}

// Logout ends the session; see the package-level Logout. Values put after
// Logout start a new anonymous session.
func (s *Session) Logout() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil && !errors.Is(err, ErrNoSession) {
		return err
	}
	switch {
	case s.fresh:
		s.destroyed = s.replaced // the stored session, not the unsaved new one
	case s.rec != nil:
		s.destroyed = s.rec
	}
	s.rec, s.changes, s.fresh, s.replaced = nil, nil, false, nil
	s.login, s.renew, s.autoRenew, s.persistent, s.csrf = false, false, false, nil, nil
	s.idleTimeout, s.absTimeout = 0, 0
	s.clearCookie = s.transport == KindBrowser
	return nil
}

// Renew replaces the token without a grace window; see the package-level Renew.
func (s *Session) Renew() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rotatable(); err != nil {
		return err
	}
	s.renew, s.csrf = true, nil
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
	s.persistent, s.renew, s.csrf = &on, true, nil
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
	s.idleTimeout = d
	if d == 0 {
		s.idleTimeout = -1 // restore the default
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
	s.absTimeout = d
	return nil
}

// Info describes the session, with its pending changes applied (after Login
// the subject is the new one). ok is false while the request has no session.
func (s *Session) Info() (info Info, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.rec == nil {
		return Info{}, false
	}
	info = infoOf(s.rec)
	if s.login {
		info.Subject = s.subject
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
	switch {
	case s.rec != nil:
		b.WriteString("id: ")
		b.WriteString(s.rec.ID)
		b.WriteString(", kind: ")
		b.WriteString(s.rec.Kind.String())
		if s.rec.Subject != "" || s.login {
			b.WriteString(", authenticated")
		}
	case !s.loaded:
		b.WriteString("not loaded")
	default:
		b.WriteString("none")
	}
	if s.token != "" || s.newToken != "" {
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
	if s.rec == nil {
		return slog.GroupValue(slog.Bool("loaded", s.loaded), slog.String("token", "REDACTED"))
	}
	return slog.GroupValue(slog.String("id", s.rec.ID), slog.String("kind", s.rec.Kind.String()),
		slog.Bool("authenticated", s.rec.Subject != "" || s.login), slog.String("token", "REDACTED"))
}

// ID returns the public ID of the session, or "" while there is none.
func (s *Session) ID() string { i, _ := s.Info(); return i.ID }

// Subject returns the subject bound to the session, or "" while anonymous.
func (s *Session) Subject() string { i, _ := s.Info(); return i.Subject }

// IsAuthenticated reports whether a subject is bound to the session.
func (s *Session) IsAuthenticated() bool { return s.Subject() != "" }

// commit writes the request's changes to the store. It runs once, before the
// first byte of the response. A non-nil error turns the response into an
// error response.
func (s *Session) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return s.err
	}
	s.committed = true
	ctx := s.r.Context()
	now := s.clock()
	if !s.loaded && s.changes != nil {
		// Values were written without the session being read.
		if done, err := s.commitMerge(ctx, now); done {
			return err
		}
		s.load() // the store declined the merge: take the usual path
	}
	if !s.loaded || s.err != nil {
		return s.err
	}
	if s.sealed() {
		return s.commitSealed(ctx, now)
	}
	for _, ended := range [...]*storage.Record{s.destroyed, s.replaced} {
		if ended == nil {
			continue
		}
		// By ID, not by the hash this request loaded: another request may
		// have renewed the token since, and its successor must end too.
		err := s.m.store.DeleteByID(ctx, ended.ID)
		if errors.Is(err, storage.ErrNotFound) {
			continue // already ended by another request, which reported it
		}
		if err != nil {
			return s.fail(err)
		}
		s.emitEnded(ctx, ended, now)
	}
	var err error
	isNew := s.fresh || s.rec == nil
	switch {
	case s.fresh:
		err = s.commitNew(ctx, now, s.rec)
	case s.rec != nil:
		err = s.commitExisting(ctx, now)
	case s.changes != nil || s.login:
		err = s.commitNew(ctx, now, nil)
	}
	if err == nil && s.login && s.rec != nil {
		if err = s.m.enforceLimit(ctx, s.subject, s.rec, isNew, now); err != nil {
			s.rec, s.newToken, s.err = nil, "", err
		}
	}
	return err
}

// emitEnded reports the end of a session by this request: EventDestroyed
// for a logout, and for an authenticated session that a login as another
// subject replaced (reason "login"). The anonymous session that a sign-in
// replaces ends silently: the sign-in's EventCreated and EventAuthenticated
// say what happened. s.mu is held.
func (s *Session) emitEnded(ctx context.Context, ended *storage.Record, now time.Time) {
	e := Event{Type: EventDestroyed, Time: now, SessionID: ended.ID, Subject: ended.Subject, Kind: ended.Kind, Request: requestOf(s.r)}
	if ended != s.destroyed {
		if ended.Subject == "" {
			return
		}
		e.Reason = "login"
	}
	s.m.emit(ctx, e)
}

func (s *Session) fail(err error) error {
	s.err = storeErr(err)
	return s.err
}

// commitMerge sends the writes of a request that never read its session to
// the store as one Merge: one round trip on stores that implement it in
// one call. The store applies them only to a live browser session whose
// deadlines have not passed; when it declines, commitMerge reports false
// and the caller loads the session, which decides (and reports) what the
// token means, and commits the usual way. s.mu is held.
func (s *Session) commitMerge(ctx context.Context, now time.Time) (bool, error) {
	rec, err := s.m.merger.Merge(ctx, s.hash, &storage.Merge{Kind: KindBrowser, Now: now, IdleTimeout: s.m.cfg.idle, Changes: s.changes})
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	s.loaded = true
	if err != nil {
		return true, s.fail(err)
	}
	s.rec, s.changes = rec, nil
	if s.autoRenew = s.renewalDue(); s.autoRenew {
		return true, s.commitExisting(ctx, now)
	}
	return true, nil
}

// commitNew creates a session with a fresh token: rec, a new record not
// stored yet, or when nil an empty one. s.mu is held.
func (s *Session) commitNew(ctx context.Context, now time.Time, rec *storage.Record) error {
	if rec == nil {
		rec = s.m.newRecord(now, KindBrowser, "")
	}
	rec.IP, rec.UserAgent = clientOf(s.r)
	s.apply(rec, now, true)
	for {
		tok, h := newToken()
		rec.Hash = h
		err := s.m.store.Create(ctx, rec)
		if errors.Is(err, storage.ErrExists) {
			continue // a 2^-256 event, or an ID collision: draw again
		}
		if err != nil {
			return s.fail(err)
		}
		s.rec, s.newToken, s.fresh = rec, tok, false
		s.m.emit(ctx, Event{Type: EventCreated, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: rec.Kind, Request: requestOf(s.r)})
		if s.login {
			s.m.emit(ctx, Event{Type: EventAuthenticated, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: rec.Kind, Request: requestOf(s.r)})
		}
		return nil
	}
}

// commitExisting writes changes to the loaded session with compare-and-swap,
// rotating its token when due. On a conflict it re-reads the record and
// reapplies this request's changes (only the keys it touched), so concurrent
// writers to different keys lose nothing. s.mu is held.
func (s *Session) commitExisting(ctx context.Context, now time.Time) error {
	base := s.rec
	if !s.needsWrite(base, now) {
		return nil // a read: no store write, no lock
	}
	lock := s.m.commitLock(base.ID)
	lock.Lock()
	defer lock.Unlock()
	rotate := s.renew || s.autoRenew
	for range maxCommitAttempts {
		// A shallow copy: apply replaces Data and Meta, never edits them.
		cp := *base
		next := &cp
		wrote := s.apply(next, now, rotate)
		var err error
		var tok Token
		switch {
		case rotate:
			var grace time.Time
			if !s.renew && s.m.cfg.grace > 0 {
				grace = now.Add(s.m.cfg.grace)
			}
			tok, next.Hash = newToken()
			next.RenewedAt, next.Version = now, 0
			err = s.m.store.Rotate(ctx, base, next, grace)
		case wrote:
			err = s.m.store.Update(ctx, next)
		default:
			return nil
		}
		if err == nil {
			s.rec = next
			if rotate {
				s.newToken = tok
				typ := EventRenewed
				if s.login {
					typ = EventAuthenticated
				}
				s.m.emit(ctx, Event{Type: typ, Time: now, SessionID: next.ID, Subject: next.Subject, Kind: next.Kind, Request: requestOf(s.r)})
			}
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			return s.fail(err)
		}
		// Someone else wrote, renewed or ended the session since we read it.
		fresh, err := s.m.store.Get(ctx, base.Hash)
		if errors.Is(err, storage.ErrNotFound) {
			return s.ended(ctx, base, now)
		}
		if err != nil {
			return s.fail(err)
		}
		if fresh.State == storage.StateRotated && now.Before(fresh.GraceUntil) {
			// Renewed concurrently, within its grace window: our changes go to
			// the new token's record. An automatic renewal is no longer due;
			// an explicit one (login, step-up) still rotates the new token.
			if fresh, err = s.m.store.Get(ctx, fresh.Successor); errors.Is(err, storage.ErrNotFound) {
				return s.ended(ctx, base, now)
			} else if err != nil {
				return s.fail(err)
			}
			s.autoRenew = false
			rotate = s.renew
		}
		if fresh.State != storage.StateLive || fresh.ID != base.ID {
			// Destroyed, revoked, or rotated without grace: never write it back.
			return s.ended(ctx, base, now)
		}
		base = fresh
	}
	return s.fail(fmt.Errorf("%w after %d attempts", storage.ErrConflict, maxCommitAttempts))
}

// ended handles a commit that found its session ended by another request:
// the changes are dropped, since writing them would bring the session back.
func (s *Session) ended(ctx context.Context, base *storage.Record, now time.Time) error {
	s.m.cfg.logger.DebugContext(ctx, "keycard session ended concurrently; changes dropped", "session_id", base.ID)
	s.rec = nil
	return nil
}

// needsWrite reports whether committing rec at now writes the store:
// something changed, a rotation is due, or the idle deadline moved by more
// than the touch granularity. It is apply's decision without the copy.
func (s *Session) needsWrite(rec *storage.Record, now time.Time) bool {
	if s.renew || s.autoRenew || s.changes != nil || s.login || s.reauth || s.csrf != nil ||
		s.persistent != nil || s.idleTimeout != 0 || s.absTimeout > 0 {
		return true
	}
	idle := s.m.idleTimeout(rec)
	return s.m.idleDeadline(rec, now).Sub(rec.IdleExpiresAt) > min(time.Minute, idle/10)
}

// apply writes the request's changes into next and reports whether they need
// a store write; now is the commit time. It replaces next.Data and next.Meta
// rather than editing them, so next may share them with the record read.
func (s *Session) apply(next *storage.Record, now time.Time, force bool) bool {
	write := force
	if s.changes != nil {
		next.Data = storage.MergeData(next.Data, s.changes)
		write = true
	}
	if s.login {
		next.Subject, next.AuthenticatedAt = s.subject, now
		next.IP, next.UserAgent = clientOf(s.r)
		if g := s.m.cfg.guard; g != nil {
			next.Fingerprint = g.Fingerprint(s.r)
		}
		write = true
	}
	if s.login || s.reauth || s.renew || s.csrf != nil {
		md := readMeta(next)
		if s.login || s.reauth {
			md.Reauth = !s.login
		}
		if s.renew {
			md.CSRF = nil // a privilege change forgets the CSRF secret
		}
		if s.csrf != nil {
			md.CSRF = s.csrf
		}
		next.Meta = md.encode()
		write = true
	}
	if s.persistent != nil {
		s.m.cfg.setPersistent(next, *s.persistent)
		write = true
	}
	if s.idleTimeout != 0 {
		next.IdleTimeout = max(s.idleTimeout, 0)
		write = true
	}
	if s.absTimeout > 0 {
		if d := next.CreatedAt.Add(s.absTimeout); d.Before(next.ExpiresAt) {
			next.ExpiresAt = d
		}
		write = true
	}
	// Lazy touch: move the idle deadline only when it moved by more than the
	// granularity, min(1 minute, idle/10), so reads do not write the store.
	idle := s.m.idleTimeout(next)
	deadline := s.m.idleDeadline(next, now)
	if write || deadline.Sub(next.IdleExpiresAt) > min(time.Minute, idle/10) {
		next.LastSeenAt, next.IdleExpiresAt = now, deadline
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
