package keycard

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// SessionLimit caps how many live sessions one subject may hold at once.
type SessionLimit struct {
	// Max is the most sessions a subject may hold; 0 means no limit.
	Max int
	// DenyNew refuses a login beyond Max with ErrTooManySessions. The
	// default (false) lets the login in and ends the subject's oldest sessions.
	DenyNew bool
}

// ErrTooManySessions: Login was refused because the subject already holds
// SessionLimit.Max sessions and the policy is DenyNew.
var ErrTooManySessions = errors.New("keycard: too many sessions for this user")

// admit applies the session limit to a login of subject by the session
// keepID (empty for a new one). With DenyNew it returns ErrTooManySessions;
// otherwise it returns the IDs of the oldest sessions to end once the login
// has been committed.
func (m *Manager) admit(ctx context.Context, subject, keepID string) (evict []string, err error) {
	lim := m.cfg.limit
	if lim.Max <= 0 {
		return nil, nil
	}
	recs, err := m.store.List(ctx, subject)
	if err != nil {
		return nil, storeErr(err)
	}
	now := m.now()
	live := recs[:0]
	for _, r := range recs {
		if r.State == StateLive && r.ID != keepID && now.Before(r.ExpiresAt) && now.Before(r.IdleExpiresAt) {
			live = append(live, r)
		}
	}
	over := len(live) + 1 - lim.Max
	if over <= 0 {
		return nil, nil
	}
	if lim.DenyNew {
		return nil, ErrTooManySessions
	}
	slices.SortFunc(live, func(a, b *Record) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for _, r := range live[:over] {
		evict = append(evict, r.ID)
	}
	return evict, nil
}

// evictSessions ends the sessions chosen by admit, after the login committed.
func (m *Manager) evictSessions(ctx context.Context, ids []string, subject string, now time.Time) error {
	for _, id := range ids {
		if err := m.store.DeleteByID(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr(err)
		}
		m.emit(ctx, Event{Type: EventRevoked, Time: now, SessionID: id, Subject: subject, Reason: "session-limit"})
	}
	return nil
}
