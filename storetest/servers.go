package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// TwoNodes checks two Stores on one server, as two Keycard processes would
// have them: what a writes, b reads at once, and a renewal or a revocation
// through b is what a sees on its very next call.
func TwoNodes(t *testing.T, a, b storage.Store) {
	t.Helper()
	c := ctx(t)
	r := NewRecord("alice")
	mustCreate(t, a, r)
	got := mustGet(t, b, r.Hash)
	if d := Diff(got, r); d != "" {
		t.Errorf("B.Get of a record created through A differs:%s", d)
	}
	next := NewRecord("alice")
	next.ID = r.ID
	if err := b.Rotate(c, got, next, time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("B.Rotate: %v", err)
	}
	if err := a.Update(c, r); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("A.Update of the token B rotated: %v, want ErrNotFound", err)
	}
	if n, err := b.DeleteSubject(c, "alice", ""); err != nil || n != 1 {
		t.Fatalf("B.DeleteSubject = %d, %v; want 1", n, err)
	}
	if g, err := a.Get(c, next.Hash); err != nil || g.State != storage.StateDestroyed {
		t.Errorf("A.Get after B revoked = %v, %v; want a destroyed tombstone", g, err)
	}
	if _, err := a.GetByID(c, r.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("A.GetByID after B revoked: %v, want ErrNotFound", err)
	}
}

// OutageOptions describes the server of an Outage test.
type OutageOptions struct {
	Stop  func()       // stops the server
	Start func() error // starts it again, with its data

	// CallTimeout bounds each call; while the server is down, calls must
	// fail before it.
	CallTimeout time.Duration

	// BrokenAfterRestart is how many calls may fail after the restart, on
	// connections the restart broke (all within the first eleven calls).
	BrokenAfterRestart int

	// Offline names the methods that do not reach the server (they are not
	// required to fail during the outage), such as DeleteExpired on a store
	// whose server expires keys itself.
	Offline []string
}

// Outage stops s's server in the middle of a loop of writes and reads: while
// it is down every call fails with an error that is not a keycard sentinel
// (the Manager answers 503: nobody is logged out or let in); after it is back,
// calls succeed and every acknowledged record is there as it was written.
//
// When s implements storage.Revocations, its revocation calls fail during the
// outage too (Revocation never answers "not denied" then), and a deny entry
// made before it is there after it. When s implements
// storage.RevocationWatcher, a watcher started before the outage reports
// RevocationsDown once the server is gone and RevocationsUp once it is back,
// and then reports changes again; Outage logs how long each took.
func Outage(t *testing.T, s storage.Store, o OutageOptions) {
	t.Helper()
	rv, _ := s.(storage.Revocations)
	var l *watchLog
	deniedBefore := NewID()
	if w, ok := s.(storage.RevocationWatcher); ok {
		l = watch(t, w)
		l.waitUp(t)
	}
	if rv != nil {
		if err := rv.DenyID(context.Background(), deniedBefore, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("DenyID before the outage: %v", err)
		}
		if l != nil {
			l.expect(t, storage.RevocationEvent{Type: storage.IDDenied, ID: deniedBefore})
		}
	}
	var acked []*storage.Record
	step := func(i int) error {
		c, cancel := context.WithTimeout(context.Background(), o.CallTimeout)
		defer cancel()
		r := NewRecord("alice")
		if err := s.Create(c, r); err != nil {
			return err
		}
		acked = append(acked, r)
		if i%2 == 0 {
			u := r.Clone()
			u.Data = []byte(`{"n":1}`)
			if err := s.Update(c, u); err != nil {
				return err
			}
			acked[len(acked)-1] = u
		}
		_, err := s.Get(c, r.Hash)
		return err
	}
	for i := range 50 {
		if err := step(i); err != nil {
			t.Fatalf("before the outage, step %d: %v", i, err)
		}
	}
	stopped := time.Now()
	o.Stop()
	if l != nil {
		ev := l.expectWithin(t, storage.RevocationEvent{Type: storage.RevocationsDown}, outageEventTimeout)
		t.Logf("the watcher reported RevocationsDown %v after the server was told to stop", ev.at.Sub(stopped))
	}
	c, cancel := context.WithTimeout(context.Background(), 2*o.CallTimeout)
	calls := map[string]func() error{
		"Get":     func() error { _, err := s.Get(c, acked[0].Hash); return err },
		"GetByID": func() error { _, err := s.GetByID(c, acked[0].ID); return err },
		"Create":  func() error { return s.Create(c, NewRecord("alice")) },
		"Update":  func() error { return s.Update(c, acked[1].Clone()) },
		"Rotate": func() error {
			return s.Rotate(c, acked[1].Clone(), NewRecord("alice"), time.Time{})
		},
		"Delete":        func() error { return s.Delete(c, acked[1].Hash) },
		"DeleteByID":    func() error { return s.DeleteByID(c, acked[1].ID) },
		"List":          func() error { _, err := s.List(c, "alice"); return err },
		"DeleteSubject": func() error { _, err := s.DeleteSubject(c, "alice", ""); return err },
		"DeleteExpired": func() error { _, err := s.DeleteExpired(c, time.Now(), 10); return err },
	}
	if rv != nil {
		calls["DenyID"] = func() error { return rv.DenyID(c, NewID(), time.Now().Add(time.Hour)) }
		calls["RevokeSubject"] = func() error { _, err := rv.RevokeSubject(c, "alice", "", time.Now().Add(time.Hour)); return err }
		calls["Revocation"] = func() error {
			denied, _, err := rv.Revocation(c, deniedBefore, "alice")
			if err == nil && !denied {
				return errors.New("a false \"not denied\"")
			}
			return err
		}
	}
	for _, name := range o.Offline {
		delete(calls, name)
	}
	for name, call := range calls {
		if err := call(); err == nil || IsSentinel(err) {
			t.Errorf("%s while the server is down: got %v, want a non-sentinel error", name, err)
		}
	}
	cancel()
	started := time.Now()
	if err := o.Start(); err != nil {
		t.Fatal(err)
	}
	failures := 0
	for i := 50; i < 100; i++ {
		if err := step(i); err != nil {
			failures++
			if failures > o.BrokenAfterRestart || i > 60 {
				t.Fatalf("after the restart, step %d: %v", i, err)
			}
		}
	}
	if failures > 0 {
		t.Logf("%d calls failed on connections broken by the restart", failures)
	}
	for i, r := range acked {
		got, err := s.Get(context.Background(), r.Hash)
		if err != nil {
			t.Fatalf("acknowledged record %d after the restart: %v", i, err)
		}
		if d := Diff(got, r); d != "" {
			t.Errorf("acknowledged record %d after the restart differs:%s", i, d)
		}
	}
	if l, err := s.List(context.Background(), "alice"); err != nil || len(l) != len(acked) {
		t.Errorf("List after the restart = %d records, %v; want %d", len(l), err, len(acked))
	}
	if l != nil {
		ev := l.expectWithin(t, storage.RevocationEvent{Type: storage.RevocationsUp}, outageEventTimeout)
		t.Logf("the watcher reported RevocationsUp %v after the server was started again", ev.at.Sub(started))
	}
	if rv != nil {
		after := NewID()
		if err := rv.DenyID(context.Background(), after, time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("DenyID after the restart: %v", err)
		}
		if l != nil {
			l.expect(t, storage.RevocationEvent{Type: storage.IDDenied, ID: after})
		}
		denied, _, err := rv.Revocation(context.Background(), deniedBefore, "")
		if err != nil || !denied {
			t.Errorf("Revocation of the ID denied before the outage, after it: %v, %v; want denied", denied, err)
		}
	}
}

// outageEventTimeout bounds how long a watcher may take to see that the
// server went away, or came back.
const outageEventTimeout = 15 * time.Second

// IsSentinel reports whether err is one of the errors a Store returns for
// the state of a record (ErrNotFound, ErrExists, ErrConflict) rather than
// for a failure of the store.
func IsSentinel(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrExists) || errors.Is(err, storage.ErrConflict)
}
