package keycard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// Sealer seals and opens client-side values. *seal.Sealer implements it.
// Open must return one opaque error for every failure, including expiry.
type Sealer interface {
	Seal(name, purpose string, data []byte, expires time.Time) (string, error)
	Open(name, purpose, value string) ([]byte, error)
}

// sealPurpose binds sealed session cookies to this use: a value sealed for
// any other purpose, or under another cookie name, never opens as a session.
const sealPurpose = "keycard-session"

// maxSealedData bounds the session values of a sealed session, so that the
// sealed cookie stays under the 4096 bytes browsers keep.
const maxSealedData = 2800

// ErrTooLarge means the values of a sealed session would not fit in a cookie.
var ErrTooLarge = errors.New("keycard: session values too large for a sealed cookie")

// The payload of a sealed session cookie is a compact binary encoding of
// the record (JSON cost more than the cipher on every read):
//
//	version byte (1)
//	uvarint-prefixed strings: ID, Subject, IP, UserAgent, Fingerprint
//	varints: CreatedAt, AuthenticatedAt, RenewedAt, LastSeenAt,
//	         IdleExpiresAt, ExpiresAt (Unix microseconds, 0 = zero time),
//	         IdleTimeout (nanoseconds)
//	flags byte: bit 0 Persistent
//	uvarint-prefixed bytes: Data, Meta
const sealedVersion = 1

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeSealed(r *storage.Record) []byte {
	b := make([]byte, 0, 96+len(r.ID)+len(r.Subject)+len(r.IP)+len(r.UserAgent)+len(r.Fingerprint)+len(r.Data)+len(r.Meta))
	b = append(b, sealedVersion)
	for _, s := range [...]string{r.ID, r.Subject, r.IP, r.UserAgent, r.Fingerprint} {
		b = appendString(b, s)
	}
	for _, t := range [...]time.Time{r.CreatedAt, r.AuthenticatedAt, r.RenewedAt, r.LastSeenAt, r.IdleExpiresAt, r.ExpiresAt} {
		b = binary.AppendVarint(b, micros(t))
	}
	b = binary.AppendVarint(b, int64(r.IdleTimeout))
	var flags byte
	if r.Persistent {
		flags |= 1
	}
	b = append(b, flags)
	b = appendString(b, string(r.Data))
	return appendString(b, string(r.Meta))
}

// sealedReader decodes the payload; the first error sticks.
type sealedReader struct {
	b   []byte
	bad bool
}

func (d *sealedReader) bytes() []byte {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.bad = true
		return nil
	}
	v := d.b[k : k+int(n) : k+int(n)]
	d.b = d.b[k+int(n):]
	return v
}

func (d *sealedReader) varint() int64 {
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[k:]
	return v
}

func decodeSealed(b []byte) *storage.Record {
	if len(b) == 0 || b[0] != sealedVersion {
		return nil
	}
	d := sealedReader{b: b[1:]}
	r := &storage.Record{Kind: KindBrowser}
	for _, s := range [...]*string{&r.ID, &r.Subject, &r.IP, &r.UserAgent, &r.Fingerprint} {
		if v := d.bytes(); len(v) > 0 {
			*s = string(v)
		}
	}
	for _, t := range [...]*time.Time{&r.CreatedAt, &r.AuthenticatedAt, &r.RenewedAt, &r.LastSeenAt, &r.IdleExpiresAt, &r.ExpiresAt} {
		*t = fromMicros(d.varint())
	}
	r.IdleTimeout = time.Duration(d.varint())
	if len(d.b) == 0 {
		return nil
	}
	r.Persistent = d.b[0]&1 != 0
	d.b = d.b[1:]
	if v := d.bytes(); len(v) > 0 {
		r.Data = v
	}
	if v := d.bytes(); len(v) > 0 {
		r.Meta = v
	}
	if d.bad || len(d.b) != 0 || r.ID == "" {
		return nil
	}
	return r
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// sealRecord returns the cookie value for rec, expiring at its idle deadline.
func (m *Manager) sealRecord(rec *storage.Record) (string, error) {
	return m.cfg.sealer.Seal(m.cfg.cookieName, sealPurpose, encodeSealed(rec), rec.KeepUntil())
}

// openSealed returns the record sealed in value, or nil when it does not open.
func (m *Manager) openSealed(value string) *storage.Record {
	b, err := m.cfg.sealer.Open(m.cfg.cookieName, sealPurpose, value)
	if err != nil {
		return nil
	}
	return decodeSealed(b)
}

// Revocation of sealed sessions. A sealed session lives in the client, so
// ending it needs a small server-side record that every node consults: a
// deny entry per ended session ID, kept until the session's absolute
// deadline, and a per-subject "not before" time that ends every session of
// the subject sealed earlier (sign out everywhere), with one exception (the
// session that asked). Both are ordinary records in the Manager's Store,
// under hashes derived from the ID or subject, so every store supports them
// and every node sees them at once.

func denyHash(id string) storage.Hash { return sha256.Sum256([]byte("keycard-deny\x00" + id)) }

func notBeforeHash(subject string) storage.Hash {
	return sha256.Sum256([]byte("keycard-not-before\x00" + subject))
}

// notBefore is the Data of a per-subject not-before record.
type notBefore struct {
	At     int64  `json:"nbf"`
	Except string `json:"except,omitempty"`
}

// marker returns a live record that exists only to be found: a deny entry or
// a not-before record.
func (m *Manager) marker(h storage.Hash, id string, now, until time.Time, data []byte) *storage.Record {
	return &storage.Record{Hash: h, ID: id, Kind: KindBrowser, CreatedAt: now, RenewedAt: now, LastSeenAt: now,
		IdleExpiresAt: until, ExpiresAt: until, Data: data}
}

// deny ends the sealed session id until until.
func (m *Manager) deny(ctx context.Context, id string, until time.Time) error {
	now := m.now()
	if !until.After(now) {
		return nil
	}
	err := m.store.Create(ctx, m.marker(denyHash(id), "~deny:"+id, now, until, nil))
	if err != nil && !errors.Is(err, storage.ErrExists) {
		return storeErr(err)
	}
	return nil
}

// setNotBefore ends every sealed session of subject sealed before now,
// except the one whose ID is except.
func (m *Manager) setNotBefore(ctx context.Context, subject, except string) error {
	now := m.now()
	data, _ := json.Marshal(notBefore{At: micros(now), Except: except})
	h := notBeforeHash(subject)
	until := now.Add(m.cfg.lifetime) // every value sealed before now has expired by then
	for range maxCommitAttempts {
		cur, err := m.store.Get(ctx, h)
		switch {
		case errors.Is(err, storage.ErrNotFound) || err == nil && cur.State != storage.StateLive:
			err = m.store.Create(ctx, m.marker(h, "~nbf:"+subject, now, until, data))
		case err == nil:
			next := cur.Clone()
			next.Data, next.IdleExpiresAt, next.ExpiresAt = data, until, until
			err = m.store.Update(ctx, next)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrExists) && !errors.Is(err, storage.ErrNotFound) {
			return storeErr(err)
		}
	}
	return storeErr(storage.ErrConflict)
}

// sealedRevoked reports whether the sealed session rec has been ended.
func (m *Manager) sealedRevoked(ctx context.Context, rec *storage.Record) (bool, error) {
	d, err := m.store.Get(ctx, denyHash(rec.ID))
	if err == nil && d.State == storage.StateLive {
		return true, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, storeErr(err)
	}
	if rec.Subject == "" {
		return false, nil
	}
	n, err := m.store.Get(ctx, notBeforeHash(rec.Subject))
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, storeErr(err)
	}
	var nb notBefore
	if n.State != storage.StateLive || json.Unmarshal(n.Data, &nb) != nil {
		return false, nil
	}
	return micros(rec.RenewedAt) < nb.At && rec.ID != nb.Except, nil
}

// loadSealed opens the sealed cookie. s.mu is held.
func (s *Session) loadSealed() {
	ctx := s.r.Context()
	now := s.clock()
	rec := s.m.openSealed(string(s.token))
	reason := ""
	switch {
	case rec == nil:
		reason = "unsealable"
	case !now.Before(rec.ExpiresAt) || !now.Before(rec.IdleExpiresAt):
		s.m.emit(ctx, Event{Type: EventExpired, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindBrowser, Request: requestOf(s.r)})
		s.clearCookie = true
		return
	default:
		revoked, err := s.m.sealedRevoked(ctx, rec)
		if err != nil {
			s.err = err
			return
		}
		if revoked {
			reason = "revoked"
		}
	}
	if reason != "" {
		ev := Event{Type: EventInvalidToken, Time: now, Kind: KindBrowser, Reason: reason, Request: requestOf(s.r)}
		if rec != nil {
			ev.SessionID, ev.Subject = rec.ID, rec.Subject
		}
		s.m.emit(ctx, ev)
		s.clearCookie = true
		return
	}
	s.rec = rec
}

// commitSealed writes a sealed session: a new cookie when anything changed,
// deny entries for sessions ended by Logout or replaced by Login. s.mu is held.
func (s *Session) commitSealed(ctx context.Context, now time.Time) error {
	for _, ended := range [...]*storage.Record{s.destroyed, s.replaced} {
		if ended == nil {
			continue
		}
		if err := s.m.deny(ctx, ended.ID, ended.ExpiresAt); err != nil {
			return s.fail(err)
		}
		s.emitEnded(ctx, ended, now)
	}
	rec := s.rec
	created := false
	switch {
	case s.fresh:
		rec = rec.Clone()
		rec.IP, rec.UserAgent = clientOf(s.r)
		created = true
	case rec == nil && (s.changes != nil || s.login):
		rec = s.m.newRecord(now, KindBrowser, "")
		rec.IP, rec.UserAgent = clientOf(s.r)
		created = true
	case rec == nil:
		return nil
	case !s.needsWrite(rec, now):
		return nil // a read: nothing to re-seal
	case s.login || s.renew:
		// The pre-login value stays valid in the client until it expires;
		// deny its ID so that it opens nothing, and continue under a new ID.
		if err := s.m.deny(ctx, rec.ID, rec.ExpiresAt); err != nil {
			return s.fail(err)
		}
		rec = rec.Clone()
		rec.ID = newID()
	default:
		rec = rec.Clone()
	}
	if !s.apply(rec, now, created || s.renew) {
		return nil
	}
	rec.RenewedAt = now
	value, err := s.m.sealRecord(rec)
	if err != nil {
		s.err = err
		return err
	}
	s.rec, s.newToken, s.fresh = rec, Token(value), false
	switch {
	case created:
		s.m.emit(ctx, Event{Type: EventCreated, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindBrowser, Request: requestOf(s.r)})
		if s.login {
			s.m.emit(ctx, Event{Type: EventAuthenticated, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindBrowser, Request: requestOf(s.r)})
		}
	case s.login:
		s.m.emit(ctx, Event{Type: EventAuthenticated, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindBrowser, Request: requestOf(s.r)})
	case s.renew:
		s.m.emit(ctx, Event{Type: EventRenewed, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: KindBrowser, Request: requestOf(s.r)})
	}
	return nil
}

// sealedValueShaped reports whether a cookie value could be a sealed value:
// base64url characters within the cookie size limit.
func sealedValueShaped(v string) bool {
	if v == "" || len(v) > 4096 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if b64Value(v[i]) < 0 {
			return false
		}
	}
	return true
}

// nonceReader is implemented by Sealers that can read a sealed value's nonce
// (*seal.Sealer does). With one, sealed mode offers the nonce as CSRF token.
type nonceReader interface {
	Nonce(value string) (string, error)
}

// CSRFHeader is the request header in which pages echo the sealed session's
// CSRF token for CheckSealedCSRF.
const CSRFHeader = "X-CSRF-Token"

// ErrCSRF means a state-changing request did not echo its sealed session's CSRF token.
var ErrCSRF = errors.New("keycard: missing or wrong CSRF token")

// csrfCookieName is the companion cookie that carries the sealed value's
// nonce to the page's scripts.
func (m *Manager) csrfCookieName() string { return m.cfg.cookieName + "-csrf" }

// CheckSealedCSRF checks a state-changing request of a sealed session: its
// X-CSRF-Token header must equal the nonce of the sealed cookie it carries.
// The nonce is readable by the page's own scripts from the companion cookie
// "<cookie name>-csrf" (not HttpOnly), which the Manager sets with every
// sealed cookie; another site can neither read it nor set the header. GET,
// HEAD and OPTIONS pass (they must not change state). It returns ErrCSRF
// for every failure, and nil when the Manager is not in sealed mode with a
// nonce-reading Sealer, in which case use the csrf package instead. See
// docs/sealed.md for the flow and its limits.
func (m *Manager) CheckSealedCSRF(r *http.Request) error {
	nr, ok := m.cfg.sealer.(nonceReader)
	if !ok {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	s := Session{m: m}
	value, found, dup := s.findCookie(r)
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

// csrfCompanion returns the Set-Cookie value of the companion cookie for the
// sealed value, or "" when the Sealer cannot read nonces.
func (m *Manager) csrfCompanion(value string, rec *storage.Record) string {
	nr, ok := m.cfg.sealer.(nonceReader)
	if !ok {
		return ""
	}
	nonce, err := nr.Nonce(value)
	if err != nil {
		return ""
	}
	// Same attributes as the session cookie but readable by scripts: the
	// nonce is not a credential, only proof that the page is same-origin.
	attrs := strings.Replace(m.cfg.cookieAttrs, "; HttpOnly", "", 1)
	c := m.csrfCookieName() + "=" + nonce + attrs
	if rec.Persistent {
		c += "; Max-Age=" + strconv.FormatInt(max(int64(rec.ExpiresAt.Sub(m.now())/time.Second), 1), 10)
	}
	return c
}
