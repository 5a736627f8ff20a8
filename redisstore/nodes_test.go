package redisstore_test

import (
	"testing"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/storetest"
)

// TestTwoNodes: two Stores with clients of their own (two Keycard
// processes) on one Redis: what one writes the other reads at once, a
// revocation through one is seen by the other on its next read, a
// revocation through one racing a renewal through the other leaves nothing
// live (the conformance suite's DeleteSubjectRacesRotate and
// DeleteByIDRacesRotate across nodes), and the revocations of sealed
// sessions made through one reach a watcher of the other.
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
			a, b := tt.mk(prefix())
			storetest.TwoNodes(t, a, b)
			// The renewal on one node, the revocation on the other.
			storetest.DeleteSubjectRacesRotate(t, a, b, 100)
			storetest.DeleteByIDRacesRotate(t, a, b, 100)
			storetest.RevocationsPropagate(t, a, b, 200)
		})
	}
}
