package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/storetest"
)

// TestTwoNodes: two Stores with clients of their own (two Keycard
// processes) on one Redis: what one writes the other reads at once, and a
// revocation through one is seen by the other on its next read.
func TestTwoNodes(t *testing.T) {
	srv := testserver.SharedRedis(t)
	cl := testserver.SharedRedisCluster(t)
	tests := []struct {
		name string
		mk   func(prefix string) (*redisstore.Store, *redisstore.Store)
	}{
		{"standalone", func(p string) (*redisstore.Store, *redisstore.Store) {
			a, _ := redisstore.New(standaloneClient(t, srv.Addr), &redisstore.Options{Prefix: p})
			b, _ := redisstore.New(standaloneClient(t, srv.Addr), &redisstore.Options{Prefix: p})
			return a, b
		}},
		{"cluster", func(p string) (*redisstore.Store, *redisstore.Store) {
			a, _ := redisstore.New(clusterClient(t, cl.Addrs()), &redisstore.Options{Prefix: p})
			b, _ := redisstore.New(clusterClient(t, cl.Addrs()), &redisstore.Options{Prefix: p})
			return a, b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			a, b := tt.mk(prefix())
			r := storetest.NewRecord("alice")
			if err := a.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			got, err := b.Get(ctx, r.Hash)
			if err != nil {
				t.Fatalf("B.Get of a record created through A: %v", err)
			}
			if d := storetest.Diff(got, r); d != "" {
				t.Errorf("B.Get differs:%s", d)
			}
			next := storetest.NewRecord("alice")
			next.ID = r.ID
			if err := b.Rotate(ctx, got, next, time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := a.Update(ctx, r); !errors.Is(err, keycard.ErrNotFound) {
				t.Errorf("A.Update of the token B rotated: %v, want ErrNotFound", err)
			}
			if n, err := b.DeleteSubject(ctx, "alice", ""); err != nil || n != 1 {
				t.Fatalf("B.DeleteSubject = %d, %v; want 1", n, err)
			}
			if g, err := a.Get(ctx, next.Hash); err != nil || g.State != keycard.StateDestroyed {
				t.Errorf("A.Get after B revoked = %v, %v; want a destroyed tombstone", g, err)
			}
			if _, err := a.GetByID(ctx, r.ID); !errors.Is(err, keycard.ErrNotFound) {
				t.Errorf("A.GetByID after B revoked: %v, want ErrNotFound", err)
			}
		})
	}
}
