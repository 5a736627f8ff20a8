package nodetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testclock"
	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/redis/go-redis/v9"
)

var discard = slog.New(slog.DiscardHandler)

// backend opens a new Store on one shared server; each call is a new node's
// connection to the same data.
type backend struct {
	name string
	open func(t *testing.T) storage.Store
}

// backends returns a backend per real server, each with its own namespace.
func backends(t *testing.T) []backend {
	return []backend{
		{"redis", func(t *testing.T) storage.Store {
			srv := testserver.SharedRedis(t)
			prefix := "nodes:" + t.Name() + ":"
			return openRedis(t, redis.NewClient(&redis.Options{Addr: srv.Addr}), prefix)
		}},
		{"redis-cluster", func(t *testing.T) storage.Store {
			c := testserver.SharedRedisCluster(t)
			prefix := "nodes:" + t.Name() + ":"
			return openRedis(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()}), prefix)
		}},
		{"postgres", func(t *testing.T) storage.Store {
			pg := testserver.SharedPostgres(t)
			st, err := pgstore.Open(context.Background(), pg.URL(""))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"sqlite", func(t *testing.T) storage.Store {
			st, err := sqlitestore.Open(sqlitePath(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	}
}

var (
	sqliteMu    sync.Mutex
	sqlitePaths = map[string]string{}
)

// sqlitePath returns one database file per top-level test and backend, so
// that the nodes of one test share it.
func sqlitePath(t *testing.T) string {
	sqliteMu.Lock()
	defer sqliteMu.Unlock()
	key := t.Name()
	if p, ok := sqlitePaths[key]; ok {
		return p
	}
	p := filepath.Join(t.TempDir(), "keycard.db")
	sqlitePaths[key] = p
	return p
}

func openRedis(t *testing.T, c redis.UniversalClient, prefix string) storage.Store {
	st, err := redisstore.New(c, &redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// node is one Manager serving the test application.
type node struct {
	m *keycard.Manager
	h http.Handler
}

func newNode(t *testing.T, st storage.Store, now func() time.Time) *node {
	o := &keycard.Options{Logger: discard}
	testhook.SetNow(o, now)
	m, err := keycard.New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		if !s.IsAuthenticated() {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, s.Subject())
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		keycard.Login(r.Context(), r.FormValue("user"))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		keycard.Logout(r.Context())
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.FromContext(r.Context()).Put(r.FormValue("k"), r.FormValue("v")); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, keycard.FromContext(r.Context()).GetString(r.FormValue("k")))
	})
	return &node{m: m, h: m.Handler(mux)}
}

// do sends one request with cookie and returns status, body and any new cookie.
func (n *node) do(t *testing.T, method, path, cookie string) (int, string, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	r = r.WithContext(ctx)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	n.h.ServeHTTP(w, r)
	if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
		t.Fatalf("%s %s: status %d", method, path, w.Code)
	}
	set := ""
	for _, c := range w.Result().Cookies() {
		if c.Name == keycard.DefaultCookieName && c.Value != "" {
			set = c.Name + "=" + c.Value
		}
	}
	return w.Code, strings.TrimSpace(w.Body.String()), set
}

func (n *node) login(t *testing.T, user string) string {
	t.Helper()
	code, _, cookie := n.do(t, "POST", "/login?user="+user, "")
	if code != 200 || cookie == "" {
		t.Fatalf("login: %d", code)
	}
	return cookie
}

func TestTwoNodes(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			clk := testclock.New(time.Now().UTC())
			a, bn := newNode(t, b.open(t), clk.Now), newNode(t, b.open(t), clk.Now)

			cookie := a.login(t, "alice")
			if code, who, _ := bn.do(t, "GET", "/whoami", cookie); code != 200 || who != "alice" {
				t.Fatalf("session from A on B: %d %q", code, who)
			}
			// Logout through B is rejected by A on the very next request.
			if code, _, _ := bn.do(t, "POST", "/logout", cookie); code != 200 {
				t.Fatalf("logout on B: %d", code)
			}
			if code, _, _ := a.do(t, "GET", "/whoami", cookie); code != http.StatusUnauthorized {
				t.Fatalf("A after logout on B: %d, want 401", code)
			}

			// Revoke-all through A is rejected by B at once.
			c1, c2 := bn.login(t, "bob"), a.login(t, "bob")
			if n, err := a.m.RevokeAll(context.Background(), "bob", ""); err != nil || n != 2 {
				t.Fatalf("RevokeAll = %d, %v; want 2", n, err)
			}
			for _, c := range []string{c1, c2} {
				if code, _, _ := bn.do(t, "GET", "/whoami", c); code != http.StatusUnauthorized {
					t.Fatalf("B after RevokeAll on A: %d, want 401", code)
				}
			}

			// Renewal on A: the old token works on B within the grace window only.
			old := a.login(t, "carol")
			clk.Advance(16 * time.Minute)
			code, _, renewed := a.do(t, "GET", "/whoami", old)
			if code != 200 || renewed == "" {
				t.Fatalf("renewal on A: %d, new cookie %v", code, renewed != "")
			}
			if code, _, _ := bn.do(t, "GET", "/whoami", old); code != 200 {
				t.Fatalf("old token on B within grace: %d", code)
			}
			if code, who, _ := bn.do(t, "GET", "/whoami", renewed); code != 200 || who != "carol" {
				t.Fatalf("renewed token on B: %d %q", code, who)
			}

			// Writers to different keys through both nodes lose nothing.
			d := a.login(t, "dave")
			var wg sync.WaitGroup
			var acked [40]bool
			for i := range 40 {
				wg.Go(func() {
					n := []*node{a, bn}[i%2]
					r := httptest.NewRequest("POST", fmt.Sprintf("/put?k=k%d&v=%d", i, i), nil)
					r.Header.Set("Cookie", d)
					w := httptest.NewRecorder()
					n.h.ServeHTTP(w, r)
					acked[i] = w.Code == 200
				})
			}
			wg.Wait()
			ok := 0
			for i := range 40 {
				if !acked[i] {
					continue
				}
				ok++
				if _, v, _ := a.do(t, "GET", fmt.Sprintf("/get?k=k%d", i), d); v != fmt.Sprint(i) {
					t.Fatalf("acknowledged key k%d = %q, want %d", i, v, i)
				}
			}
			if ok < 36 {
				t.Fatalf("only %d of 40 concurrent writes acknowledged", ok)
			}
		})
	}
}
