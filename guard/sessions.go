package guard

import (
	"slices"
	"strings"
	"time"
)

// SessionPolicy says what happens when a subject who already has the maximum
// number of sessions logs in again.
type SessionPolicy uint8

const (
	// EvictOldest ends the subject's oldest sessions to make room for the
	// new one. It is the default: the person at the keyboard can always log
	// in, and a forgotten session elsewhere goes away.
	EvictOldest SessionPolicy = iota
	// DenyNew refuses the new login until the subject logs out elsewhere.
	DenyNew
)

// SessionInfo is what LimitSessions needs to know about one live session.
type SessionInfo struct {
	ID        string
	CreatedAt time.Time
}

// LimitSessions decides, for a subject about to get one more session, which
// of its current sessions to end (EvictOldest) or whether to refuse the new
// one (DenyNew), so that the subject keeps at most max sessions. max <= 0
// means no limit. Evicted IDs are the oldest by CreatedAt (ties broken by ID,
// so the answer is deterministic), oldest first. It does not modify current.
func LimitSessions(current []SessionInfo, max int, policy SessionPolicy) (evict []string, deny bool) {
	if max <= 0 || len(current) < max {
		return nil, false
	}
	if policy != EvictOldest {
		return nil, true // DenyNew, and any unknown policy: fail closed
	}
	sorted := slices.Clone(current)
	slices.SortFunc(sorted, func(a, b SessionInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	n := len(current) - max + 1 // make room for the new one
	evict = make([]string, n)
	for i := range n {
		evict[i] = sorted[i].ID
	}
	return evict, false
}
