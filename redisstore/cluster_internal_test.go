package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

var internalSeq atomic.Int64

func newClusterStore(t *testing.T) (*Store, *redis.ClusterClient) {
	t.Helper()
	cl := testserver.SharedRedisCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	s, err := New(c, &Options{Prefix: fmt.Sprintf("keycard-internal-%d:", internalSeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	if !s.cluster {
		t.Fatal("a store on a ClusterClient does not use the Cluster algorithm")
	}
	return s, c
}

// TestClusterSubjectSpreadOverSlots: one subject's sessions live on every
// master of the cluster; List finds them all and DeleteSubject destroys them all.
func TestClusterSubjectSpreadOverSlots(t *testing.T) {
	s, c := newClusterStore(t)
	ctx := t.Context()
	const n = 60
	var alice []*storage.Record
	masters := map[string]int{}
	slots := map[int64]bool{}
	for i := range n {
		r := storetest.NewRecord("alice")
		if err := s.Create(ctx, r); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
		alice = append(alice, r)
		m, err := c.MasterForKey(ctx, s.recKey(r.Hash))
		if err != nil {
			t.Fatal(err)
		}
		masters[m.Options().Addr]++
		slot, err := c.ClusterKeySlot(ctx, s.recKey(r.Hash)).Result()
		if err != nil {
			t.Fatal(err)
		}
		slots[slot] = true
	}
	// Rotate a few, so that the index holds tombstones and successors too.
	for i := range 5 {
		next := storetest.NewRecord("alice")
		next.ID = alice[i].ID
		if err := s.Rotate(ctx, alice[i], next, time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		alice[i] = next
	}
	bob := storetest.NewRecord("bob")
	if err := s.Create(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if got, want := len(masters), 3; got != want {
		t.Fatalf("alice's records are on %d masters (%v), want %d", got, masters, want)
	}
	if len(slots) < n/2 {
		t.Fatalf("alice's %d records share %d slots, want them spread", n, len(slots))
	}

	list, err := s.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), n; got != want {
		t.Fatalf("List(alice) returned %d records, want %d", got, want)
	}
	got, err := s.DeleteSubject(ctx, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := n; got != want {
		t.Errorf("DeleteSubject(alice) = %d, want %d", got, want)
	}
	for _, r := range alice {
		g, err := s.Get(ctx, r.Hash)
		if err != nil || g.State != storage.StateDestroyed {
			t.Errorf("after DeleteSubject, Get(%s) = %v, %v; want a destroyed tombstone", r.ID, g, err)
		}
		if _, err := s.GetByID(ctx, r.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("after DeleteSubject, GetByID(%s): %v, want ErrNotFound", r.ID, err)
		}
	}
	if list, err := s.List(ctx, "alice"); err != nil || len(list) != 0 {
		t.Errorf("List(alice) after DeleteSubject = %d records, %v; want none", len(list), err)
	}
	if g, err := s.Get(ctx, bob.Hash); err != nil || g.State != storage.StateLive {
		t.Errorf("bob's session after DeleteSubject(alice): %v, %v; want live", g, err)
	}
}

// rotateSteps runs the first steps of a Cluster Rotate by hand, as a
// process that crashed after them would have: 2 = the old record is a
// rotated tombstone, 3 = next is created too, but the ID key was not moved.
func rotateSteps(t *testing.T, s *Store, old, next *storage.Record, upTo int) {
	t.Helper()
	ctx := t.Context()
	nk := s.recKey(next.Hash)
	if err := indexAddScript.Run(ctx, s.c, []string{s.indexKey(next.Subject)}, float64(pxat(next.ExpiresAt)), nk).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := tombstoneScript.Run(ctx, s.c, []string{s.recKey(old.Hash)}, "\x02", tombstoneTail(next.Hash, time.Time{}),
		version8(old.Version), "", "", "", "").Slice()
	if err != nil || res[0].(int64) != 2 {
		t.Fatalf("tombstone step: %v, %v", res, err)
	}
	if upTo >= 3 {
		if err := s.c.Set(ctx, nk, encode(next, storage.StateLive, 1), time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClusterInterruptedRotate checks what a Rotate that crashed between its
// steps leaves behind: never two live records for the ID, the session still
// found (or cleanly gone), and revocation still complete.
func TestClusterInterruptedRotate(t *testing.T) {
	s, _ := newClusterStore(t)
	ctx := t.Context()

	t.Run("after the tombstone", func(t *testing.T) {
		old := storetest.NewRecord("carol")
		if err := s.Create(ctx, old); err != nil {
			t.Fatal(err)
		}
		next := storetest.NewRecord("carol")
		next.ID = old.ID
		rotateSteps(t, s, old, next, 2)
		// The session is logged out: nothing live under its ID or subject.
		if _, err := s.GetByID(ctx, old.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("GetByID: %v, want ErrNotFound", err)
		}
		if l, err := s.List(ctx, "carol"); err != nil || len(l) != 0 {
			t.Errorf("List = %d records, %v; want none", len(l), err)
		}
		// The ID stays reserved (its successor may still be written).
		dup := storetest.NewRecord("carol")
		dup.ID = old.ID
		if err := s.Create(ctx, dup); !errors.Is(err, storage.ErrExists) {
			t.Errorf("Create with the ID: %v, want ErrExists", err)
		}
		// A revocation now blocks the late successor: no resurrection.
		if err := s.DeleteByID(ctx, old.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("DeleteByID: %v, want ErrNotFound", err)
		}
		set, err := s.c.SetNX(ctx, s.recKey(next.Hash), encode(next, storage.StateLive, 1), time.Hour).Result()
		if err != nil || set {
			t.Errorf("late create of the successor after a revocation: set %v, %v; want refused", set, err)
		}
		if g, err := s.Get(ctx, next.Hash); err != nil || g.State != storage.StateDestroyed {
			t.Errorf("successor: %v, %v; want a destroyed placeholder", g, err)
		}
	})

	t.Run("before the ID key moved", func(t *testing.T) {
		old := storetest.NewRecord("dave")
		if err := s.Create(ctx, old); err != nil {
			t.Fatal(err)
		}
		next := storetest.NewRecord("dave")
		next.ID = old.ID
		rotateSteps(t, s, old, next, 3)
		got, err := s.GetByID(ctx, old.ID)
		if err != nil || got.Hash != next.Hash {
			t.Fatalf("GetByID = %v, %v; want the successor (followed from the rotated tombstone)", got, err)
		}
		if l, err := s.List(ctx, "dave"); err != nil || len(l) != 1 || l[0].Hash != next.Hash {
			t.Errorf("List = %v, %v; want just the successor", l, err)
		}
		n, err := s.DeleteSubject(ctx, "dave", "")
		if err != nil || n != 1 {
			t.Errorf("DeleteSubject = %d, %v; want 1", n, err)
		}
		if g, err := s.Get(ctx, next.Hash); err != nil || g.State != storage.StateDestroyed {
			t.Errorf("successor after DeleteSubject: %v, %v; want destroyed", g, err)
		}
		if _, err := s.GetByID(ctx, old.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("GetByID after DeleteSubject: %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteByID follows", func(t *testing.T) {
		old := storetest.NewRecord("erin")
		if err := s.Create(ctx, old); err != nil {
			t.Fatal(err)
		}
		next := storetest.NewRecord("erin")
		next.ID = old.ID
		rotateSteps(t, s, old, next, 3)
		if err := s.DeleteByID(ctx, old.ID); err != nil {
			t.Fatalf("DeleteByID: %v", err)
		}
		if g, err := s.Get(ctx, next.Hash); err != nil || g.State != storage.StateDestroyed {
			t.Errorf("successor after DeleteByID: %v, %v; want destroyed", g, err)
		}
	})
}

// TestOpenURL checks the URL forms of Open against the real servers.
func TestOpenURL(t *testing.T) {
	srv := testserver.SharedRedis(t)
	cl := testserver.SharedRedisCluster(t)
	sent := testserver.StartRedisSentinel(t)
	tests := []struct {
		name    string
		url     string
		cluster bool
	}{
		{"standalone", srv.URL(), false},
		{"standalone db", srv.URL() + "/3", false},
		{"cluster list", cl.URL(), true},
		{"cluster addr", "redis://" + cl.Nodes[0].Addr + "?addr=" + cl.Nodes[1].Addr, true},
		{"sentinel", sent.URL(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.url)
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			defer s.Close()
			if s.cluster != tt.cluster {
				t.Errorf("cluster = %v, want %v", s.cluster, tt.cluster)
			}
			s.prefix = fmt.Sprintf("keycard-open-%d:", internalSeq.Add(1))
			r := storetest.NewRecord("alice")
			if err := s.Create(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(context.Background(), r.Hash); err != nil {
				t.Fatal(err)
			}
		})
	}
	bad := []string{"http://localhost:6379", "redis://user:s3cret@[::1", "memory:"}
	for _, u := range bad {
		if _, err := Open(u); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", u)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error %q repeats the password", u, err)
		}
	}
}

// TestClusterCreateInFlight: a Cluster Create writes its index hint before
// its record. List must not prune such a hint, and DeleteSubject must block
// the record, so that a session created during "sign out everywhere" does
// not survive it.
func TestClusterCreateInFlight(t *testing.T) {
	s, _ := newClusterStore(t)
	ctx := t.Context()
	hint := func(r *storage.Record) {
		t.Helper()
		if err := indexAddScript.Run(ctx, s.c, []string{s.indexKey(r.Subject)}, float64(pxat(r.ExpiresAt)), s.recKey(r.Hash)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	write := func(r *storage.Record) bool {
		t.Helper()
		ok, err := s.c.SetNX(ctx, s.recKey(r.Hash), encode(r, storage.StateLive, 1), time.Hour).Result()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	t.Run("List keeps the hint", func(t *testing.T) {
		r := storetest.NewRecord("frank")
		hint(r)
		if l, err := s.List(ctx, "frank"); err != nil || len(l) != 0 {
			t.Fatalf("List before the record exists = %d records, %v; want none", len(l), err)
		}
		if !write(r) {
			t.Fatal("record write refused")
		}
		if l, err := s.List(ctx, "frank"); err != nil || len(l) != 1 || l[0].Hash != r.Hash {
			t.Errorf("List after the record was written = %v, %v; want it", l, err)
		}
	})

	t.Run("DeleteSubject blocks the record", func(t *testing.T) {
		r := storetest.NewRecord("grace")
		hint(r)
		if n, err := s.DeleteSubject(ctx, "grace", ""); err != nil || n != 0 {
			t.Fatalf("DeleteSubject = %d, %v; want 0, nil", n, err)
		}
		if write(r) {
			t.Error("a Create in flight during DeleteSubject wrote a live record afterwards")
		}
		if g, err := s.Get(ctx, r.Hash); err != nil || g.State != storage.StateDestroyed {
			t.Errorf("Get = %v, %v; want a destroyed tombstone", g, err)
		}
	})
}

// idMoveFirst is a go-redis hook for a Cluster client that plays the worst
// network for a Rotate racing a logout: when Rotate sends the command that
// points the ID key at the successor, it first delivers that move on its own
// (as a pipeline over two nodes may: each node gets its part independently)
// and runs a DeleteByID through another Store, then lets the call go on.
type idMoveFirst struct {
	s, revoker *Store
	t          *testing.T
	id         string
	once       bool
	delErr     error
}

func (h *idMoveFirst) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *idMoveFirst) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.intercept(ctx, []redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (h *idMoveFirst) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.intercept(ctx, cmds)
		return next(ctx, cmds)
	}
}

func (h *idMoveFirst) intercept(ctx context.Context, cmds []redis.Cmder) {
	ik := h.s.idKey(h.id)
	for _, c := range cmds {
		args := c.Args()
		if h.once || len(args) < 3 || args[0] != "set" || args[1] != ik {
			continue
		}
		h.once = true
		if err := h.revoker.c.Set(ctx, ik, args[2], time.Hour).Err(); err != nil {
			h.t.Error(err)
		}
		h.delErr = h.revoker.DeleteByID(ctx, h.id)
	}
}

// TestClusterDeleteByIDDuringRotate: a DeleteByID that reads the ID key in
// the middle of a Cluster Rotate, after the ID key has moved, must still
// end the session. So Rotate moves the ID key only after the successor is
// written (a pipeline of both lets the move land first, DeleteByID then
// finds no record under the successor's hash, and the successor is written
// live after the logout).
func TestClusterDeleteByIDDuringRotate(t *testing.T) {
	revoker, _ := newClusterStore(t)
	cl := testserver.SharedRedisCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	rotator, err := New(c, &Options{Prefix: revoker.prefix})
	if err != nil {
		t.Fatal(err)
	}
	hook := &idMoveFirst{s: rotator, revoker: revoker, t: t}
	c.AddHook(hook)
	ctx := t.Context()
	for _, grace := range []time.Duration{0, time.Minute} {
		old := storetest.NewRecord("heidi")
		if err := rotator.Create(ctx, old); err != nil {
			t.Fatal(err)
		}
		next := storetest.NewRecord("heidi")
		next.ID = old.ID
		hook.id, hook.once = old.ID, false
		var until time.Time
		if grace > 0 {
			until = time.Now().Add(grace)
		}
		rotErr := rotator.Rotate(ctx, old, next, until)
		hook.id = "" // an empty ID matches no command
		if !hook.once {
			t.Fatal("Rotate never moved the ID key")
		}
		if rotErr != nil && !errors.Is(rotErr, storage.ErrNotFound) {
			t.Errorf("grace %v: Rotate: %v, want nil or ErrNotFound", grace, rotErr)
		}
		if hook.delErr != nil && !errors.Is(hook.delErr, storage.ErrNotFound) {
			t.Errorf("grace %v: DeleteByID: %v", grace, hook.delErr)
		}
		if g, err := revoker.Get(ctx, next.Hash); err == nil && g.State == storage.StateLive {
			t.Errorf("grace %v: the successor is live after DeleteByID (Rotate %v, DeleteByID %v)", grace, rotErr, hook.delErr)
		}
		if _, err := revoker.GetByID(ctx, old.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("grace %v: GetByID after DeleteByID: %v, want ErrNotFound", grace, err)
		}
	}
}

// TestSplitHosts: a node list leaves the URL before url.Parse sees it, so
// that Open does not depend on how a Go release parses "h1:p1,h2:p2".
func TestSplitHosts(t *testing.T) {
	tests := []struct {
		in, first string
		more      []string
	}{
		{"redis://h1:1,h2:2,h3:3", "redis://h1:1", []string{"h2:2", "h3:3"}},
		{"redis://u:p,w@h1:1,h2:2/0?dial_timeout=3s", "redis://u:p,w@h1:1/0?dial_timeout=3s", []string{"h2:2"}},
		{"rediss://h1:1,[::1]:2#frag", "rediss://h1:1#frag", []string{"[::1]:2"}},
		{"redis://s1:26379,s2:26379?master_name=m", "redis://s1:26379?master_name=m", []string{"s2:26379"}},
		{"redis://h1:1", "redis://h1:1", nil},
		{"redis://h1:1/0?addr=a,b", "redis://h1:1/0?addr=a,b", nil}, // commas after the authority stay
		{"h1:1,h2:2", "h1:1,h2:2", nil},                             // no scheme: url.Parse reports it
		{"", "", nil},
	}
	for _, tt := range tests {
		first, more := splitHosts(tt.in)
		if first != tt.first || !slices.Equal(more, tt.more) {
			t.Errorf("splitHosts(%q) = %q, %q; want %q, %q", tt.in, first, more, tt.first, tt.more)
		}
	}
}
