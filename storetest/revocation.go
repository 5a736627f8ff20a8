package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// revocationTests are the subtests Run runs for a store that implements
// storage.Revocations; watcherTests those for a storage.RevocationWatcher.
var revocationTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Store, rv storage.Revocations)
}{
	{"DenyID", testDenyID},
	{"DenyKeepsLaterUntil", testDenyKeepsLaterUntil},
	{"Generations", testGenerations},
	{"GenerationKeepsLaterUntil", testGenerationKeepsLaterUntil},
	{"GenerationAfterExpiry", testGenerationAfterExpiry},
	{"RevocationCombinations", testRevocationCombinations},
	{"RevocationHostileInputs", testRevocationHostileInputs},
	{"RevocationsApartFromSessions", testRevocationsApartFromSessions},
	{"ConcurrentRevokeSubject", testConcurrentRevokeSubject},
	{"ConcurrentDenyID", testConcurrentDenyID},
	{"RevocationContextCanceled", testRevocationContextCanceled},
}

var watcherTests = []struct {
	name string
	fn   func(t *testing.T, w storage.RevocationWatcher)
}{
	{"WatchOwnChanges", testWatchOwnChanges},
	{"WatchStops", testWatchStops},
	{"SeveralWatchers", testSeveralWatchers},
}

// runRevocations runs revocationTests and watcherTests, skipping those the
// store does not implement.
func runRevocations(t *testing.T, newStore func(t *testing.T) storage.Store) {
	for _, tt := range revocationTests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			rv, ok := s.(storage.Revocations)
			if !ok {
				t.Skip("the store does not implement storage.Revocations")
			}
			tt.fn(t, s, rv)
		})
	}
	for _, tt := range watcherTests {
		t.Run(tt.name, func(t *testing.T) {
			w, ok := newStore(t).(storage.RevocationWatcher)
			if !ok {
				t.Skip("the store does not implement storage.RevocationWatcher")
			}
			tt.fn(t, w)
		})
	}
}

// Deadlines of revocation entries, hours from the wall clock so that a
// store with its own clock (Redis expiry) agrees about what has passed.
func future() time.Time { return Now().Add(2 * time.Hour) }
func past() time.Time   { return Now().Add(-2 * time.Hour) }

func mustDeny(t *testing.T, rv storage.Revocations, id string, until time.Time) {
	t.Helper()
	if err := rv.DenyID(ctx(t), id, until); err != nil {
		t.Fatalf("DenyID(%q): %v", abbrev([]byte(id)), err)
	}
}

func mustRevoke(t *testing.T, rv storage.Revocations, subject, except string, until time.Time) storage.Generation {
	t.Helper()
	g, err := rv.RevokeSubject(ctx(t), subject, except, until)
	if err != nil {
		t.Fatalf("RevokeSubject(%q): %v", abbrev([]byte(subject)), err)
	}
	if g.Except != except {
		t.Errorf("RevokeSubject(%q, %q) returned Except %q, want the except ID", abbrev([]byte(subject)), except, g.Except)
	}
	return g
}

// wantRevocation checks that Revocation(id, subject) answers denied and gen.
func wantRevocation(t *testing.T, rv storage.Revocations, id, subject string, denied bool, gen storage.Generation) {
	t.Helper()
	d, g, err := rv.Revocation(ctx(t), id, subject)
	if err != nil {
		t.Fatalf("Revocation(%q, %q): %v", abbrev([]byte(id)), abbrev([]byte(subject)), err)
	}
	if d != denied || g != gen {
		t.Errorf("Revocation(%q, %q) = %v, %+v; want %v, %+v", abbrev([]byte(id)), abbrev([]byte(subject)), d, g, denied, gen)
	}
}

func testDenyID(t *testing.T, _ storage.Store, rv storage.Revocations) {
	id, other := NewID(), NewID()
	wantRevocation(t, rv, id, "", false, storage.Generation{})
	mustDeny(t, rv, id, future())
	wantRevocation(t, rv, id, "", true, storage.Generation{})
	wantRevocation(t, rv, other, "", false, storage.Generation{})
	wantRevocation(t, rv, "", "", false, storage.Generation{})
	mustDeny(t, rv, id, future().Add(time.Hour)) // again: still denied
	wantRevocation(t, rv, id, "", true, storage.Generation{})
	if err := rv.DenyID(ctx(t), "", future()); err == nil || IsSentinel(err) {
		t.Errorf("DenyID with an empty ID: %v, want an error", err)
	}
	if err := rv.DenyID(ctx(t), other, time.Time{}); err == nil || IsSentinel(err) {
		t.Errorf("DenyID with a zero until: %v, want an error", err)
	}
	wantRevocation(t, rv, other, "", false, storage.Generation{})
}

// drainNow calls DeleteExpired at the wall clock, from which every entry of
// these tests is hours away, until it returns 0.
func drainNow(t *testing.T, s storage.Store) { drainExpired(t, s, Now(), 100) }

func testDenyKeepsLaterUntil(t *testing.T, s storage.Store, rv storage.Revocations) {
	laterFirst, laterSecond, expired, kept := NewID(), NewID(), NewID(), NewID()
	mustDeny(t, rv, laterFirst, future())
	mustDeny(t, rv, laterFirst, past())
	mustDeny(t, rv, laterSecond, past())
	mustDeny(t, rv, laterSecond, future())
	mustDeny(t, rv, expired, past())
	mustDeny(t, rv, kept, future())
	drainNow(t, s)
	wantRevocation(t, rv, laterFirst, "", true, storage.Generation{})
	wantRevocation(t, rv, laterSecond, "", true, storage.Generation{})
	wantRevocation(t, rv, expired, "", false, storage.Generation{})
	wantRevocation(t, rv, kept, "", true, storage.Generation{})
	// Nothing is dropped before its until, in batches of any size.
	drainExpired(t, s, future().Add(-time.Hour), 3)
	wantRevocation(t, rv, kept, "", true, storage.Generation{})
}

func testGenerations(t *testing.T, _ storage.Store, rv storage.Revocations) {
	const alice, bob = "alice", "bob"
	wantRevocation(t, rv, "", alice, false, storage.Generation{})
	if g := mustRevoke(t, rv, alice, "", future()); g.N != 1 {
		t.Errorf("the first RevokeSubject of a new store returned N %d, want 1", g.N)
	}
	wantRevocation(t, rv, "", alice, false, storage.Generation{N: 1})
	if g := mustRevoke(t, rv, alice, "spared", future()); g.N != 2 {
		t.Errorf("the second RevokeSubject returned N %d, want 2", g.N)
	}
	wantRevocation(t, rv, "", alice, false, storage.Generation{N: 2, Except: "spared"})
	if g := mustRevoke(t, rv, alice, "", future()); g.N != 3 {
		t.Errorf("the third RevokeSubject returned N %d, want 3", g.N)
	}
	// Except is the latest call's.
	wantRevocation(t, rv, "", alice, false, storage.Generation{N: 3})
	wantRevocation(t, rv, "", bob, false, storage.Generation{})
	g := mustRevoke(t, rv, bob, "x", future())
	if g.N == 0 {
		t.Errorf("RevokeSubject(bob) returned N 0")
	}
	wantRevocation(t, rv, "", bob, false, g)
	wantRevocation(t, rv, "", alice, false, storage.Generation{N: 3})
	wantRevocation(t, rv, "spared", "", false, storage.Generation{}) // Except is no deny entry
	if _, err := rv.RevokeSubject(ctx(t), "", "x", future()); err == nil || IsSentinel(err) {
		t.Errorf("RevokeSubject with an empty subject: %v, want an error", err)
	}
	if _, err := rv.RevokeSubject(ctx(t), "carol", "", time.Time{}); err == nil || IsSentinel(err) {
		t.Errorf("RevokeSubject with a zero until: %v, want an error", err)
	}
	wantRevocation(t, rv, "", "carol", false, storage.Generation{})
	wantRevocation(t, rv, "", "", false, storage.Generation{})
}

func testGenerationKeepsLaterUntil(t *testing.T, s storage.Store, rv storage.Revocations) {
	first := mustRevoke(t, rv, "later-first", "", future())
	mustRevoke(t, rv, "later-first", "a", past())
	mustRevoke(t, rv, "later-second", "", past())
	second := mustRevoke(t, rv, "later-second", "b", future())
	drainNow(t, s)
	wantRevocation(t, rv, "", "later-first", false, storage.Generation{N: first.N + 1, Except: "a"})
	wantRevocation(t, rv, "", "later-second", false, second)
	if g := mustRevoke(t, rv, "later-first", "", past()); g.N != first.N+2 {
		t.Errorf("RevokeSubject after DeleteExpired returned N %d, want %d: N never goes down", g.N, first.N+2)
	}
	drainExpired(t, s, future().Add(-time.Hour), 2)
	wantRevocation(t, rv, "", "later-second", false, second)
}

// testGenerationAfterExpiry: once a subject's entry is dropped, its next
// generation is above every one it had, so that a session sealed under an
// old generation is ended by the next "sign out everywhere".
func testGenerationAfterExpiry(t *testing.T, s storage.Store, rv storage.Revocations) {
	var high uint64
	for range 3 {
		high = mustRevoke(t, rv, "dave", "", past()).N
	}
	drainNow(t, s)
	wantRevocation(t, rv, "", "dave", false, storage.Generation{})
	if g := mustRevoke(t, rv, "dave", "", future()); g.N <= high {
		t.Errorf("RevokeSubject after the entry expired returned N %d, want more than the %d returned before", g.N, high)
	}
}

func testRevocationCombinations(t *testing.T, _ storage.Store, rv storage.Revocations) {
	denied, free := NewID(), NewID()
	mustDeny(t, rv, denied, future())
	gen := mustRevoke(t, rv, "revoked", "keep", future())
	tests := []struct {
		name, id, subject string
		denied            bool
		gen               storage.Generation
	}{
		{"denied, revoked", denied, "revoked", true, gen},
		{"denied, not revoked", denied, "other", true, storage.Generation{}},
		{"not denied, revoked", free, "revoked", false, gen},
		{"neither", free, "other", false, storage.Generation{}},
		{"denied, no subject", denied, "", true, storage.Generation{}},
		{"no ID, revoked", "", "revoked", false, gen},
		{"nothing", "", "", false, storage.Generation{}},
		// The kinds do not share keys: an ID named like a revoked subject,
		// a subject named like a denied ID.
		{"ID named like the subject", "revoked", denied, false, storage.Generation{}},
		{"spared ID", "keep", "", false, storage.Generation{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRevocation(t, rv, tt.id, tt.subject, tt.denied, tt.gen)
		})
	}
}

func testRevocationHostileInputs(t *testing.T, _ storage.Store, rv storage.Revocations) {
	gens := make([]storage.Generation, len(hostile))
	for i, h := range hostile {
		mustDeny(t, rv, h.s, future())
		gens[i] = mustRevoke(t, rv, h.s, h.s, future())
	}
	near := func(s string) []string {
		out := []string{s + "\x00", "x" + s, s + "x", strings.ToUpper(s) + "\u0130"}
		if len(s) > 1 {
			out = append(out, s[:len(s)-1], s[1:])
		}
		return out
	}
	all := map[string]bool{}
	for _, h := range hostile {
		all[h.s] = true
	}
	for i, h := range hostile {
		wantRevocation(t, rv, h.s, h.s, true, gens[i])
		for _, n := range near(h.s) {
			if all[n] {
				continue
			}
			wantRevocation(t, rv, n, n, false, storage.Generation{})
		}
	}
	t.Run("very long", func(t *testing.T) {
		long := strings.Repeat("\x00'\"{}ü", 300) // 2.4 KB
		mustDeny(t, rv, long, future())
		g := mustRevoke(t, rv, long, long, future())
		wantRevocation(t, rv, long, long, true, g)
		wantRevocation(t, rv, long[:len(long)-1], long[:len(long)-1], false, storage.Generation{})
	})
}

// testRevocationsApartFromSessions: deny entries and generations are not
// sessions, and sessions are not revocation entries, whatever their keys.
func testRevocationsApartFromSessions(t *testing.T, s storage.Store, rv storage.Revocations) {
	c := ctx(t)
	r := NewRecord("erin")
	mustCreate(t, s, r)
	want := r.Clone()
	mustDeny(t, rv, r.ID, future())
	gen := mustRevoke(t, rv, "erin", "", future())
	wantRecord(t, s, want)
	wantByID(t, s, r.ID, r.Hash)
	wantList(t, s, "erin", want)

	onlyDenied, onlyRevoked := NewID(), "frank"
	mustDeny(t, rv, onlyDenied, future())
	mustRevoke(t, rv, onlyRevoked, "", future())
	wantNoID(t, s, onlyDenied)
	wantErr(t, "DeleteByID of a denied ID without a session", s.DeleteByID(c, onlyDenied), storage.ErrNotFound)
	wantList(t, s, onlyRevoked)
	if n, err := s.DeleteSubject(c, onlyRevoked, ""); err != nil || n != 0 {
		t.Errorf("DeleteSubject of a revoked subject without sessions = %d, %v; want 0, nil", n, err)
	}
	// A session may take a denied ID: IDs are unique among live sessions,
	// and a deny entry is none.
	same := NewRecord(onlyRevoked)
	same.ID = onlyDenied
	mustCreate(t, s, same)
	wantByID(t, s, onlyDenied, same.Hash)
	wantList(t, s, onlyRevoked, same.Clone())

	// Ending sessions leaves the revocation state alone, and the other way round.
	if n, err := s.DeleteSubject(c, "erin", ""); err != nil || n != 1 {
		t.Fatalf("DeleteSubject(erin) = %d, %v; want 1 (the session only)", n, err)
	}
	if err := s.DeleteByID(c, onlyDenied); err != nil {
		t.Fatalf("DeleteByID of the session with a denied ID: %v", err)
	}
	wantRevocation(t, rv, r.ID, "erin", true, gen)
	wantRevocation(t, rv, onlyDenied, "", true, storage.Generation{})
	drainNow(t, s)
	wantRevocation(t, rv, r.ID, "erin", true, gen)
	wantTombstone(t, s, r, storage.StateDestroyed, storage.Hash{}, time.Time{})
}

func testConcurrentRevokeSubject(t *testing.T, _ storage.Store, rv storage.Revocations) {
	const workers, each = 8, 5
	var (
		mu sync.Mutex
		ns []uint64
	)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				g, err := rv.RevokeSubject(ctx(t), "grace", fmt.Sprint(w, "-", i), future())
				if err != nil {
					errs[w] = err
					return
				}
				mu.Lock()
				ns = append(ns, g.N)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent RevokeSubject: %v", err)
	}
	slices.Sort(ns)
	for i := 1; i < len(ns); i++ {
		if ns[i] != ns[i-1]+1 {
			t.Fatalf("concurrent RevokeSubject returned Ns %v, want %d distinct consecutive ones", ns, workers*each)
		}
	}
	_, g, err := rv.Revocation(ctx(t), "", "grace")
	if err != nil {
		t.Fatal(err)
	}
	if g.N != ns[len(ns)-1] {
		t.Errorf("after the concurrent calls, N is %d, want the highest returned, %d", g.N, ns[len(ns)-1])
	}
}

// testConcurrentDenyID: concurrent denials of one ID keep the latest until,
// whichever order they land in.
func testConcurrentDenyID(t *testing.T, s storage.Store, rv storage.Revocations) {
	ids := []string{NewID(), NewID(), NewID()}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for w := range errs {
		wg.Go(func() {
			for i, id := range ids {
				until := past()
				if (w+i)%4 == 0 {
					until = future()
				}
				if err := rv.DenyID(ctx(t), id, until); err != nil {
					errs[w] = err
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent DenyID: %v", err)
	}
	drainNow(t, s)
	for _, id := range ids {
		wantRevocation(t, rv, id, "", true, storage.Generation{})
	}
}

func testRevocationContextCanceled(t *testing.T, _ storage.Store, rv storage.Revocations) {
	mustDeny(t, rv, "known", future())
	cc, cancel := context.WithCancel(ctx(t))
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"DenyID", func() error { return rv.DenyID(cc, NewID(), future()) }},
		{"RevokeSubject", func() error { _, err := rv.RevokeSubject(cc, "alice", "", future()); return err }},
		{"Revocation", func() error { _, _, err := rv.Revocation(cc, "known", "alice"); return err }},
	}
	for _, c := range calls {
		if err := c.call(); err == nil {
			t.Errorf("%s with a cancelled context returned nil, want an error", c.name)
		}
	}
	w, ok := rv.(storage.RevocationWatcher)
	if !ok {
		return
	}
	done := make(chan struct{})
	go func() {
		w.WatchRevocations(cc, func(storage.RevocationEvent) {})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("WatchRevocations with a cancelled context did not return within 5s")
	}
}
