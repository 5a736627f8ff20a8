package nodetest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storage"
	"github.com/redis/go-redis/v9"
)

// outageServer is a store server the test can stop and start again.
type outageServer struct {
	name  string
	start func(t *testing.T) (storage.Store, func(), func() error) // store, stop, restart
}

func outageServers() []outageServer {
	return []outageServer{
		{"redis-appendonly", func(t *testing.T) (storage.Store, func(), func() error) {
			srv := testserver.StartRedis(t, &testserver.RedisOptions{AppendOnly: true})
			c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 200 * time.Millisecond,
				ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1,
				DialerRetries: 1, DialerRetryTimeout: 10 * time.Millisecond})
			return openRedis(t, c, "outage:"), srv.Stop, srv.Start
		}},
		{"postgres", func(t *testing.T) (storage.Store, func(), func() error) {
			pg := testserver.StartPostgres(t)
			st, err := pgstore.Open(context.Background(), pg.URL("")+"&connect_timeout=1")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, pg.Stop, pg.Start
		}},
	}
}

// TestOutage stops the store in the middle of a request loop: while it is
// down every request that needs the session is answered 503 (never 401 or
// an anonymous 200: an outage must not log anyone out or let anyone in), and
// once it is back every acknowledged session and value is there.
func TestOutage(t *testing.T) {
	for _, srv := range outageServers() {
		t.Run(srv.name, func(t *testing.T) {
			st, stop, restart := srv.start(t)
			n := newNode(t, st, nil)
			var cookies []string
			for i := range 10 {
				c := n.login(t, fmt.Sprintf("user%d", i))
				if code, _, _ := n.do(t, "POST", fmt.Sprintf("/put?k=n&v=%d", i), c); code != 200 {
					t.Fatalf("put before the outage: %d", code)
				}
				cookies = append(cookies, c)
			}
			stop()
			for round := range 3 {
				for i, c := range cookies {
					for _, req := range [][2]string{{"GET", "/whoami"}, {"POST", "/put?k=x&v=1"}, {"POST", "/logout"}} {
						code, body, set := n.do(t, req[0], req[1], c)
						if code != http.StatusServiceUnavailable {
							t.Fatalf("round %d session %d %s %s during the outage: %d %q, want 503", round, i, req[0], req[1], code, body)
						}
						if set != "" {
							t.Fatal("a response during the outage set a session cookie")
						}
					}
				}
				// A login attempt during the outage fails clearly as well.
				if code, _, _ := n.do(t, "POST", "/login?user=new", ""); code != http.StatusServiceUnavailable {
					t.Fatalf("login during the outage: %d, want 503", code)
				}
			}
			if err := restart(); err != nil {
				t.Fatal(err)
			}
			// The pool may need a moment to reconnect: retry a bounded number of times.
			deadline := time.Now().Add(20 * time.Second)
			for i, c := range cookies {
				for {
					code, who, _ := n.do(t, "GET", "/whoami", c)
					if code == http.StatusServiceUnavailable && time.Now().Before(deadline) {
						continue
					}
					if code != 200 || who != fmt.Sprintf("user%d", i) {
						t.Fatalf("session %d after the outage: %d %q, want 200 user%d", i, code, who, i)
					}
					break
				}
				if _, v, _ := n.do(t, "GET", "/get?k=n", c); v != fmt.Sprint(i) {
					t.Fatalf("value of session %d after the outage: %q, want %d", i, v, i)
				}
			}
		})
	}
}
