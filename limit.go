package keycard

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// SessionLimit caps how many live sessions one subject may hold at once.
//
// The limit holds under concurrency, on one node or many: a login checks
// it when Login is called and again after its session is stored, when
// every login that committed before it is visible in the store. With
// DenyNew, a new session that finds the subject over Max then ends itself
// (two logins racing for the last place may both lose, never both win);
// otherwise the sessions beyond the newest Max by authentication time end,
// whichever login ends them.
type SessionLimit struct {
	// Max is the most sessions a subject may hold; 0 means no limit.
	Max int
	// DenyNew refuses a login beyond Max with ErrTooManySessions. The
	// default (false) lets the login in and ends the subject's sessions that
	// authenticated longest ago.
	DenyNew bool
}

// admit is the check of Login: with DenyNew, it refuses a new session
// (keepID empty) or the re-authentication of session keepID when the
// subject's other live sessions already fill the limit.
func (m *Manager) admit(ctx context.Context, subject, keepID string) error {
	lim := m.cfg.limit
	if lim.Max <= 0 || !lim.DenyNew {
		return nil
	}
	live, err := m.liveSessions(ctx, subject, m.now())
	if err != nil {
		return err
	}
	others := 0
	for _, r := range live {
		if r.ID != keepID {
			others++
		}
	}
	if others >= lim.Max {
		return ErrTooManySessions
	}
	return nil
}

// enforceLimit is the check after a login of subject committed session
// self (isNew: a session that did not exist before this login). It reads
// the subject's sessions again, now that every earlier commit is visible,
// and applies the limit. A store that lists what it has stored (every store
// passing storetest) then never keeps more than Max sessions: of any set of
// sessions that all survive, the last one stored saw all the others and
// would have ended one of them, or itself.
func (m *Manager) enforceLimit(ctx context.Context, subject string, self *storage.Record, isNew bool, now time.Time) error {
	lim := m.cfg.limit
	if lim.Max <= 0 {
		return nil
	}
	live, err := m.liveSessions(ctx, subject, now)
	if err != nil {
		return err
	}
	if len(live) <= lim.Max {
		return nil
	}
	var end []*storage.Record
	selfEnds := false
	if lim.DenyNew {
		// Only a new session gives way; the others were admitted before it.
		selfEnds = isNew
		if selfEnds {
			end = append(end, self)
		}
	} else {
		// Keep the newest Max by authentication time, an order every node
		// computes alike from the stored records.
		slices.SortFunc(live, func(a, b *storage.Record) int {
			if c := b.AuthenticatedAt.Compare(a.AuthenticatedAt); c != 0 {
				return c
			}
			return cmp.Compare(b.ID, a.ID)
		})
		for _, r := range live[lim.Max:] {
			end = append(end, r)
			selfEnds = selfEnds || r.ID == self.ID
		}
	}
	for _, r := range end {
		if err := m.store.DeleteByID(ctx, r.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storeErr(err)
		}
		m.emit(ctx, Event{Type: EventRevoked, Time: now, SessionID: r.ID, Subject: subject, Kind: r.Kind, Reason: ReasonSessionLimit})
	}
	if selfEnds {
		return ErrTooManySessions
	}
	return nil
}

// liveSessions returns the sessions of subject that are live at now.
func (m *Manager) liveSessions(ctx context.Context, subject string, now time.Time) ([]*storage.Record, error) {
	recs, err := m.store.List(ctx, subject)
	if err != nil {
		return nil, storeErr(err)
	}
	live := recs[:0]
	for _, r := range recs {
		if r.State == storage.StateLive && now.Before(r.ExpiresAt) && now.Before(r.IdleExpiresAt) {
			live = append(live, r)
		}
	}
	return live, nil
}
