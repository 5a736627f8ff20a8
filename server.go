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

// serverMode keeps sessions in the Store: the token is a random key, the
// record is read on every request that uses the session, and every change
// is a compare-and-swap write. It serves API sessions always, and browser
// sessions unless sealed-cookie mode is on.
type serverMode struct {
	m      *Manager
	store  storage.Store
	merger storage.Merger // store, when it implements Merger
	// commitLocks serialise commits to one session within this process, so
	// that compare-and-swap conflicts arise only between processes.
	commitLocks [64]sync.Mutex
}

func newServerMode(m *Manager) *serverMode {
	sm := &serverMode{m: m, store: m.store}
	sm.merger, _ = m.store.(storage.Merger)
	return sm
}

// maxCommitAttempts bounds how often a commit re-reads the session after a
// concurrent write before it gives up with ErrConflict.
const maxCommitAttempts = 8

// maxGraceHops bounds how many rotated tombstones a lookup follows.
const maxGraceHops = 4

// commitLock returns the lock for commits to the session id.
func (sm *serverMode) commitLock(id string) *sync.Mutex {
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return &sm.commitLocks[h%uint32(len(sm.commitLocks))]
}

// resolved is the outcome of looking a token up.
type resolved struct {
	rec       *storage.Record // the live record, nil when the token is not usable
	viaGrace  bool            // the token was rotated and resolved through its grace window
	clearable bool            // the client should drop its cookie
}

// resolve looks up the token hash h presented through transport kind and
// applies every server-side check: kind, tombstones, grace window, replay,
// idle and absolute deadlines. It emits the events those checks raise. The
// error is non-nil only when the store failed. r may be nil.
func (sm *serverMode) resolve(ctx context.Context, r *http.Request, h storage.Hash, kind Kind, now time.Time) (resolved, error) {
	m := sm.m
	invalid := func(rec *storage.Record, reason Reason) {
		e := Event{Type: EventInvalidToken, Time: now, Kind: kind, Reason: reason, Request: requestOf(r)}
		if rec != nil {
			e.SessionID = rec.ID
		}
		m.emit(ctx, e)
	}
	rec, err := sm.store.Get(ctx, h)
	if errors.Is(err, storage.ErrNotFound) {
		invalid(nil, ReasonUnknown)
		return resolved{clearable: true}, nil
	}
	if err != nil {
		return resolved{}, storeErr(err)
	}
	if rec.Kind != kind {
		// A browser token sent as a bearer token, or the reverse: refuse it
		// without touching the session, whose owner may be the victim.
		m.emit(ctx, Event{Type: EventInvalidToken, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Reason: ReasonWrongKind, Request: requestOf(r)})
		return resolved{}, nil
	}
	viaGrace := false
	for hops := 0; rec.State == storage.StateRotated; hops++ {
		if rec.GraceUntil.IsZero() {
			// Replaced at a privilege change (login, step-up): the old token
			// belonged to the lesser privilege, and whoever holds it (maybe a
			// fixation attacker) must not be able to end the new session.
			invalid(rec, ReasonReplaced)
			return resolved{clearable: true}, nil
		}
		if hops == maxGraceHops || !now.Before(rec.GraceUntil) {
			// A replaced token used after its grace window: the old token and
			// the new one are now held by two parties, one of them possibly an
			// attacker. OWASP's Session Management Cheat Sheet ("Renewal of the
			// Session ID") and RFC 9700 section 4.14.2 (refresh token reuse)
			// both resolve this by ending the session for everyone.
			m.emit(ctx, Event{Type: EventReplay, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Reason: ReasonRotatedAfterGrace, Request: requestOf(r)})
			err := sm.store.DeleteByID(ctx, rec.ID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return resolved{}, storeErr(err)
			}
			if err == nil {
				m.emit(ctx, Event{Type: EventRevoked, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Reason: ReasonReplay, Request: requestOf(r)})
			}
			return resolved{clearable: true}, nil
		}
		next, err := sm.store.Get(ctx, rec.Successor)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return resolved{}, storeErr(err)
		}
		if err != nil || next.ID != rec.ID || next.Kind != rec.Kind {
			// A successor must be the same session under a new token; anything
			// else (a store fault) must never hand over another session.
			invalid(rec, ReasonUnknown)
			return resolved{clearable: true}, nil
		}
		rec, viaGrace = next, true
	}
	if rec.State == storage.StateDestroyed {
		m.emit(ctx, Event{Type: EventInvalidToken, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Reason: ReasonDestroyed, Request: requestOf(r)})
		return resolved{clearable: true}, nil
	}
	if !rec.LiveAt(now) {
		m.emit(ctx, Event{Type: EventExpired, Time: now, SessionID: rec.ID, Subject: rec.Subject, Kind: kind, Request: requestOf(r)})
		return resolved{clearable: true}, nil
	}
	return resolved{rec: rec, viaGrace: viaGrace}, nil
}

func (sm *serverMode) load(s *Session) {
	res, err := sm.resolve(s.r.Context(), s.r, s.cred.hash, s.cred.transport, s.clock())
	if err != nil {
		s.got.err = err
		return
	}
	s.got.rec, s.got.viaGrace = res.rec, res.viaGrace
	s.out.clearCookie = res.clearable && s.cred.transport == KindBrowser
}

// deferWrite: a browser request with a well-formed token, not loaded yet, on
// a store that merges, with no guard that needs to see the record.
func (sm *serverMode) deferWrite(s *Session) bool {
	return sm.merger != nil && !s.got.done && !s.out.committed && s.cred.transport == KindBrowser &&
		s.cred.token != "" && s.cred.reason == "" && sm.m.cfg.guard == nil
}

// admitLogin applies the session limit before a login (see SessionLimit).
func (sm *serverMode) admitLogin(s *Session, subject string) error {
	keep := ""
	if s.got.rec != nil && s.got.rec.Subject == subject {
		keep = s.got.rec.ID // a re-authentication keeps its own place
	}
	return sm.m.admit(s.r.Context(), subject, keep)
}

// fits: a store keeps any size the store accepts.
func (sm *serverMode) fits(*Session) error { return nil }

// renewalDue reports whether the loaded session's token has reached the
// renewal timeout and should be replaced (with a grace window) at commit.
func (sm *serverMode) renewalDue(s *Session) bool {
	rec := s.got.rec
	return rec != nil && s.cred.transport == KindBrowser && sm.m.cfg.renewal > 0 && !s.got.viaGrace &&
		!s.out.hijacked && !s.p.fresh && s.clock().Sub(rec.RenewedAt) >= sm.m.cfg.renewal
}

func (sm *serverMode) commit(ctx context.Context, s *Session, now time.Time) error {
	if !s.got.done && s.p.changes != nil {
		// Values were written without the session being read.
		if done, err := sm.commitMerge(ctx, s, now); done {
			return err
		}
		s.load() // the store declined the merge: take the usual path
	}
	if !s.got.done || s.got.err != nil {
		return s.got.err
	}
	if err := s.endSessions(ctx, now); err != nil {
		return err
	}
	isNew := s.p.fresh || s.got.rec == nil
	var err error
	switch {
	case s.p.fresh:
		err = sm.commitNew(ctx, s, now, s.got.rec)
	case s.got.rec != nil:
		err = sm.commitExisting(ctx, s, now)
	case s.p.changes != nil || s.p.login:
		err = sm.commitNew(ctx, s, now, nil)
	}
	if err == nil && s.p.login && s.got.rec != nil {
		if err = sm.m.enforceLimit(ctx, s.p.subject, s.got.rec, isNew, now); err != nil {
			s.got.rec, s.out.newToken, s.got.err = nil, "", err
		}
	}
	return err
}

// commitMerge sends the writes of a request that never read its session to
// the store as one Merge: one round trip on stores that implement it in
// one call. The store applies them only to a live browser session whose
// deadlines have not passed; when it declines, commitMerge reports false
// and the caller loads the session, which decides (and reports) what the
// token means, and commits the usual way.
func (sm *serverMode) commitMerge(ctx context.Context, s *Session, now time.Time) (bool, error) {
	rec, err := sm.merger.Merge(ctx, s.cred.hash, &storage.Merge{Kind: KindBrowser, Now: now, IdleTimeout: sm.m.cfg.idle, Changes: s.p.changes})
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	s.got.done = true
	if err != nil {
		return true, s.fail(err)
	}
	s.got.rec, s.p.changes = rec, nil
	if sm.renewalDue(s) {
		return true, sm.commitExisting(ctx, s, now)
	}
	return true, nil
}

// commitNew creates a session with a fresh token: rec, a new record not
// stored yet, or when nil an empty one.
func (sm *serverMode) commitNew(ctx context.Context, s *Session, now time.Time, rec *storage.Record) error {
	if rec == nil {
		rec = sm.m.newRecord(now, KindBrowser, "")
	}
	rec.IP, rec.UserAgent = clientOf(s.r)
	s.apply(rec, now, true)
	for {
		tok, h := newToken()
		rec.Hash = h
		err := sm.store.Create(ctx, rec)
		if errors.Is(err, storage.ErrExists) {
			continue // a 2^-256 event, or an ID collision: draw again
		}
		if err != nil {
			return s.fail(err)
		}
		s.got.rec, s.out.newToken, s.p.fresh = rec, tok, false
		s.emitIssued(ctx, rec, true, now)
		return nil
	}
}

// commitExisting writes changes to the loaded session with compare-and-swap,
// rotating its token when due. On a conflict it re-reads the record and
// reapplies this request's changes (only the keys it touched), so concurrent
// writers to different keys lose nothing.
func (sm *serverMode) commitExisting(ctx context.Context, s *Session, now time.Time) error {
	base := s.got.rec
	rotate := s.p.renew || sm.renewalDue(s)
	if !rotate && !s.p.changed() && !sm.m.cfg.touchDue(base, now) {
		return nil // a read: no store write, no lock
	}
	lock := sm.commitLock(base.ID)
	lock.Lock()
	defer lock.Unlock()
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
			if !s.p.renew && sm.m.cfg.grace > 0 {
				grace = now.Add(sm.m.cfg.grace)
			}
			tok, next.Hash = newToken()
			next.RenewedAt, next.Version = now, 0
			err = sm.store.Rotate(ctx, base, next, grace)
		case wrote:
			err = sm.store.Update(ctx, next)
		default:
			return nil
		}
		if err == nil {
			s.got.rec = next
			if rotate {
				s.out.newToken = tok
				s.emitIssued(ctx, next, false, now)
			}
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			return s.fail(err)
		}
		// Someone else wrote, renewed or ended the session since we read it.
		fresh, err := sm.store.Get(ctx, base.Hash)
		if errors.Is(err, storage.ErrNotFound) {
			return sm.ended(ctx, s, base)
		}
		if err != nil {
			return s.fail(err)
		}
		if fresh.State == storage.StateRotated && now.Before(fresh.GraceUntil) {
			// Renewed concurrently, within its grace window: our changes go to
			// the new token's record. An automatic renewal is no longer due;
			// an explicit one (login, step-up) still rotates the new token.
			if fresh, err = sm.store.Get(ctx, fresh.Successor); errors.Is(err, storage.ErrNotFound) {
				return sm.ended(ctx, s, base)
			} else if err != nil {
				return s.fail(err)
			}
			rotate = s.p.renew
		}
		if fresh.State != storage.StateLive || fresh.ID != base.ID {
			// Destroyed, revoked, or rotated without grace: never write it back.
			return sm.ended(ctx, s, base)
		}
		base = fresh
	}
	return s.fail(fmt.Errorf("%w after %d attempts", storage.ErrConflict, maxCommitAttempts))
}

// ended handles a commit that found its session ended by another request:
// the changes are dropped, since writing them would bring the session back.
func (sm *serverMode) ended(ctx context.Context, s *Session, base *storage.Record) error {
	sm.m.cfg.logger.DebugContext(ctx, "keycard session ended concurrently; changes dropped", "session_id", base.ID)
	s.got.rec = nil
	return nil
}

// end ends rec by its ID, not by the token hash a request loaded: another
// request may have renewed the token since, and its successor must end too.
func (sm *serverMode) end(ctx context.Context, rec *storage.Record, _ time.Time) (bool, error) {
	err := sm.store.DeleteByID(ctx, rec.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, storeErr(err)
}

func (sm *serverMode) cookie(h http.Header, tok Token, rec *storage.Record) {
	h["Set-Cookie"] = append(h["Set-Cookie"], sm.m.tokenCookie(sm.m.cfg.cookieName, tok.Reveal(), rec, true))
}

func (sm *serverMode) expire(h http.Header) {
	h.Add("Set-Cookie", sm.m.expiredCookie(sm.m.cfg.cookieName, true))
}

func (sm *serverMode) revoke(ctx context.Context, id string, _ time.Time) error {
	return storeErr(sm.store.DeleteByID(ctx, id))
}

func (sm *serverMode) revokeAll(ctx context.Context, subject, exceptID string, _ time.Time) (int, error) {
	n, err := sm.store.DeleteSubject(ctx, subject, exceptID)
	return n, storeErr(err)
}

func (sm *serverMode) active(ctx context.Context, id string, now time.Time) (bool, error) {
	active, _, err := sm.lookupActive(ctx, id, now)
	return active, err
}

// lookupActive reports whether the store holds a session with the ID id
// (found) and whether it is live at now.
func (sm *serverMode) lookupActive(ctx context.Context, id string, now time.Time) (active, found bool, err error) {
	rec, err := sm.store.GetByID(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return false, false, nil
	case err != nil:
		return false, false, storeErr(err)
	}
	return rec.LiveAt(now) && (rec.Kind == KindBrowser || rec.Kind == KindAPI), true, nil
}
