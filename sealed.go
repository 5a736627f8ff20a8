package keycard

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/storage"
)

// Sealer seals and opens client-side values. *seal.Sealer implements it.
// Open must return one opaque error for every failure, including expiry.
type Sealer interface {
	Seal(name, purpose string, data []byte, expires time.Time) (string, error)
	Open(name, purpose, value string) ([]byte, error)
}

// sealedMode keeps browser sessions sealed in their cookie (authenticated
// encryption, see package seal): reading a session needs no store record,
// and a steady-state read makes no store call at all, since revocation state
// is cached on the node (see revocations.go). Logout, Revoke and RevokeAll
// still take effect at once, through revocation entries of their own kind
// (storage.Revocations). API sessions stay in the store, served by server.
type sealedMode struct {
	m      *Manager
	server *serverMode
	sealer Sealer
	revs   *revocationState
}

func newSealedMode(m *Manager) *sealedMode {
	return &sealedMode{m: m, server: m.server, sealer: m.cfg.sealer, revs: newRevocationState(m.store)}
}

func (sm *sealedMode) close() { sm.revs.close() }

// sealPurpose binds sealed session cookies to this use: a value sealed for
// any other purpose, or under another cookie name, never opens as a session.
const sealPurpose = "keycard-session"

// The payload of a sealed session cookie is a compact binary encoding of
// the record (JSON cost more than the cipher on every read), in
// internal/binrec's varint forms:
//
//	version byte (2)
//	var bytes: ID, Subject, IP, UserAgent, Fingerprint
//	var times: CreatedAt, AuthenticatedAt, RenewedAt, LastSeenAt,
//	           IdleExpiresAt, ExpiresAt (Unix microseconds, 0 = zero time)
//	varint: IdleTimeout (nanoseconds)
//	byte: flags, bit 0 Persistent
//	var bytes: Data, Meta
//	uvarint: the subject's revocation generation it was sealed under
//
// Version 1 (without the generation) is refused: its sessions predate the
// revocation generations, so their users sign in again once.
const sealedVersion = 2

func encodeSealed(r *storage.Record, gen uint64) []byte {
	b := make([]byte, 0, 96+len(r.ID)+len(r.Subject)+len(r.IP)+len(r.UserAgent)+len(r.Fingerprint)+len(r.Data)+len(r.Meta))
	b = append(b, sealedVersion)
	for _, s := range [...]string{r.ID, r.Subject, r.IP, r.UserAgent, r.Fingerprint} {
		b = binrec.AppendVarBytes(b, s)
	}
	for _, t := range [...]time.Time{r.CreatedAt, r.AuthenticatedAt, r.RenewedAt, r.LastSeenAt, r.IdleExpiresAt, r.ExpiresAt} {
		b = binrec.AppendVarTime(b, t)
	}
	b = binrec.AppendVarint(b, int64(r.IdleTimeout))
	var flags byte
	if r.Persistent {
		flags |= 1
	}
	b = append(b, flags)
	b = binrec.AppendVarBytes(b, r.Data)
	b = binrec.AppendVarBytes(b, r.Meta)
	return binrec.AppendUvarint(b, gen)
}

// decodeSealed returns the record in b and its generation, or nil.
func decodeSealed(b []byte) (*storage.Record, uint64) {
	d := binrec.NewReader(b)
	if d.U8() != sealedVersion {
		return nil, 0
	}
	r := &storage.Record{Kind: KindBrowser}
	for _, s := range [...]*string{&r.ID, &r.Subject, &r.IP, &r.UserAgent, &r.Fingerprint} {
		if v := d.VarBytes(); len(v) > 0 {
			*s = string(v)
		}
	}
	for _, t := range [...]*time.Time{&r.CreatedAt, &r.AuthenticatedAt, &r.RenewedAt, &r.LastSeenAt, &r.IdleExpiresAt, &r.ExpiresAt} {
		*t = d.VarTime()
	}
	r.IdleTimeout = time.Duration(d.Varint())
	flags := d.U8()
	r.Persistent = flags&1 != 0
	if v := d.VarBytes(); len(v) > 0 {
		r.Data = v
	}
	if v := d.VarBytes(); len(v) > 0 {
		r.Meta = v
	}
	gen := d.Uvarint()
	if d.Err() != "" || d.Len() != 0 || flags > 1 || r.ID == "" {
		return nil, 0
	}
	return r, gen
}

// seal returns the cookie value for rec, expiring at its idle deadline.
func (sm *sealedMode) seal(rec *storage.Record, gen uint64) (string, error) {
	v, err := sm.sealer.Seal(sm.m.cfg.cookieName, sealPurpose, encodeSealed(rec, gen), rec.KeepUntil())
	if err != nil && !sm.fitsLen(len(encodeSealed(rec, gen))) {
		return "", ErrTooLarge
	}
	return v, err
}

// open returns the record sealed in value and its generation, or nil when
// it does not open.
func (sm *sealedMode) open(value string) (*storage.Record, uint64) {
	b, err := sm.sealer.Open(sm.m.cfg.cookieName, sealPurpose, value)
	if err != nil {
		return nil, 0
	}
	return decodeSealed(b)
}

// lengthChecker is implemented by Sealers that can tell whether n bytes of
// data seal into a cookie of the given name (*seal.Sealer does).
type lengthChecker interface {
	Fits(name string, n int) bool
}

// maxSealedPayload bounds the payload when the Sealer cannot tell: with
// seal's format it keeps a cookie with a name of up to 150 bytes under the
// 4096 bytes browsers keep.
const maxSealedPayload = 2900

// fitsLen reports whether a payload of n bytes seals into the cookie.
func (sm *sealedMode) fitsLen(n int) bool {
	if lc, ok := sm.sealer.(lengthChecker); ok {
		return lc.Fits(sm.m.cfg.cookieName, n)
	}
	return n <= maxSealedPayload
}

// fits seals nothing: it encodes the session as the commit would, with
// every pending change applied, and checks that it fits in the cookie.
// The whole record counts (values, user agent, subject, metadata), so a
// change that cannot fit is refused when it is made, never at commit.
func (sm *sealedMode) fits(s *Session) error {
	rec := s.got.rec
	if rec == nil {
		if s.p.changes == nil && !s.p.login {
			return nil
		}
		rec = sm.m.newRecord(s.clock(), KindBrowser, "")
		rec.IP, rec.UserAgent = clientOf(s.r)
	} else {
		rec = rec.Clone()
	}
	s.apply(rec, s.clock(), true)
	if !sm.fitsLen(len(encodeSealed(rec, s.got.subjectGen))) {
		return ErrTooLarge
	}
	return nil
}

func (sm *sealedMode) load(s *Session) {
	ctx, now := s.r.Context(), s.clock()
	rec, gen := sm.open(string(s.cred.token))
	switch {
	case rec == nil:
		s.m.emit(ctx, Event{Type: EventInvalidToken, Time: now, Kind: KindBrowser, Reason: ReasonUnsealable, Request: requestOf(s.r)})
		s.out.clearCookie = true
		return
	case !rec.LiveAt(now):
		s.m.emit(ctx, Event{Type: EventExpired, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindBrowser, Request: requestOf(s.r)})
		s.out.clearCookie = true
		return
	}
	denied, cur, err := sm.revs.check(ctx, rec.ID, rec.Subject)
	if err != nil {
		s.got.err = storeErr(err)
		return
	}
	if revoked(rec, gen, denied, cur) {
		s.m.emit(ctx, Event{Type: EventInvalidToken, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindBrowser, Reason: ReasonRevoked, Request: requestOf(s.r)})
		s.out.clearCookie = true
		return
	}
	s.got.rec, s.got.gen, s.got.subjectGen = rec, gen, cur.N
}

// revoked reports whether the sealed session rec, sealed under generation
// gen, has ended: its ID is denied, or its subject signed out everywhere
// after it was sealed and it is not the session that asked.
func revoked(rec *storage.Record, gen uint64, denied bool, cur storage.Generation) bool {
	return denied || (rec.Subject != "" && gen < cur.N && rec.ID != cur.Except)
}

// deferWrite: a sealed session is rewritten whole; its values must be read.
func (sm *sealedMode) deferWrite(*Session) bool { return false }

// admitLogin: sealed sessions cannot be counted, so SessionLimit does not
// apply to them.
func (sm *sealedMode) admitLogin(*Session, string) error { return nil }

// commit writes a sealed session: a new cookie when anything changed, and
// deny entries for sessions ended by Logout or replaced by Login.
func (sm *sealedMode) commit(ctx context.Context, s *Session, now time.Time) error {
	if !s.got.done || s.got.err != nil {
		return s.got.err
	}
	if err := s.endSessions(ctx, now); err != nil {
		return err
	}
	rec := s.got.rec
	created := false
	switch {
	case s.p.fresh:
		rec = rec.Clone()
		rec.IP, rec.UserAgent = clientOf(s.r)
		created = true
	case rec == nil && (s.p.changes != nil || s.p.login):
		rec = sm.m.newRecord(now, KindBrowser, "")
		rec.IP, rec.UserAgent = clientOf(s.r)
		created = true
	case rec == nil:
		return nil
	case !s.p.changed() && !sm.m.cfg.touchDue(rec, now):
		return nil // a read: nothing to re-seal
	case s.p.login || s.p.renew:
		// The earlier value stays valid in the client until it expires; deny
		// its ID so that it opens nothing, and continue under a new ID.
		if _, err := sm.end(ctx, rec, now); err != nil {
			return s.fail(err)
		}
		rec = rec.Clone()
		rec.ID = newID()
	default:
		rec = rec.Clone()
	}
	if !s.apply(rec, now, created || s.p.renew) {
		return nil
	}
	rec.RenewedAt = now
	gen := s.got.subjectGen
	if rec.Subject != "" && (created || s.p.login) {
		// A session sealed for a subject carries the subject's current
		// generation, so that only a later RevokeAll ends it.
		_, cur, err := sm.revs.check(ctx, rec.ID, rec.Subject)
		if err != nil {
			return s.fail(err)
		}
		gen = cur.N
	}
	value, err := sm.seal(rec, gen)
	if err != nil {
		s.got.err = err
		return err
	}
	s.got.rec, s.out.newToken, s.p.fresh = rec, Token(value), false
	if created || s.p.login || s.p.renew {
		s.emitIssued(ctx, rec, created, now)
	}
	return nil
}

// lastDeadline is the latest absolute deadline any sealed copy of rec's ID
// can carry: a session's deadline counts from its creation, or from its
// login (remember-me), and never goes past the longest lifetime a session
// can have. A deny entry kept until then outlives every copy, even one
// stolen before SetAbsoluteTimeout shortened the session.
func (sm *sealedMode) lastDeadline(rec *storage.Record) time.Time {
	base := rec.CreatedAt
	if rec.AuthenticatedAt.After(base) {
		base = rec.AuthenticatedAt
	}
	return base.Add(sm.m.cfg.lifetime)
}

// end denies rec's ID until the last deadline any copy of it can carry.
// The server cannot tell whether a copy is still out there, so it reports
// the session ended.
func (sm *sealedMode) end(ctx context.Context, rec *storage.Record, _ time.Time) (bool, error) {
	if err := sm.revs.deny(ctx, rec.ID, sm.lastDeadline(rec)); err != nil {
		return false, storeErr(err)
	}
	return true, nil
}

func (sm *sealedMode) cookie(h http.Header, tok Token, rec *storage.Record) {
	m := sm.m
	h["Set-Cookie"] = append(h["Set-Cookie"], m.tokenCookie(m.cfg.cookieName, tok.Reveal(), rec, true))
	if nr, ok := sm.sealer.(nonceReader); ok {
		if nonce, err := nr.Nonce(tok.Reveal()); err == nil {
			// Same attributes as the session cookie but readable by scripts:
			// the nonce is not a credential, only proof that the page is
			// same-origin.
			h.Add("Set-Cookie", m.tokenCookie(m.csrfCookieName(), nonce, rec, false))
		}
	}
}

func (sm *sealedMode) expire(h http.Header) {
	h.Add("Set-Cookie", sm.m.expiredCookie(sm.m.cfg.cookieName, true))
	h.Add("Set-Cookie", sm.m.expiredCookie(sm.m.csrfCookieName(), false))
}

// revoke ends an API session with the ID in the store, and denies the ID
// for sealed sessions: the server cannot tell whether one exists, so the
// entry is kept for the longest lifetime a session can have.
func (sm *sealedMode) revoke(ctx context.Context, id string, now time.Time) error {
	if err := sm.server.revoke(ctx, id, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return storeErr(sm.revs.deny(ctx, id, now.Add(sm.m.cfg.lifetime)))
}

// revokeAll ends the subject's API sessions in the store and starts a new
// revocation generation for its sealed ones, kept for the longest lifetime
// a session can have (every value sealed before now has expired by then).
func (sm *sealedMode) revokeAll(ctx context.Context, subject, exceptID string, now time.Time) (int, error) {
	n, err := sm.server.revokeAll(ctx, subject, exceptID, now)
	if err != nil {
		return n, err
	}
	if _, err := sm.revs.revokeSubject(ctx, subject, exceptID, now.Add(sm.m.cfg.lifetime)); err != nil {
		return n, storeErr(err)
	}
	return n, nil
}

// active answers for an API session in the store, and otherwise for a
// sealed session by its ID alone.
func (sm *sealedMode) active(ctx context.Context, id string, now time.Time) (bool, error) {
	return sm.activeAs(ctx, id, "", 0, now)
}

// activeAs answers for an API session with the ID id in the store, and
// otherwise for the sealed session id of subject sealed under generation
// gen (subject "": by its ID alone).
func (sm *sealedMode) activeAs(ctx context.Context, id, subject string, gen uint64, now time.Time) (bool, error) {
	if active, found, err := sm.server.lookupActive(ctx, id, now); found || err != nil {
		return active, err
	}
	denied, cur, err := sm.revs.check(ctx, id, subject)
	if err != nil {
		return false, storeErr(err)
	}
	return !revoked(&storage.Record{ID: id, Subject: subject}, gen, denied, cur), nil
}

// ActiveSealed reports whether the sealed session with public ID id, of
// subject, sealed under revocation generation gen, is still active: neither
// ended by its ID (logout, Revoke) nor by a RevokeAll of its subject made
// after it was sealed. Access JWTs minted from a sealed session carry all
// three (package jwt), so that a resource server honours sign-out-everywhere
// too. Without sealed-cookie mode it is Active.
func (m *Manager) ActiveSealed(ctx context.Context, id, subject string, gen uint64) (bool, error) {
	sm, ok := m.browser.(*sealedMode)
	if !ok || !validID(id) {
		return m.Active(ctx, id)
	}
	return sm.activeAs(ctx, id, subject, gen, m.now())
}

// Generation returns the revocation generation the request's sealed
// session was sealed under (0 for any other session), for access tokens
// minted from it; see Manager.ActiveSealed.
func (s *Session) Generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if _, ok := s.mode.(*sealedMode); !ok || s.got.rec == nil {
		return 0
	}
	return s.got.gen
}

// nonceReader is implemented by Sealers that can read a sealed value's nonce
// (*seal.Sealer does). With one, sealed mode offers the nonce as CSRF token.
type nonceReader interface {
	Nonce(value string) (string, error)
}

// CSRFHeader is the request header in which pages echo the sealed session's
// CSRF token for CheckSealedCSRF.
const CSRFHeader = "X-CSRF-Token"

// csrfCookieName is the companion cookie that carries the sealed value's
// nonce to the page's scripts.
func (m *Manager) csrfCookieName() string { return m.cfg.cookieName + "-csrf" }

// CheckSealedCSRF checks a state-changing request of a sealed session: its
// X-CSRF-Token header must equal the nonce of the sealed cookie it carries.
// The nonce is readable by the page's own scripts from the companion cookie
// "<cookie name>-csrf" (not HttpOnly), which the Manager sets with every
// sealed cookie; another site can neither read it nor set the header. GET,
// HEAD and OPTIONS pass (they must not change state). It returns ErrCSRF
// for every failure, including a Manager that is not in sealed mode with a
// nonce-reading Sealer (it fails closed: such a Manager has no sealed
// cookie to check; use the csrf package instead). See docs/sealed.md for
// the flow and its limits.
func (m *Manager) CheckSealedCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	nr, ok := m.cfg.sealer.(nonceReader)
	if !ok {
		return ErrCSRF
	}
	value, found, dup := m.findCookie(r)
	if !found || dup {
		return ErrCSRF
	}
	nonce, err := nr.Nonce(value)
	if err != nil {
		return ErrCSRF
	}
	got := r.Header.Get(CSRFHeader)
	if subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return ErrCSRF
	}
	return nil
}
