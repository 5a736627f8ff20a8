package pgstore_test

import (
	"context"
	"fmt"
	"testing"

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
	storetest.TwoNodes(t, a, b)
}
