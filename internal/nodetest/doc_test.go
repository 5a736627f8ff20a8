// Package nodetest runs Keycard Managers against the real stores the way a
// deployment does: several nodes sharing one Redis, Redis Cluster,
// PostgreSQL or SQLite file, and a store that goes away and comes back.
package nodetest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard/internal/testserver"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the outage test makes many on purpose.
	redis.SetLogger(quietLogger{})
	testserver.Main(m)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
