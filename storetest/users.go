package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// userTests are the subtests of the group Users, which Run runs for a store
// that implements storage.Users.
var userTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Store, us storage.Users)
}{
	{"CreateGet", testUserCreateGet},
	{"CreateExists", testUserCreateExists},
	{"Missing", testUserMissing},
	{"Copies", testUserCopies},
	{"Update", testUserUpdate},
	{"UpdateConflict", testUserUpdateConflict},
	{"List", testListUsers},
	{"HostileNames", testUserHostileNames},
	{"ApartFromSessions", testUsersApartFromSessions},
	{"ConcurrentUpdates", testConcurrentUserUpdates},
	{"ConcurrentCreates", testConcurrentUserCreates},
	{"ContextCanceled", testUserContextCanceled},
}

// runUsers runs userTests in a group of their own, each skipped when the
// store does not implement storage.Users.
func runUsers(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("Users", func(t *testing.T) {
		for _, tt := range userTests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStore(t)
				us, ok := s.(storage.Users)
				if !ok {
					t.Skip("the store does not implement storage.Users")
				}
				tt.fn(t, s, us)
			})
		}
	})
}

// newUser returns a user called name with every field set: a PHC string
// of its own, times from Now with distinct microseconds, and Version 0.
func newUser(name string) *storage.User {
	now := Now()
	return &storage.User{
		Name:         name,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdC0" + NewID()[:8] + "$aGFzaC1vZi1" + NewID(),
		CreatedAt:    now.Add(-48*time.Hour + 7*time.Microsecond),
		UpdatedAt:    now.Add(-time.Hour + 11*time.Microsecond),
	}
}

// userDiff describes every field in which got differs from want, or
// returns "" when they are the same (times compare with Equal).
func userDiff(got, want *storage.User) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf(" got %v, want %v", got, want)
		}
		return ""
	}
	var b strings.Builder
	if got.Name != want.Name {
		fmt.Fprintf(&b, "\n\tName: got %q, want %q", got.Name, want.Name)
	}
	if got.PasswordHash != want.PasswordHash {
		fmt.Fprintf(&b, "\n\tPasswordHash: got %q, want %q", got.PasswordHash, want.PasswordHash)
	}
	if got.Disabled != want.Disabled {
		fmt.Fprintf(&b, "\n\tDisabled: got %v, want %v", got.Disabled, want.Disabled)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		fmt.Fprintf(&b, "\n\tCreatedAt: got %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		fmt.Fprintf(&b, "\n\tUpdatedAt: got %v, want %v", got.UpdatedAt, want.UpdatedAt)
	}
	if got.Version != want.Version {
		fmt.Fprintf(&b, "\n\tVersion: got %d, want %d", got.Version, want.Version)
	}
	return b.String()
}

func mustCreateUser(t *testing.T, us storage.Users, u *storage.User) {
	t.Helper()
	if err := us.CreateUser(ctx(t), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", abbrev([]byte(u.Name)), err)
	}
}

func mustGetUser(t *testing.T, us storage.Users, name string) *storage.User {
	t.Helper()
	u, err := us.GetUser(ctx(t), name)
	if err != nil {
		t.Fatalf("GetUser(%q): %v", abbrev([]byte(name)), err)
	}
	if u == nil {
		t.Fatalf("GetUser(%q) returned a nil user and no error", abbrev([]byte(name)))
	}
	return u
}

// wantUser checks that GetUser(want.Name) returns exactly want.
func wantUser(t *testing.T, us storage.Users, want *storage.User) {
	t.Helper()
	if d := userDiff(mustGetUser(t, us, want.Name), want); d != "" {
		t.Errorf("GetUser(%q) differs:%s", abbrev([]byte(want.Name)), d)
	}
}

func wantNoUser(t *testing.T, us storage.Users, name string) {
	t.Helper()
	u, err := us.GetUser(ctx(t), name)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetUser(%q): got (%v, %v), want ErrNotFound", abbrev([]byte(name)), u != nil, err)
	}
}

// wantUsers checks that ListUsers returns exactly want, in that order.
func wantUsers(t *testing.T, us storage.Users, want ...*storage.User) {
	t.Helper()
	got, err := us.ListUsers(ctx(t))
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	names := func(l []*storage.User) []string {
		out := make([]string, len(l))
		for i, u := range l {
			out[i] = abbrev([]byte(u.Name))
		}
		return out
	}
	if len(got) != len(want) {
		t.Fatalf("ListUsers returned %d users %q, want %d %q", len(got), names(got), len(want), names(want))
	}
	for i := range want {
		if d := userDiff(got[i], want[i]); d != "" {
			t.Errorf("ListUsers()[%d] differs (got %q, want %q in that order):%s", i, names(got), names(want), d)
			return
		}
	}
}

// sortedUsers returns a copy of us ordered by name, byte for byte.
func sortedUsers(us ...*storage.User) []*storage.User {
	out := slices.Clone(us)
	slices.SortFunc(out, func(a, b *storage.User) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func testUserCreateGet(t *testing.T, _ storage.Store, us storage.Users) {
	tests := []struct {
		name string
		u    *storage.User
	}{
		{"full", newUser("alice")},
		{"disabled", func() *storage.User { u := newUser("bob"); u.Disabled = true; return u }()},
		{"no password hash", func() *storage.User { u := newUser("carol"); u.PasswordHash = ""; return u }()},
		{"zero times", func() *storage.User {
			u := newUser("dave")
			u.CreatedAt, u.UpdatedAt = time.Time{}, time.Time{}
			return u
		}()},
		{"odd microseconds", func() *storage.User {
			u := newUser("erin")
			u.CreatedAt = time.Date(2026, 2, 28, 23, 59, 59, 123457000, time.UTC)
			u.UpdatedAt = time.Date(2026, 3, 1, 0, 0, 0, 1000, time.UTC)
			return u
		}()},
		{"far past and future", func() *storage.User {
			u := newUser("frank")
			u.CreatedAt = time.Date(1901, 1, 1, 0, 0, 0, 1000, time.UTC)
			u.UpdatedAt = time.Date(2999, 12, 31, 23, 59, 59, 999999000, time.UTC)
			return u
		}()},
		{"another zone", func() *storage.User {
			u := newUser("grace")
			zone := time.FixedZone("IST", 5*3600+1800)
			u.CreatedAt, u.UpdatedAt = u.CreatedAt.In(zone), u.UpdatedAt.In(zone)
			return u
		}()},
		{"version given", func() *storage.User { u := newUser("heidi"); u.Version = 41; return u }()},
		{"negative version given", func() *storage.User { u := newUser("ivan"); u.Version = -7; return u }()},
	}
	var all []*storage.User
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.u.Clone()
			want.Version = 1
			mustCreateUser(t, us, tt.u)
			if tt.u.Version != 1 {
				t.Errorf("after CreateUser, u.Version = %d, want 1", tt.u.Version)
			}
			wantUser(t, us, want)
			all = append(all, want)
		})
	}
	wantUsers(t, us, sortedUsers(all...)...)
}

func testUserCreateExists(t *testing.T, _ storage.Store, us storage.Users) {
	orig := newUser("alice")
	mustCreateUser(t, us, orig)
	want := orig.Clone()
	dups := []struct {
		name string
		dup  func() *storage.User
	}{
		{"same user", orig.Clone},
		{"other fields", func() *storage.User {
			u := newUser("alice")
			u.Disabled = true
			u.CreatedAt = time.Time{}
			return u
		}},
		{"version 1", func() *storage.User { u := newUser("alice"); u.Version = 1; return u }},
	}
	for _, tt := range dups {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, "CreateUser(taken name)", us.CreateUser(ctx(t), tt.dup()), storage.ErrExists)
			wantUser(t, us, want)
		})
	}
	// Names are compared byte for byte: each of these is another user.
	others := []*storage.User{want}
	for _, name := range []string{"Alice", "ALICE", "alice ", " alice", "alice\x00", "\x00alice", "alic", "alicee", "alice\u0301", "\u0430lice"} {
		u := newUser(name)
		if err := us.CreateUser(ctx(t), u); err != nil {
			t.Errorf("CreateUser(%q) beside alice: %v, want success (names compare byte for byte)", name, err)
			continue
		}
		others = append(others, u.Clone())
	}
	wantUser(t, us, want)
	wantUsers(t, us, sortedUsers(others...)...)
}

func testUserMissing(t *testing.T, _ storage.Store, us storage.Users) {
	c := ctx(t)
	wantNoUser(t, us, "alice")
	wantNoUser(t, us, "")
	wantUsers(t, us)
	ghost := newUser("ghost")
	ghost.Version = 1
	wantErr(t, "UpdateUser(unknown) on an empty store", us.UpdateUser(c, ghost), storage.ErrNotFound)

	alice := newUser("alice")
	mustCreateUser(t, us, alice)
	for _, name := range []string{"", "alic", "alice\x00", "Alice", "alice ", "bob", "%", "*", "alice%", "alice*", "ali_e"} {
		wantNoUser(t, us, name)
		u := newUser(name)
		u.Version = 1
		wantErr(t, fmt.Sprintf("UpdateUser(%q)", name), us.UpdateUser(c, u), storage.ErrNotFound)
		if u.Version != 1 {
			t.Errorf("a failed UpdateUser(%q) changed u.Version from 1 to %d", name, u.Version)
		}
	}
	wantNoUser(t, us, "ghost")
	wantUsers(t, us, alice)
}

// testUserCopies: a store keeps no reference to the users it is given and
// returns a fresh copy each time.
func testUserCopies(t *testing.T, _ storage.Store, us storage.Users) {
	u := newUser("alice")
	mustCreateUser(t, us, u)
	want := u.Clone()
	u.PasswordHash, u.Disabled, u.CreatedAt, u.Version = "changed", true, time.Time{}, 9

	got := mustGetUser(t, us, "alice")
	got.PasswordHash, got.Disabled, got.UpdatedAt, got.Version = "changed", true, time.Time{}, 9
	list, err := us.ListUsers(ctx(t))
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	for _, l := range list {
		l.PasswordHash, l.Disabled = "changed", true
	}
	wantUser(t, us, want)
	wantUsers(t, us, want)

	// A user handed to UpdateUser is not retained either.
	upd := mustGetUser(t, us, "alice")
	upd.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3"
	if err := us.UpdateUser(ctx(t), upd); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want = upd.Clone()
	upd.PasswordHash, upd.Disabled = "changed", true
	wantUser(t, us, want)
	wantUsers(t, us, want)
}

func testUserUpdate(t *testing.T, _ storage.Store, us storage.Users) {
	c := ctx(t)
	bystander := newUser("bob")
	mustCreateUser(t, us, bystander)
	mustCreateUser(t, us, newUser("alice"))

	u := mustGetUser(t, us, "alice")
	now := Now()
	u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3LXNhbHQ$bmV3LWhhc2g"
	u.Disabled = true
	u.CreatedAt = now.Add(-72*time.Hour + 3*time.Microsecond)
	u.UpdatedAt = now.Add(5 * time.Microsecond)
	want := u.Clone()
	if err := us.UpdateUser(c, u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if u.Version != 2 {
		t.Errorf("after UpdateUser, u.Version = %d, want 2", u.Version)
	}
	want.Version = 2
	wantUser(t, us, want)

	// Fields can be cleared again.
	u.PasswordHash, u.Disabled, u.UpdatedAt = "", false, time.Time{}
	want = u.Clone()
	if err := us.UpdateUser(c, u); err != nil {
		t.Fatalf("second UpdateUser: %v", err)
	}
	if u.Version != 3 {
		t.Errorf("after the second UpdateUser, u.Version = %d, want 3", u.Version)
	}
	want.Version = 3
	wantUser(t, us, want)

	// Many updates in a row each bump the version by one.
	for i := range 20 {
		u.UpdatedAt = now.Add(time.Duration(i+1) * time.Microsecond)
		u.Disabled = i%2 == 0
		if err := us.UpdateUser(c, u); err != nil {
			t.Fatalf("UpdateUser %d: %v", i, err)
		}
	}
	if u.Version != 23 {
		t.Errorf("after 22 updates, u.Version = %d, want 23", u.Version)
	}
	wantUser(t, us, u.Clone())
	wantUser(t, us, bystander)
	wantUsers(t, us, u.Clone(), bystander)
}

func testUserUpdateConflict(t *testing.T, _ storage.Store, us storage.Users) {
	c := ctx(t)
	mustCreateUser(t, us, newUser("alice"))
	a := mustGetUser(t, us, "alice")
	b := mustGetUser(t, us, "alice")
	a.Disabled = true
	if err := us.UpdateUser(c, a); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want := a.Clone()
	tests := []struct {
		name    string
		version int64
	}{
		{"stale", 1},
		{"ahead", 3},
		{"far ahead", 1 << 40},
		{"zero", 0},
		{"negative", -2},
		{"max", math.MaxInt64},
		{"min", math.MinInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stale := b.Clone()
			stale.Version = tt.version
			stale.PasswordHash = "by b"
			stale.Disabled = false
			wantErr(t, "UpdateUser", us.UpdateUser(ctx(t), stale), storage.ErrConflict)
			if stale.Version != tt.version {
				t.Errorf("a failed UpdateUser changed u.Version from %d to %d", tt.version, stale.Version)
			}
			wantUser(t, us, want)
		})
	}
	wantUsers(t, us, want)
}

func testListUsers(t *testing.T, _ storage.Store, us storage.Users) {
	c := ctx(t)
	got, err := us.ListUsers(c)
	if err != nil || len(got) != 0 {
		t.Fatalf("ListUsers of an empty store = %d users, %v; want none, nil", len(got), err)
	}
	// Inserted out of order; byte order puts upper case before lower case,
	// a prefix before its extensions, NUL first and bytes >= 0x80 last.
	names := []string{"mallory", "bob", "Bob", "alice", "a", "ab", "a\x00", "\x00", "aa", "Zoë", "zoe", "zoë",
		"~", " ", "\xff", "\xc3\xa9", "e\u0301", "user10", "user2", "user-1", "user_1", "用户", "🔑"}
	var all []*storage.User
	for _, name := range names {
		u := newUser(name)
		mustCreateUser(t, us, u)
		all = append(all, u.Clone())
	}
	want := sortedUsers(all...)
	wantUsers(t, us, want...)

	// Updates show in the list, which keeps its order.
	for i, u := range want {
		if i%3 != 0 {
			continue
		}
		u.Disabled = true
		u.UpdatedAt = Now().Add(time.Duration(i) * time.Microsecond)
		if err := us.UpdateUser(c, u); err != nil {
			t.Fatalf("UpdateUser(%q): %v", u.Name, err)
		}
	}
	wantUsers(t, us, want...)
}

// userHostile are names that break stores which build keys or queries by
// concatenation, or whose user keys could meet a session's or another
// kind's: the suite's hostile strings, a name of 128 bytes, and names shaped
// like the keys and tables stores use.
func userHostile() []string {
	names := []string{
		strings.Repeat("n", 128),
		strings.Repeat("\xff", 128),
		"sess:x", "{x}", "{", "}", ":", "", "users", "sessions", "keycard:",
		"keycard:users", "{keycard:users}", "keycard:u{keycard:users}", "keycard:u{keycard:users}:alice",
		"keycard:r:{" + strings.Repeat("0", 64) + "}", "r:{x}", "i:{x}", "s:{x}",
		"keycard:rv{keycard:}:d:x", "keycard_users", "sessions_users", "keycard_sessions",
		"alice'); DELETE FROM users; --", "\x00\x00", "a\x00b\x00",
	}
	for _, h := range hostile {
		names = append(names, h.s)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func testUserHostileNames(t *testing.T, s storage.Store, us storage.Users) {
	c := ctx(t)
	names := userHostile()
	byName := map[string]*storage.User{}
	var all []*storage.User
	for _, name := range names {
		u := newUser(name)
		u.PasswordHash = name + "\x00" + name
		if err := us.CreateUser(c, u); err != nil {
			t.Fatalf("CreateUser(%q): %v", abbrev([]byte(name)), err)
		}
		byName[name] = u
		all = append(all, u)
	}
	check := func(phase string) {
		t.Helper()
		for _, name := range names {
			if d := userDiff(mustGetUser(t, us, name), byName[name]); d != "" {
				t.Errorf("%s: GetUser(%q) differs:%s", phase, abbrev([]byte(name)), d)
			}
		}
		wantUsers(t, us, sortedUsers(all...)...)
	}
	check("after CreateUser")

	for _, name := range names {
		u := byName[name]
		u.PasswordHash = name
		u.Disabled = true
		if err := us.UpdateUser(c, u); err != nil {
			t.Fatalf("UpdateUser(%q): %v", abbrev([]byte(name)), err)
		}
	}
	check("after UpdateUser")

	// Near misses are other names.
	for _, name := range names {
		for _, n := range []string{name + "\x00", "x" + name, name + "x", strings.ToUpper(name) + "\u0130"} {
			if byName[n] == nil {
				wantNoUser(t, us, n)
			}
		}
	}
	// No session came of them.
	for _, name := range names {
		wantList(t, s, name)
		wantNoID(t, s, name)
	}
}

// testUsersApartFromSessions: users are not sessions, and sessions are not
// users, whatever their names: nothing that reads, lists, counts, ends or
// expires sessions sees a user, and ListUsers sees no session.
func testUsersApartFromSessions(t *testing.T, s storage.Store, us storage.Users) {
	c := ctx(t)
	// A session of alice, and one whose ID is a user's name.
	sess := NewRecord("alice")
	mustCreate(t, s, sess)
	named := NewRecord("carol")
	named.ID = "bob"
	mustCreate(t, s, named)

	alice, bob := newUser("alice"), newUser("bob")
	idUser := newUser(sess.ID)
	hashUser := newUser(sess.Hash.String())
	carol := newUser("carol") // the subject of a session, not a session's ID
	users := []*storage.User{alice, bob, idUser, hashUser, carol}
	for _, u := range users {
		mustCreateUser(t, us, u)
	}
	wantUsersOnly := func(phase string) {
		t.Helper()
		got, err := us.ListUsers(c)
		if err != nil {
			t.Fatalf("%s: ListUsers: %v", phase, err)
		}
		if len(got) != len(users) {
			t.Errorf("%s: ListUsers returned %d users, want the %d created", phase, len(got), len(users))
		}
		for _, u := range users {
			wantUser(t, us, u)
		}
	}
	wantUsersOnly("after CreateUser")
	wantRecord(t, s, sess)
	wantByID(t, s, sess.ID, sess.Hash)
	wantByID(t, s, "bob", named.Hash)
	wantList(t, s, "alice", sess)
	wantList(t, s, "bob")
	wantList(t, s, sess.ID)
	wantNoID(t, s, "alice")
	wantNoID(t, s, "carol")
	wantErr(t, "DeleteByID of a user's name", s.DeleteByID(c, "alice"), storage.ErrNotFound)
	if n, err := s.DeleteSubject(c, "bob", ""); err != nil || n != 0 {
		t.Errorf("DeleteSubject of a user without sessions = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.DeleteSubject(c, sess.ID, ""); err != nil || n != 0 {
		t.Errorf("DeleteSubject of a user named like a session ID = %d, %v; want 0, nil", n, err)
	}

	// A session may take a user's name as its ID, and a user the ID of a
	// session.
	same := NewRecord("alice")
	same.ID = "carol"
	mustCreate(t, s, same)
	late := newUser(named.ID + "-late")
	named2 := NewRecord("")
	named2.ID = late.Name
	mustCreate(t, s, named2)
	mustCreateUser(t, us, late)
	users = append(users, late)
	wantList(t, s, "alice", sess, same)

	// Ending and expiring sessions leaves the users as they were.
	if n, err := s.DeleteSubject(c, "alice", ""); err != nil || n != 2 {
		t.Errorf("DeleteSubject(alice) = %d, %v; want 2 (the sessions only)", n, err)
	}
	if err := s.DeleteByID(c, "bob"); err != nil {
		t.Errorf("DeleteByID(bob): %v", err)
	}
	wantUsersOnly("after ending the sessions")
	drainExpired(t, s, Now().Add(100*365*24*time.Hour), 100)
	wantGone(t, s, sess.Hash)
	wantGone(t, s, named.Hash)
	wantUsersOnly("after DeleteExpired a century on")

	// Changing users leaves the sessions alone.
	keep := NewRecord("alice")
	mustCreate(t, s, keep)
	alice.Disabled = true
	if err := us.UpdateUser(c, alice); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	wantRecord(t, s, keep)
	wantList(t, s, "alice", keep)
	wantByID(t, s, keep.ID, keep.Hash)
	wantUsersOnly("after UpdateUser")
}

// testConcurrentUserUpdates races UpdateUser of one user from 8 goroutines
// that read the same version, round after round: exactly one wins each round.
func testConcurrentUserUpdates(t *testing.T, _ storage.Store, us storage.Users) {
	const racers, rounds = 8, 10
	mustCreateUser(t, us, newUser("alice"))
	for round := range rounds {
		base := mustGetUser(t, us, "alice")
		var (
			tries [racers]*storage.User
			errs  [racers]error
			wg    sync.WaitGroup
		)
		start := make(chan struct{})
		for i := range racers {
			u := base.Clone()
			u.PasswordHash = fmt.Sprintf("round %d racer %d", round, i)
			u.Disabled = i%2 == 1
			tries[i] = u
			wg.Go(func() { <-start; errs[i] = us.UpdateUser(ctx(t), u) })
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: UpdateUsers %d and %d both succeeded from version %d", round, winner, i, base.Version)
			case err == nil:
				winner = i
			default:
				wantErr(t, fmt.Sprintf("round %d: losing UpdateUser", round), err, storage.ErrConflict)
				if tries[i].Version != base.Version {
					t.Errorf("round %d: a losing UpdateUser changed u.Version from %d to %d", round, base.Version, tries[i].Version)
				}
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no UpdateUser succeeded: %v", round, errs)
		}
		want := tries[winner].Clone()
		if want.Version != base.Version+1 {
			t.Errorf("round %d: the winner's Version = %d, want %d", round, want.Version, base.Version+1)
		}
		wantUser(t, us, want)
	}
}

// testConcurrentUserCreates races CreateUser of one name: exactly one wins,
// and the user is the winner's.
func testConcurrentUserCreates(t *testing.T, _ storage.Store, us storage.Users) {
	const racers = 8
	var (
		tries [racers]*storage.User
		errs  [racers]error
		wg    sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range racers {
		tries[i] = newUser("alice")
		wg.Go(func() { <-start; errs[i] = us.CreateUser(ctx(t), tries[i]) })
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("CreateUsers %d and %d of one name both succeeded", winner, i)
		case err == nil:
			winner = i
		default:
			wantErr(t, "losing CreateUser", err, storage.ErrExists)
		}
	}
	if winner < 0 {
		t.Fatalf("no CreateUser succeeded: %v", errs)
	}
	wantUser(t, us, tries[winner])
	wantUsers(t, us, tries[winner])
}

// testUserContextCanceled: no method reports success for a context that
// was cancelled before the call.
func testUserContextCanceled(t *testing.T, _ storage.Store, us storage.Users) {
	known := newUser("alice")
	mustCreateUser(t, us, known)
	cc, cancel := context.WithCancel(ctx(t))
	cancel()
	tests := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error { return us.CreateUser(cc, newUser("bob")) }},
		{"GetUser", func() error { _, err := us.GetUser(cc, "alice"); return err }},
		{"UpdateUser", func() error { return us.UpdateUser(cc, known.Clone()) }},
		{"ListUsers", func() error { _, err := us.ListUsers(cc); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Errorf("%s with a cancelled context returned nil, want an error", tt.name)
			}
		})
	}
}
