package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
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
	"github.com/keycard-go/keycard/storage"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// roundTrips counts the requests a store makes to its server, or for an
// in-process store the calls into it (unit says which).
type roundTrips struct {
	n    atomic.Int64
	unit string // the metric's unit; "" means "roundtrips/op"
}

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

// callCounter counts every call into an in-process Store, where a round
// trip means nothing: what the Merger promise saves there is a call (and
// its transaction), not a network wait.
type callCounter struct {
	storage.Store
	rt *roundTrips
}

func (c *callCounter) count() { c.rt.n.Add(1) }

func (c *callCounter) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	c.count()
	return c.Store.Get(ctx, h)
}
func (c *callCounter) GetByID(ctx context.Context, id string) (*storage.Record, error) {
	c.count()
	return c.Store.GetByID(ctx, id)
}
func (c *callCounter) Create(ctx context.Context, r *storage.Record) error {
	c.count()
	return c.Store.Create(ctx, r)
}
func (c *callCounter) Update(ctx context.Context, r *storage.Record) error {
	c.count()
	return c.Store.Update(ctx, r)
}
func (c *callCounter) Rotate(ctx context.Context, old, next *storage.Record, grace time.Time) error {
	c.count()
	return c.Store.Rotate(ctx, old, next, grace)
}
func (c *callCounter) Delete(ctx context.Context, h storage.Hash) error {
	c.count()
	return c.Store.Delete(ctx, h)
}
func (c *callCounter) DeleteByID(ctx context.Context, id string) error {
	c.count()
	return c.Store.DeleteByID(ctx, id)
}
func (c *callCounter) List(ctx context.Context, subject string) ([]*storage.Record, error) {
	c.count()
	return c.Store.List(ctx, subject)
}
func (c *callCounter) DeleteSubject(ctx context.Context, subject, exceptID string) (int, error) {
	c.count()
	return c.Store.DeleteSubject(ctx, subject, exceptID)
}
func (c *callCounter) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	c.count()
	return c.Store.DeleteExpired(ctx, now, limit)
}

// mergeCounter is the callCounter of a Merger: it keeps the Manager's
// one-call write path, which a plain callCounter would hide.
type mergeCounter struct {
	callCounter
	m storage.Merger
}

func (c *mergeCounter) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	c.count()
	return c.m.Merge(ctx, h, m)
}

// countCalls wraps st so that rt counts the calls into it ("storecalls/op").
// The wrapper keeps Merger and no other optional interface of st: use it
// only where the Manager looks for no other (no Sealer).
func countCalls(st storage.Store) (storage.Store, *roundTrips) {
	rt := &roundTrips{unit: "storecalls/op"}
	c := callCounter{Store: st, rt: rt}
	if m, ok := st.(storage.Merger); ok {
		return &mergeCounter{callCounter: c, m: m}, rt
	}
	return &c, rt
}

// storeBackend opens a Store on a real server, with a round-trip counter
// where the driver allows one, and the driver's floor (nil for in-process
// stores): rawOf returns a raw read, through the same client, of the record
// of token hash h, the way an application with no session library would
// read its session (scs's stores do the same): a GET of the record's key, a
// primary-key SELECT of the row's data column.
type storeBackend struct {
	name string
	open func(tb testing.TB) (st storage.Store, rt *roundTrips, rawOf func(h storage.Hash) func() error)
}

func storeBackends() []storeBackend {
	return []storeBackend{
		{name: "memstore", open: func(tb testing.TB) (storage.Store, *roundTrips, func(storage.Hash) func() error) {
			st := memstore.New(nil)
			tb.Cleanup(st.Close)
			return st, nil, nil
		}},
		{name: "sqlite", open: func(tb testing.TB) (storage.Store, *roundTrips, func(storage.Hash) func() error) {
			st, err := sqlitestore.Open(filepath.Join(tb.TempDir(), "keycard.db"), nil)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			counted, rt := countCalls(st)
			return counted, rt, nil
		}},
		{name: "redis", open: func(tb testing.TB) (storage.Store, *roundTrips, func(storage.Hash) func() error) {
			st, c, rt := openRedis(tb, fmt.Sprintf("bench%d:", time.Now().UnixNano()))
			return st, rt, func(h storage.Hash) func() error {
				key := st.RecordKey(h)
				return func() error { return c.Get(context.Background(), key).Err() }
			}
		}},
		{name: "postgres", open: func(tb testing.TB) (storage.Store, *roundTrips, func(storage.Hash) func() error) {
			st, pool, rt := openPostgres(tb, fmt.Sprintf("bench%d", time.Now().UnixNano()))
			return st, rt, func(h storage.Hash) func() error {
				q := `SELECT data FROM ` + st.TableName() + ` WHERE hash = $1`
				var data []byte
				return func() error { return pool.QueryRow(context.Background(), q, h[:]).Scan(&data) }
			}
		}},
	}
}

// openRedis opens a Store on the shared Redis under prefix, with its own
// client, which counts its round trips.
func openRedis(tb testing.TB, prefix string) (*redisstore.Store, *redis.Client, *roundTrips) {
	rt := &roundTrips{}
	c := redis.NewClient(&redis.Options{Addr: testserver.SharedRedis(tb).Addr})
	c.AddHook(rt)
	st, err := redisstore.New(c, &redisstore.Options{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close(); c.Close() })
	return st, c, rt
}

// openPostgres opens a Store on the shared PostgreSQL in schema, with its
// own pool, which counts its round trips.
func openPostgres(tb testing.TB, schema string) (*pgstore.Store, *pgxpool.Pool, *roundTrips) {
	cfg, err := pgxpool.ParseConfig(testserver.SharedPostgres(tb).URL(""))
	if err != nil {
		tb.Fatal(err)
	}
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := pgstore.New(ctx, pool, &pgstore.Options{Schema: schema})
	if err != nil {
		pool.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close(); pool.Close() })
	return st, pool, rt
}

// BenchmarkStores runs the HTTP scenarios on each real store, reporting
// store round trips per request (for SQLite, calls into the store), next
// to each driver's raw read (the floor).
func BenchmarkStores(b *testing.B) {
	for _, be := range storeBackends() {
		if _, _, rawOf := be.open(b); rawOf != nil {
			b.Run(fmt.Sprintf("scenario=raw/lib=%s", be.name), func(b *testing.B) {
				st, _, rawOf := be.open(b)
				_, h := seedSession(b, keycardOn(b, st, nil))
				raw := rawOf(h)
				b.ReportAllocs()
				for b.Loop() {
					if err := raw(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("scenario=read-vs-raw/lib=%s", be.name), func(b *testing.B) {
				st, _, rawOf := be.open(b)
				readVsRaw(b, st, keycardOn(b, st, nil), rawOf)
			})
		}
		for _, sc := range scenarios {
			b.Run(fmt.Sprintf("scenario=%s/lib=%s", sc.name, be.name), func(b *testing.B) {
				st, rt, _ := be.open(b)
				runScenario(b, keycardOn(b, st, nil), sc, rt)
			})
		}
	}
	// Sealed-cookie mode: the read needs no session record, and its
	// revocation state comes from the node's cache (see sealed_test.go
	// for the networked stores).
	b.Run("scenario=read/lib=sealed-memstore", func(b *testing.B) {
		runScenario(b, sealedHandlers(b), readScenario, nil)
	})
}

// sealedHandlers returns the Keycard scenario handlers in sealed-cookie
// mode, on memstore.
func sealedHandlers(tb testing.TB) map[string]http.Handler {
	st := memstore.New(nil)
	tb.Cleanup(st.Close)
	ring, err := seal.NewKeyRing([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	sealer, err := seal.New(ring, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return keycardOn(tb, st, sealer)
}

// keycardOn returns the Keycard scenario handlers on st.
func keycardOn(tb testing.TB, st storage.Store, sealer keycard.Sealer) map[string]http.Handler {
	opts := &keycard.Options{RenewalTimeout: -1}
	if sealer != nil {
		opts.Sealer = sealer
	}
	return keycardHandlersOn(tb, st, opts)
}

// runScenario runs one scenario on handlers hs, like BenchmarkHTTP does,
// and reports store round trips per request when rt counts them. It checks
// every response, and the client's session before and after the timed loop
// (scenarioLoop.check).
func runScenario(b *testing.B, hs map[string]http.Handler, sc scenario, rt *roundTrips) {
	l := newScenarioLoop(b, hs, sc)
	l.next(b) // untimed, to check the session before the loop
	l.check(b)
	if rt != nil {
		rt.n.Store(0)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.next(b)
	}
	if rt != nil {
		unit := rt.unit
		if unit == "" {
			unit = "roundtrips/op"
		}
		b.ReportMetric(float64(rt.n.Load())/float64(b.N), unit)
	}
	l.check(b)
}

// seedCookie starts a session through the seed handler of hs and returns its
// Cookie header.
func seedCookie(tb testing.TB, hs map[string]http.Handler) string {
	w := httptest.NewRecorder()
	hs["seed"].ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	cookie := cookieOf(w)
	if w.Code != http.StatusOK || cookie == "" {
		tb.Fatalf("seed request: status %d, set a cookie: %v", w.Code, cookie != "")
	}
	return cookie
}

// seedSession is seedCookie for a server-side session, with its token hash.
func seedSession(tb testing.TB, hs map[string]http.Handler) (string, storage.Hash) {
	cookie := seedCookie(tb, hs)
	_, value, _ := strings.Cut(cookie, "=")
	t, err := keycard.ParseToken(value)
	if err != nil {
		tb.Fatalf("seed cookie %q: %v", cookie, err)
	}
	return cookie, storage.HashToken(string(t))
}

// readVsRaw times five things in one loop, so that all see the same
// machine, server process and connection, and rotates their order every
// round, so that none always runs after another:
//
//	raw       one raw read through the driver
//	get       the store's Get of the same record
//	raw-http  the raw read in a bare handler that writes the seeded value,
//	          served like every scenario: what a request that reads its
//	          session with no session library costs
//	get-http  the store's Get in the same bare handler
//	read      the read scenario's request
//
// It reports each one's mean time and the read's ratio to the two floors
// (read/raw, read/raw-http); the differences between neighbours tell the
// store's part, the request handling's part and the middleware's part.
func readVsRaw(b *testing.B, st storage.Store, hs map[string]http.Handler, rawOf func(storage.Hash) func() error) {
	cookie, h := seedSession(b, hs)
	raw := rawOf(h)
	ctx := context.Background()
	get := func() error { _, err := st.Get(ctx, h); return err }
	bare := func(read func() error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := read(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, seeded)
		})
	}
	req := newRequest(httptest.NewRequest("GET", "/", nil))
	serve := func(h http.Handler) func() error {
		return func() error {
			w := req.serve(h, cookie)
			if w.Code != http.StatusOK || w.Body.String() != seeded {
				return fmt.Errorf("status %d, body %q; want 200, %q", w.Code, w.Body.String(), seeded)
			}
			return nil
		}
	}
	timings := []struct {
		name  string
		run   func() error
		total time.Duration
	}{
		{name: "raw", run: raw},
		{name: "get", run: get},
		{name: "raw-http", run: serve(bare(raw))},
		{name: "get-http", run: serve(bare(get))},
		{name: "read", run: serve(hs["read"])},
	}
	round := 0
	for b.Loop() {
		for k := range timings {
			t := &timings[(k+round)%len(timings)]
			t0 := time.Now()
			err := t.run()
			t.total += time.Since(t0)
			if err != nil {
				b.Fatalf("%s: %v", t.name, err)
			}
		}
		round++
	}
	for _, t := range timings {
		b.ReportMetric(float64(t.total.Nanoseconds())/float64(b.N), t.name+"-ns/op")
	}
	read := timings[len(timings)-1].total
	b.ReportMetric(float64(read)/float64(timings[0].total), "read/raw")
	b.ReportMetric(float64(read)/float64(timings[2].total), "read/raw-http")
}
