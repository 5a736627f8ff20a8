package pgstore_test

import (
	"testing"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storetest"
)

// twoNodes returns two Stores with pools of their own (two Keycard
// processes) on one schema of the shared server.
func twoNodes(t *testing.T) (a, b *pgstore.Store) {
	t.Helper()
	pg := testserver.SharedPostgres(t)
	opts := &pgstore.Options{Schema: newSchema("nodes")}
	return open(t, newPool(t, pg), opts), open(t, newPool(t, pg), opts)
}

// TestTwoNodes: what one node writes the other reads at once, and a
// revocation through one is seen by the other on its next read.
func TestTwoNodes(t *testing.T) {
	a, b := twoNodes(t)
	storetest.TwoNodes(t, a, b)
}

// TestRevocationRacesRotateTwoNodes is the conformance suite's
// DeleteSubjectRacesRotate and DeleteByIDRacesRotate with the renewal on one
// node and the revocation on the other.
func TestRevocationRacesRotateTwoNodes(t *testing.T) {
	a, b := twoNodes(t)
	storetest.DeleteSubjectRacesRotate(t, a, b, 100)
	storetest.DeleteByIDRacesRotate(t, a, b, 100)
}

// TestRevocationsTwoNodes: the revocations of sealed sessions made through
// one node reach a watcher of the other through LISTEN/NOTIFY.
func TestRevocationsTwoNodes(t *testing.T) {
	a, b := twoNodes(t)
	storetest.RevocationsPropagate(t, a, b, 200)
}

// TestMergesRaceUpdatesTwoNodes: merges on one node racing read and
// compare-and-swap writes on the other lose nothing.
func TestMergesRaceUpdatesTwoNodes(t *testing.T) {
	a, b := twoNodes(t)
	storetest.MergesRaceUpdates(t, a, b)
}
