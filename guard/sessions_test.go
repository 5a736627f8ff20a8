package guard

import (
	"slices"
	"testing"
	"time"
)

func TestLimitSessions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := func(id string, min int) SessionInfo {
		return SessionInfo{ID: id, CreatedAt: t0.Add(time.Duration(min) * time.Minute)}
	}
	three := []SessionInfo{s("c", 3), s("a", 1), s("b", 2)}
	tests := []struct {
		name    string
		current []SessionInfo
		max     int
		policy  SessionPolicy
		evict   []string
		deny    bool
	}{
		{"no limit", three, 0, EvictOldest, nil, false},
		{"negative limit", three, -1, DenyNew, nil, false},
		{"room left", three, 4, EvictOldest, nil, false},
		{"room left, deny policy", three, 4, DenyNew, nil, false},
		{"full, evict oldest", three, 3, EvictOldest, []string{"a"}, false},
		{"over, evict oldest", three, 2, EvictOldest, []string{"a", "b"}, false},
		{"max 1", three, 1, EvictOldest, []string{"a", "b", "c"}, false},
		{"full, deny", three, 3, DenyNew, nil, true},
		{"unknown policy fails closed", three, 3, SessionPolicy(9), nil, true},
		{"empty", nil, 1, EvictOldest, nil, false},
		{"ties broken by ID", []SessionInfo{s("z", 1), s("y", 1), s("x", 2)}, 2, EvictOldest, []string{"y", "z"}, false},
		{"zero times", []SessionInfo{{ID: "q"}, s("p", 1)}, 2, EvictOldest, []string{"q"}, false},
		{"hostile IDs", []SessionInfo{s("\x00", 1), s(`"; DROP`, 2)}, 1, EvictOldest, []string{"\x00", `"; DROP`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.current)
			evict, deny := LimitSessions(tt.current, tt.max, tt.policy)
			if !slices.Equal(evict, tt.evict) || deny != tt.deny {
				t.Fatalf("got %q %v, want %q %v", evict, deny, tt.evict, tt.deny)
			}
			if !slices.Equal(before, tt.current) {
				t.Fatal("LimitSessions modified its input")
			}
		})
	}
}
