package storetest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// drainExpired calls DeleteExpired(now, limit) until it returns 0, checking
// that every call honours limit, and returns the total dropped.
func drainExpired(t *testing.T, s storage.Store, now time.Time, limit int) int {
	t.Helper()
	total := 0
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("DeleteExpired(limit %d) still dropping after %d calls (%d in all)", limit, i, total)
		}
		n, err := s.DeleteExpired(ctx(t), now, limit)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		if n < 0 || n > limit {
			t.Fatalf("DeleteExpired(limit %d) = %d, want between 0 and %d", limit, n, limit)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

func testExpiryDropsPast(t *testing.T, s storage.Store) {
	c := ctx(t)
	now := Now()
	keep := NewRecord("alice")
	mustCreate(t, s, keep)

	past := func(idle, abs time.Duration) *storage.Record {
		r := NewRecord("alice")
		r.IdleExpiresAt = time.Time{}
		if idle != 0 {
			r.IdleExpiresAt = now.Add(idle)
		}
		r.ExpiresAt = now.Add(abs)
		return r
	}
	expired := []*storage.Record{
		past(-time.Hour, time.Hour),        // idle deadline passed
		past(0, -time.Hour),                // absolute deadline passed, no idle deadline
		past(time.Hour, -2*time.Hour),      // absolute deadline passed before the idle one
		past(-3*time.Hour, -2*time.Hour),   // both passed
		past(-30*time.Hour, -24*time.Hour), // long ago
		past(-time.Hour, time.Hour),
		past(-time.Hour, time.Hour),
	}
	for _, r := range expired {
		mustCreate(t, s, r)
	}
	// Tombstones whose ExpiresAt passed: the store may already have dropped
	// the live record, so both outcomes of Delete and Rotate are fine.
	deadTomb := past(0, -time.Hour)
	mustCreate(t, s, deadTomb)
	if err := s.Delete(c, deadTomb.Hash); err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Delete(expired): %v", err)
	}
	rotTomb := past(0, -time.Hour)
	mustCreate(t, s, rotTomb)
	next := NewRecord("alice")
	next.ID = rotTomb.ID
	switch err := s.Rotate(c, rotTomb, next, now.Add(-59*time.Minute)); {
	case err == nil:
		next.Version = 1
	case errors.Is(err, storage.ErrNotFound):
		next = nil
	default:
		t.Fatalf("Rotate(expired): %v", err)
	}
	expired = append(expired, deadTomb, rotTomb)

	total := drainExpired(t, s, now, 2)
	if total > len(expired) {
		t.Errorf("DeleteExpired dropped %d records, but only %d had expired", total, len(expired))
	}
	for _, r := range expired {
		wantGone(t, s, r.Hash)
		if next == nil || r.ID != next.ID {
			wantNoID(t, s, r.ID)
		}
	}
	wantRecord(t, s, keep)
	if next != nil {
		wantRecord(t, s, next)
		wantList(t, s, "alice", keep, next)
	} else {
		wantList(t, s, "alice", keep)
	}
	if n, err := s.DeleteExpired(c, now, 100); err != nil || n != 0 {
		t.Errorf("DeleteExpired after draining = %d, %v; want 0, nil", n, err)
	}
}

func testExpiryKeepsFuture(t *testing.T, s storage.Store) {
	c := ctx(t)
	now := Now()
	mk := func(sub string, idle, abs time.Duration) *storage.Record {
		r := NewRecord(sub)
		r.IdleExpiresAt = time.Time{}
		if idle != 0 {
			r.IdleExpiresAt = now.Add(idle)
		}
		r.ExpiresAt = now.Add(abs)
		mustCreate(t, s, r)
		return r
	}
	live := mk("alice", 3*time.Hour, 5*time.Hour)
	noIdle := mk("alice", 0, 3*time.Hour)
	anon := mk("", 3*time.Hour, 4*time.Hour)
	// A tombstone keeps until ExpiresAt even when the idle deadline of the
	// live record it replaced is earlier.
	destroyed := mk("bob", time.Hour, 5*time.Hour)
	if err := s.Delete(c, destroyed.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	rotated := mk("bob", time.Hour, 5*time.Hour)
	rotSnap := rotated.Clone()
	next := NewRecord("bob")
	next.ID = rotated.ID
	next.IdleExpiresAt = now.Add(3 * time.Hour)
	next.ExpiresAt = rotated.ExpiresAt
	grace := now.Add(time.Minute)
	if err := s.Rotate(c, rotated, next, grace); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	next.Version = 1
	rotSnap.Version++
	// This one's idle deadline is in the past of the second call: it may go.
	mk("carol", time.Hour, 5*time.Hour)

	if n, err := s.DeleteExpired(c, now, 1000); err != nil || n != 0 {
		t.Errorf("DeleteExpired(now) with nothing expired = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.DeleteExpired(c, now.Add(2*time.Hour), 1000); err != nil || n > 1 {
		t.Errorf("DeleteExpired(now+2h) = %d, %v; want at most 1 (carol's), nil", n, err)
	}
	wantRecord(t, s, live)
	wantRecord(t, s, noIdle)
	wantRecord(t, s, anon)
	wantRecord(t, s, next)
	wantTombstone(t, s, destroyed, storage.StateDestroyed, storage.Hash{}, time.Time{})
	wantTombstone(t, s, rotSnap, storage.StateRotated, next.Hash, grace)
	wantList(t, s, "alice", live, noIdle)
	wantList(t, s, "bob", next)
	wantByID(t, s, next.ID, next.Hash)
}

func counter(t *testing.T, r *storage.Record) int {
	s := strings.TrimSuffix(strings.TrimPrefix(string(r.Data), `{"n":`), "}")
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Errorf("Data = %q, want {\"n\":N}", r.Data)
	}
	return n
}

// testConcurrentUpdates runs many read-modify-write loops on one record;
// compare-and-swap must make every increment count exactly once.
func testConcurrentUpdates(t *testing.T, s storage.Store) {
	c := ctx(t)
	r := NewRecord("alice")
	r.Data = []byte(`{"n":0}`)
	mustCreate(t, s, r)
	const workers, each = 50, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				for attempt := 0; ; attempt++ {
					if attempt > 100000 {
						t.Errorf("Update kept conflicting after %d attempts", attempt)
						return
					}
					cur, err := s.Get(c, r.Hash)
					if err != nil {
						t.Errorf("Get: %v", err)
						return
					}
					cur.Data = fmt.Appendf(nil, `{"n":%d}`, counter(t, cur)+1)
					err = s.Update(c, cur)
					if err == nil {
						break
					}
					if !errors.Is(err, storage.ErrConflict) {
						t.Errorf("Update: got %v, want nil or ErrConflict", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	got := mustGet(t, s, r.Hash)
	if n := counter(t, got); n != workers*each {
		t.Errorf("counter = %d, want %d", n, workers*each)
	}
	if got.Version != workers*each+1 {
		t.Errorf("Version = %d, want %d", got.Version, workers*each+1)
	}
}

// testConcurrentRotateUpdate races a Rotate and an Update that both read the
// same version: exactly one may win.
func testConcurrentRotateUpdate(t *testing.T, s storage.Store) {
	c := ctx(t)
	for round := range 30 {
		sub := "user-" + strconv.Itoa(round)
		r := NewRecord(sub)
		mustCreate(t, s, r)
		a, b := r.Clone(), r.Clone()
		b.Data = []byte(`{"updated":true}`)
		next := NewRecord(sub)
		next.ID = r.ID
		var rotErr, updErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; rotErr = s.Rotate(c, a, next, Now().Add(time.Minute)) })
		wg.Go(func() { <-start; updErr = s.Update(c, b) })
		close(start)
		wg.Wait()
		switch {
		case rotErr == nil && updErr == nil:
			t.Fatalf("round %d: both Rotate and Update succeeded from version 1", round)
		case rotErr != nil && updErr != nil:
			t.Fatalf("round %d: both failed: Rotate %v, Update %v", round, rotErr, updErr)
		case rotErr == nil:
			if !errors.Is(updErr, storage.ErrNotFound) && !errors.Is(updErr, storage.ErrConflict) {
				t.Errorf("round %d: losing Update: %v, want ErrNotFound or ErrConflict", round, updErr)
			}
			if g := mustGet(t, s, r.Hash); g.State != storage.StateRotated {
				t.Errorf("round %d: old hash state %v, want rotated", round, g.State)
			}
			wantByID(t, s, r.ID, next.Hash)
			next.Version = 1
			wantList(t, s, sub, next)
		default:
			wantErr(t, fmt.Sprintf("round %d: losing Rotate", round), rotErr, storage.ErrConflict)
			want := b.Clone()
			want.Version = 2
			wantRecord(t, s, want)
			wantGone(t, s, next.Hash)
			wantByID(t, s, r.ID, r.Hash)
			wantList(t, s, sub, want)
		}
	}
}

// testConcurrentRotate races several Rotates of one version: exactly one
// successor may become live.
func testConcurrentRotate(t *testing.T, s storage.Store) {
	c := ctx(t)
	const racers = 4
	for round := range 20 {
		sub := "user-" + strconv.Itoa(round)
		r := NewRecord(sub)
		mustCreate(t, s, r)
		var nexts [racers]*storage.Record
		var errs [racers]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range racers {
			nexts[i] = NewRecord(sub)
			nexts[i].ID = r.ID
			old := r.Clone()
			wg.Go(func() { <-start; errs[i] = s.Rotate(c, old, nexts[i], time.Time{}) })
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: Rotates %d and %d both succeeded", round, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict):
				t.Errorf("round %d: losing Rotate: %v, want ErrNotFound or ErrConflict", round, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no Rotate succeeded: %v", round, errs)
		}
		for i, n := range nexts {
			if i != winner {
				wantGone(t, s, n.Hash)
			}
		}
		w := nexts[winner].Clone()
		w.Version = 1
		wantRecord(t, s, w)
		wantByID(t, s, r.ID, w.Hash)
		wantList(t, s, sub, w)
	}
}

// testConcurrentCreate races Creates of one hash and of one ID.
func testConcurrentCreate(t *testing.T, s storage.Store) {
	c := ctx(t)
	const racers = 16
	tests := []struct {
		name string
		mk   func(base *storage.Record) *storage.Record
	}{
		{"same hash", func(base *storage.Record) *storage.Record { r := NewRecord(base.Subject); r.Hash = base.Hash; return r }},
		{"same ID", func(base *storage.Record) *storage.Record { r := NewRecord(base.Subject); r.ID = base.ID; return r }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := NewRecord("race-" + tt.name)
			var recs [racers]*storage.Record
			var errs [racers]error
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range racers {
				recs[i] = tt.mk(base)
				wg.Go(func() { <-start; errs[i] = s.Create(c, recs[i]) })
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("Creates %d and %d both succeeded", winner, i)
				case err == nil:
					winner = i
				default:
					wantErr(t, "losing Create", err, storage.ErrExists)
				}
			}
			if winner < 0 {
				t.Fatalf("no Create succeeded: %v", errs)
			}
			w := recs[winner]
			wantRecord(t, s, w)
			wantByID(t, s, w.ID, w.Hash)
			wantList(t, s, base.Subject, w)
		})
	}
}

// testContextCanceled checks that no method reports success for a context
// that was cancelled before the call. Stores wrap their driver's errors, so
// only a non-nil error is required.
func testContextCanceled(t *testing.T, s storage.Store) {
	live := NewRecord("alice")
	mustCreate(t, s, live)
	cc, cancel := context.WithCancel(ctx(t))
	cancel()
	next := NewRecord("alice")
	next.ID = live.ID
	tests := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(cc, live.Hash); return err }},
		{"GetByID", func() error { _, err := s.GetByID(cc, live.ID); return err }},
		{"Create", func() error { return s.Create(cc, NewRecord("alice")) }},
		{"Update", func() error { return s.Update(cc, live.Clone()) }},
		{"Rotate", func() error { return s.Rotate(cc, live.Clone(), next, time.Time{}) }},
		{"Delete", func() error { return s.Delete(cc, live.Hash) }},
		{"DeleteByID", func() error { return s.DeleteByID(cc, live.ID) }},
		{"List", func() error { _, err := s.List(cc, "alice"); return err }},
		{"DeleteSubject", func() error { _, err := s.DeleteSubject(cc, "alice", ""); return err }},
		{"DeleteExpired", func() error { _, err := s.DeleteExpired(cc, Now().Add(24*time.Hour), 10); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Errorf("%s with a cancelled context returned nil, want an error", tt.name)
			}
		})
	}
}

// bigValue returns a JSON object of exactly n bytes with random content.
func bigValue(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_"
	b := make([]byte, n)
	copy(b, `{"blob":"`)
	for i := len(`{"blob":"`); i < n-2; i++ {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	copy(b[n-2:], `"}`)
	return b
}

func testLargeValues(t *testing.T, s storage.Store) {
	c := ctx(t)
	const mib = 1 << 20
	r := fullRecord("alice")
	r.Data = bigValue(mib)
	r.Meta = bigValue(64 << 10)
	want := r.Clone()
	want.Version = 1
	mustCreate(t, s, r)
	wantRecord(t, s, want)
	wantList(t, s, "alice", want)

	u := mustGet(t, s, r.Hash)
	u.Data = bigValue(mib)
	want = u.Clone()
	want.Version = 2
	if err := s.Update(c, u); err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantRecord(t, s, want)

	next := fullRecord("alice")
	next.ID = r.ID
	next.Data = bigValue(mib)
	wantNext := next.Clone()
	wantNext.Version = 1
	if err := s.Rotate(c, u, next, Now().Add(time.Minute)); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	wantRecord(t, s, wantNext)
	got := wantByID(t, s, r.ID, next.Hash)
	if d := Diff(got, wantNext); d != "" {
		t.Errorf("GetByID differs:%s", d)
	}
}

// hostile holds strings that break stores which build queries, keys or
// scripts by concatenation, compare by prefix or pattern, or treat strings as
// text in some encoding.
var hostile = []struct {
	name string
	s    string
}{
	{"single quote", "o'brien"},
	{"double quote", `say "hi"`},
	{"backslashes", `a\b\\c\`},
	{"sql injection", "'; DROP TABLE sessions; --"},
	{"sql injection 2", `" OR 1=1 --`},
	{"nul", "a\x00b"},
	{"only nul", "\x00"},
	{"trailing nul", "alice\x00"},
	{"newlines", "line1\nline2\r\nline3"},
	{"crlf injection", "x\r\nSET keycard:evil 1\r\n"},
	{"tab", "a\tb"},
	{"unicode", "Zoë 用户 🔑"},
	{"combining", "e\u0301"},
	{"precomposed", "\u00e9"},
	{"right to left", "\u202eevil"},
	{"lua long bracket", "]]..[[ ]=] ]==]"},
	{"lua pattern", "%a+.-$^"},
	{"hash tag", "{user}:1"},
	{"braces", "}{"},
	{"redis glob", "*?[a-z]\\"},
	{"sql like", "%_"},
	{"json", `{"a":1,"b":[null]}`},
	{"key separator", "keycard:session:x"},
	{"space", " "},
	{"long", strings.Repeat("ü", 1000)},
	{"percent encoding", "%00%0a"},
	{"html", "<script>alert(1)</script>"},
	{"non-canonical ID", "AAAAAAAAAAAAAAAAAAAAAB"},
	{"ID with newline", "AAAAAAAAAA\nAAAAAAAAAAA"},
	{"standard base64", "AAAAAAAAAAAAAAAAAAAA+/"},
	{"base64 of zeros", base64.RawURLEncoding.EncodeToString(make([]byte, 16))},
	{"padded base64", base64.URLEncoding.EncodeToString(make([]byte, 16))},
}

func testHostileInputs(t *testing.T, s storage.Store) {
	c := ctx(t)
	recs := make([]*storage.Record, len(hostile))
	for i, h := range hostile {
		r := fullRecord(h.s)
		r.ID = h.s
		r.IP, r.UserAgent, r.Fingerprint = h.s, h.s, h.s
		r.Data, r.Meta = []byte(h.s), []byte(h.s+h.s)
		if err := s.Create(c, r); err != nil {
			t.Fatalf("%s: Create: %v", h.name, err)
		}
		recs[i] = r
	}
	check := func(phase string) {
		t.Helper()
		for i, h := range hostile {
			r := recs[i]
			got := mustGet(t, s, r.Hash)
			if d := Diff(got, r); d != "" {
				t.Errorf("%s %s: Get differs:%s", phase, h.name, d)
			}
			got = wantByID(t, s, h.s, r.Hash)
			if d := Diff(got, r); d != "" {
				t.Errorf("%s %s: GetByID differs:%s", phase, h.name, d)
			}
			wantList(t, s, h.s, r)
		}
	}
	check("after Create")

	for i, h := range hostile {
		u := mustGet(t, s, recs[i].Hash)
		u.Data = []byte(h.s + "\x00" + h.s)
		u.UserAgent = h.s + h.s
		if err := s.Update(c, u); err != nil {
			t.Fatalf("%s: Update: %v", h.name, err)
		}
		recs[i] = u
	}
	check("after Update")

	olds := make([]*storage.Record, len(hostile))
	for i, h := range hostile {
		old := recs[i]
		olds[i] = old.Clone()
		next := fullRecord(h.s)
		next.ID = h.s
		next.Data = []byte(h.s)
		next.IP = h.s
		if err := s.Rotate(c, old, next, Now().Add(time.Minute)); err != nil {
			t.Fatalf("%s: Rotate: %v", h.name, err)
		}
		olds[i].Version++
		next.Version = 1
		recs[i] = next
	}
	check("after Rotate")

	for i, h := range hostile {
		if i%2 == 0 {
			if err := s.DeleteByID(c, h.s); err != nil {
				t.Fatalf("%s: DeleteByID: %v", h.name, err)
			}
		} else {
			n, err := s.DeleteSubject(c, h.s, "")
			if err != nil || n != 1 {
				t.Fatalf("%s: DeleteSubject = %d, %v; want 1, nil", h.name, n, err)
			}
		}
		// The other rows are untouched.
		for j := i + 1; j < len(hostile); j++ {
			wantByID(t, s, hostile[j].s, recs[j].Hash)
		}
	}
	for i, h := range hostile {
		wantTombstone(t, s, recs[i], storage.StateDestroyed, storage.Hash{}, time.Time{})
		ts := mustGet(t, s, olds[i].Hash)
		want := olds[i].Tombstone(storage.StateRotated, recs[i].Hash, ts.GraceUntil)
		if d := tombstoneDiff(ts, want); d != "" {
			t.Errorf("%s: rotated tombstone differs:%s", h.name, d)
		}
		wantNoID(t, s, h.s)
		wantList(t, s, h.s)
	}

	t.Run("binary data", func(t *testing.T) {
		r := NewRecord("alice")
		all := make([]byte, 512)
		for i := range all {
			all[i] = byte(i)
		}
		r.Data = all
		r.Meta = []byte("\xff\xfe\xc3\x28 \xed\xa0\x80")
		want := r.Clone()
		want.Version = 1
		mustCreate(t, s, r)
		wantRecord(t, s, want)
	})
}

// testConcurrentDeleteSubject runs several revocations of one subject at
// once, as several nodes answering "sign out everywhere" would: every one
// succeeds (no deadlock or conflict reaches a caller), each session is
// counted once, and none is left.
func testConcurrentDeleteSubject(t *testing.T, s storage.Store) {
	c := ctx(t)
	for round := range 5 {
		const n = 40
		for range n {
			mustCreate(t, s, NewRecord("alice"))
		}
		const racers = 6
		counts := make([]int, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { counts[i], errs[i] = s.DeleteSubject(c, "alice", "") })
		}
		wg.Wait()
		total := 0
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d: DeleteSubject %d: %v", round, i, errs[i])
			}
			total += counts[i]
		}
		if total != n {
			t.Errorf("round %d: the revocations destroyed %d sessions in all, want %d", round, total, n)
		}
		wantList(t, s, "alice")
	}
}

// raceRounds is how many rounds Run gives each race of a revocation
// against a renewal: enough to meet the interleavings that matter on every
// store in a few seconds, fewer under -short.
func raceRounds() int {
	if testing.Short() {
		return 30
	}
	return 150
}

func testDeleteSubjectRacesRotate(t *testing.T, s storage.Store) {
	DeleteSubjectRacesRotate(t, s, s, raceRounds())
}

// DeleteSubjectRacesRotate races, rounds times, a renewal (Rotate through
// rotator) against "sign out everywhere" (DeleteSubject through revoker) of
// the same subject: whichever wins, no live record of the subject may be
// left, the successor included. The rounds take turns as in
// DeleteByIDRacesRotate (no grace deadline, a grace deadline, a chain of two
// Rotates). DeleteSubject must succeed, destroy at most the one live record
// and destroy it unless a Rotate failed. Run calls it with one store for
// both; a store that several processes share can pass two (one per
// process).
func DeleteSubjectRacesRotate(t *testing.T, rotator, revoker storage.Store, rounds int) {
	t.Helper()
	raceRevocation(t, rotator, revoker, rounds, "DeleteSubject", func(c context.Context, r *storage.Record) (bool, error) {
		n, err := revoker.DeleteSubject(c, r.Subject, "")
		if err == nil && n > 1 {
			err = fmt.Errorf("destroyed %d records, but one session has one live record", n)
		}
		return n > 0, err
	})
}

func testDeleteByIDRacesRotate(t *testing.T, s storage.Store) {
	DeleteByIDRacesRotate(t, s, s, raceRounds())
}

// DeleteByIDRacesRotate races, rounds times, a renewal (Rotate through
// rotator: the same ID under a new hash) against a logout by public ID
// (DeleteByID through revoker) of the same session. The rounds take turns:
// a Rotate without a grace deadline, one with a grace deadline, and a chain
// of two Rotates (old to next to last) while DeleteByID runs. Whichever
// wins, no live record with the ID may be left: GetByID is ErrNotFound, no
// hash of the chain is live and List of the subject is empty. DeleteByID
// must succeed or return ErrNotFound, and ErrNotFound only when a Rotate
// failed (otherwise the session was live throughout). Run calls it with one
// store for both; a store that several processes share can pass two (one
// per process).
func DeleteByIDRacesRotate(t *testing.T, rotator, revoker storage.Store, rounds int) {
	t.Helper()
	raceRevocation(t, rotator, revoker, rounds, "DeleteByID", func(c context.Context, r *storage.Record) (bool, error) {
		err := revoker.DeleteByID(c, r.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
}

// raceRevocation races, rounds times, renewals of a new session (created
// through rotator) against end, a revocation of it through revoker, which
// reports whether it destroyed a live record. Round i renews without a
// grace deadline (i%3 == 0), with one (1) or twice in a row (2). Every
// Rotate must succeed or fail with ErrNotFound or ErrConflict, end must not
// fail, and it must destroy a record unless a Rotate failed. Afterwards
// neither store may hold a live record of the session: GetByID is
// ErrNotFound, Get of every hash of the chain is not live and List of the
// subject is empty.
func raceRevocation(t *testing.T, rotator, revoker storage.Store, rounds int, what string,
	end func(context.Context, *storage.Record) (bool, error)) {
	t.Helper()
	c := ctx(t)
	// A subject of its own, so that a store shared with other tests holds
	// no other record of it.
	sub := "race-" + NewID()
	for round := range rounds {
		var grace time.Time
		if round%3 > 0 {
			grace = Now().Add(time.Minute)
		}
		chain := []*storage.Record{NewRecord(sub), NewRecord(sub)}
		if round%3 == 2 {
			chain = append(chain, NewRecord(sub))
		}
		for _, r := range chain[1:] {
			r.ID = chain[0].ID
		}
		mustCreate(t, rotator, chain[0])
		first := chain[0].Clone()
		rotErrs := make([]error, len(chain)-1)
		var ended bool
		var endErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			for i := range rotErrs {
				if rotErrs[i] = rotator.Rotate(c, chain[i], chain[i+1], grace); rotErrs[i] != nil {
					break
				}
			}
		})
		wg.Go(func() { <-start; ended, endErr = end(c, first) })
		close(start)
		wg.Wait()
		rotated := true
		for i, err := range rotErrs {
			if err != nil {
				rotated = false
			}
			if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("round %d: Rotate %d: %v, want nil, ErrNotFound or ErrConflict", round, i+1, err)
			}
		}
		if endErr != nil {
			t.Fatalf("round %d: %s: %v", round, what, endErr)
		}
		if !ended && rotated {
			t.Fatalf("round %d: %s destroyed nothing although every Rotate (%d) succeeded, so the session was live throughout", round, what, len(rotErrs))
		}
		for _, s := range []storage.Store{rotator, revoker} {
			if r, err := s.GetByID(c, first.ID); err == nil {
				t.Fatalf("round %d: after Rotate (%v) raced %s, GetByID found a record in state %v; want ErrNotFound", round, rotErrs, what, r.State)
			} else if !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("round %d: GetByID: %v", round, err)
			}
			for i, r := range chain {
				if g, err := s.Get(c, r.Hash); err == nil && g.State == storage.StateLive {
					t.Fatalf("round %d: after Rotate (%v) raced %s, hash %d of the chain is live", round, rotErrs, what, i)
				} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("round %d: Get: %v", round, err)
				}
			}
			if l, err := s.List(c, sub); err != nil || len(l) != 0 {
				t.Fatalf("round %d: after Rotate (%v) raced %s, List = %d live records, %v; want none", round, rotErrs, what, len(l), err)
			}
		}
	}
}

// testRotateChecksSubject: Rotate is a compare-and-swap on the version and
// the subject of old.
func testRotateChecksSubject(t *testing.T, s storage.Store) {
	c := ctx(t)
	for _, subjects := range [][2]string{{"alice", "bob"}, {"", "bob"}, {"alice", ""}} {
		r := NewRecord(subjects[0])
		mustCreate(t, s, r)
		stale := r.Clone()
		stale.Subject = subjects[1]
		next := NewRecord("carol")
		next.ID = r.ID
		if err := s.Rotate(c, stale, next, time.Time{}); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("Rotate with subject %q of a record of %q: %v, want ErrConflict", subjects[1], subjects[0], err)
		}
		if g := mustGet(t, s, r.Hash); g.State != storage.StateLive {
			t.Errorf("record after the refused Rotate: state %v, want live", g.State)
		}
	}
}
