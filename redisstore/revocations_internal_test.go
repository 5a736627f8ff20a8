package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/storage"
)

// TestWatchSilentServer: a server that stops answering without closing the
// connection (CLIENT PAUSE here; a dead network path in production) is
// noticed by the keep-alive ping: the watcher reports RevocationsDown, and
// RevocationsUp once the server answers again.
func TestWatchSilentServer(t *testing.T) {
	saved := keepAlive
	keepAlive = 200 * time.Millisecond
	srv := testserver.StartRedis(t, nil)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	s, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan storage.RevocationEvent, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.WatchRevocations(ctx, func(ev storage.RevocationEvent) { events <- ev })
	}()
	defer func() {
		cancel()
		<-done
		keepAlive = saved
	}()
	want := func(typ storage.RevocationEventType, within time.Duration) {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Type != typ {
				t.Fatalf("event %+v, want type %d", ev, typ)
			}
		case <-time.After(within):
			t.Fatalf("no event within %v, want type %d", within, typ)
		}
	}
	want(storage.RevocationsUp, 5*time.Second)
	start := time.Now()
	if _, err := testserver.RedisCommand(srv.Addr, "CLIENT", "PAUSE", "1500", "ALL"); err != nil {
		t.Fatal(err)
	}
	want(storage.RevocationsDown, 5*time.Second)
	t.Logf("RevocationsDown %v after the pause began", time.Since(start))
	want(storage.RevocationsUp, 10*time.Second)
	t.Logf("RevocationsUp %v after the pause began (it lasts 1.5s)", time.Since(start))
}
