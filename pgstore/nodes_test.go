package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storetest"
)

// TestTwoNodes: two Stores with pools of their own (two Keycard processes)
// on one database: what one writes the other reads at once, and a revocation
// through one is seen by the other on its next read.
func TestTwoNodes(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	schema := fmt.Sprintf("keycard_nodes_%d", schemaSeq.Add(1))
	ctx := context.Background()
	a, err := pgstore.New(ctx, newPool(t, pg), &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pgstore.New(ctx, newPool(t, pg), &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
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
}
