package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/seal"
	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// roundTrips counts the requests a store makes to its server.
type roundTrips struct{ n atomic.Int64 }

// redis.Hook: one count per command or pipeline sent.
func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// pgx.QueryTracer: one count per query.
func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// storeBackend opens a Store on a real server, with a round-trip counter
// where the driver allows one, and a raw read: one primary-key read of a
// tiny row through the same client, the driver's floor (nil for in-process
// stores).
type storeBackend struct {
	name string
	open func(b *testing.B) (keycard.Store, *roundTrips, func() error)
}

func storeBackends() []storeBackend {
	return []storeBackend{
		{name: "memstore", open: func(b *testing.B) (keycard.Store, *roundTrips, func() error) {
			st := memstore.New(nil)
			b.Cleanup(st.Close)
			return st, nil, nil
		}},
		{name: "sqlite", open: func(b *testing.B) (keycard.Store, *roundTrips, func() error) {
			st, err := sqlitestore.Open(filepath.Join(b.TempDir(), "keycard.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st, nil, nil
		}},
		{name: "redis", open: func(b *testing.B) (keycard.Store, *roundTrips, func() error) {
			srv := testserver.SharedRedis(b)
			rt := &roundTrips{}
			c := redis.NewClient(&redis.Options{Addr: srv.Addr})
			b.Cleanup(func() { c.Close() })
			ctx := context.Background()
			if err := c.Set(ctx, "bench:raw", "value", 0).Err(); err != nil {
				b.Fatal(err)
			}
			c.AddHook(rt)
			st, err := redisstore.New(c, &redisstore.Options{Prefix: fmt.Sprintf("bench%d:", time.Now().UnixNano())})
			if err != nil {
				b.Fatal(err)
			}
			return st, rt, func() error { return c.Get(ctx, "bench:raw").Err() }
		}},
		{name: "postgres", open: func(b *testing.B) (keycard.Store, *roundTrips, func() error) {
			pg := testserver.SharedPostgres(b)
			cfg, err := pgxpool.ParseConfig(pg.URL(""))
			if err != nil {
				b.Fatal(err)
			}
			rt := &roundTrips{}
			cfg.ConnConfig.Tracer = rt
			ctx := context.Background()
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(pool.Close)
			if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_raw (k bytea PRIMARY KEY, v bytea NOT NULL);
				INSERT INTO bench_raw VALUES ('\x01', '\x02') ON CONFLICT DO NOTHING`); err != nil {
				b.Fatal(err)
			}
			st, err := pgstore.New(ctx, pool, &pgstore.Options{Schema: fmt.Sprintf("bench%d", time.Now().UnixNano())})
			if err != nil {
				b.Fatal(err)
			}
			var v []byte
			return st, rt, func() error {
				return pool.QueryRow(ctx, `SELECT v FROM bench_raw WHERE k = $1`, []byte{1}).Scan(&v)
			}
		}},
	}
}

// BenchmarkStores runs the HTTP scenarios on each real store, reporting
// store round trips per request, next to each driver's raw read (the floor).
func BenchmarkStores(b *testing.B) {
	for _, be := range storeBackends() {
		if _, _, raw := be.open(b); raw != nil {
			b.Run(fmt.Sprintf("scenario=raw/lib=%s", be.name), func(b *testing.B) {
				_, _, raw := be.open(b)
				b.ReportAllocs()
				for b.Loop() {
					if err := raw(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("scenario=read-vs-raw/lib=%s", be.name), func(b *testing.B) {
				st, _, raw := be.open(b)
				readVsRaw(b, keycardOn(b, st, nil), raw)
			})
		}
		for _, sc := range scenarios {
			b.Run(fmt.Sprintf("scenario=%s/lib=%s", sc.name, be.name), func(b *testing.B) {
				st, rt, _ := be.open(b)
				runScenario(b, keycardOn(b, st, nil), sc, rt)
			})
		}
	}
	// Sealed-cookie mode: the read needs no session record, only the
	// revocation look-ups (deny entry, and not-before for a subject).
	b.Run("scenario=read/lib=sealed-memstore", func(b *testing.B) {
		st := memstore.New(nil)
		b.Cleanup(st.Close)
		ring, _ := seal.NewKeyRing([]byte("0123456789abcdef0123456789abcdef"))
		sealer, _ := seal.New(ring, nil)
		runScenario(b, keycardOn(b, st, sealer), scenario{name: "read"}, nil)
	})
}

// keycardOn returns the Keycard scenario handlers on st.
func keycardOn(b *testing.B, st keycard.Store, sealer keycard.Sealer) map[string]http.Handler {
	opts := &keycard.Options{RenewalTimeout: -1}
	if sealer != nil {
		opts.Sealer = sealer
	}
	return keycardHandlersOn(b, st, opts)
}

// runScenario runs one scenario on handlers hs, like BenchmarkHTTP does,
// and reports store round trips per request when rt counts them.
func runScenario(b *testing.B, hs map[string]http.Handler, sc scenario, rt *roundTrips) {
	seed := httptest.NewRecorder()
	hs["seed"].ServeHTTP(seed, httptest.NewRequest("GET", "/", nil))
	cookie := cookieOf(seed)
	if cookie == "" {
		b.Fatal("seed request set no cookie")
	}
	h := hs[sc.name]
	r := httptest.NewRequest("GET", "/", nil)
	if rt != nil {
		rt.n.Store(0)
	}
	b.ReportAllocs()
	for b.Loop() {
		if sc.fresh {
			delete(r.Header, "Cookie")
		} else {
			r.Header["Cookie"] = []string{cookie}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		if sc.chain {
			if c := cookieOf(w); c != "" {
				cookie = c
			}
		}
	}
	if rt != nil {
		b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
	}
}

// readVsRaw alternates the read scenario's request and one raw read through
// the same client, so that both see the same machine, server process and
// connection, and reports the ratio of their times (read/raw).
func readVsRaw(b *testing.B, hs map[string]http.Handler, raw func() error) {
	seed := httptest.NewRecorder()
	hs["seed"].ServeHTTP(seed, httptest.NewRequest("GET", "/", nil))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookieOf(seed))
	var rawTime, readTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := raw(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		w := httptest.NewRecorder()
		hs["read"].ServeHTTP(w, r)
		readTime += time.Since(t1)
		rawTime += t1.Sub(t0)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(readTime.Nanoseconds())/float64(b.N), "read-ns/op")
	b.ReportMetric(float64(readTime)/float64(rawTime), "read/raw")
}
