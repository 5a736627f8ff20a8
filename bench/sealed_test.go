package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/seal"
	"github.com/keycard-go/keycard/storage"
)

// sharedBackend opens Stores that share one server and one namespace, as
// the nodes of one deployment do, each with its own client (and its own
// round-trip counter).
type sharedBackend struct {
	name string
	// open returns a function that opens another node's Store.
	open func(tb testing.TB) func(tb testing.TB) (storage.Store, *roundTrips)
}

func sharedBackends() []sharedBackend {
	return []sharedBackend{
		{name: "redis", open: func(tb testing.TB) func(tb testing.TB) (storage.Store, *roundTrips) {
			prefix := fmt.Sprintf("benchsealed%d:", time.Now().UnixNano())
			return func(tb testing.TB) (storage.Store, *roundTrips) {
				st, _, rt := openRedis(tb, prefix)
				return st, rt
			}
		}},
		{name: "postgres", open: func(tb testing.TB) func(tb testing.TB) (storage.Store, *roundTrips) {
			schema := fmt.Sprintf("benchsealed%d", time.Now().UnixNano())
			return func(tb testing.TB) (storage.Store, *roundTrips) {
				st, _, rt := openPostgres(tb, schema)
				return st, rt
			}
		}},
	}
}

// testSealer returns the Sealer every node of a benchmark shares.
func testSealer(tb testing.TB) keycard.Sealer {
	ring, err := seal.NewKeyRing([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := seal.New(ring, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkSealedStores runs the sealed-cookie read on the networked
// stores: a steady-state read makes no store round trip, since revocation
// state is cached on the node and invalidated by the store (pub/sub,
// LISTEN/NOTIFY). The untimed first read fills the cache.
func BenchmarkSealedStores(b *testing.B) {
	for _, be := range sharedBackends() {
		b.Run("scenario=read/lib=sealed-"+be.name, func(b *testing.B) {
			st, rt := be.open(b)(b)
			runScenario(b, keycardOn(b, st, testSealer(b)), readScenario, rt)
		})
	}
}

// BenchmarkRevocationPropagation measures how long a revocation made on
// one node takes to be refused by another: a sealed session is read on node
// B (so that B has its revocation state cached), revoked on node A, and B is
// asked again until it refuses. It reports the median and the maximum of
// the delays from Revoke returning to B's first refusal.
func BenchmarkRevocationPropagation(b *testing.B) {
	for _, be := range sharedBackends() {
		b.Run("lib="+be.name, func(b *testing.B) {
			open := be.open(b)
			stA, _ := open(b)
			stB, _ := open(b)
			sealer := testSealer(b)
			a, aHandler := propagationNode(b, stA, sealer)
			_, bHandler := propagationNode(b, stB, sealer)
			ctx := context.Background()
			var delays []time.Duration
			for b.Loop() {
				b.StopTimer()
				cookie, id := propagationLogin(b, aHandler)
				if code := status(bHandler, cookie); code != http.StatusOK {
					b.Fatalf("the session on node B: %d", code)
				}
				b.StartTimer()
				if err := a.Revoke(ctx, id); err != nil {
					b.Fatal(err)
				}
				revoked := time.Now()
				for status(bHandler, cookie) == http.StatusOK {
					if time.Since(revoked) > 10*time.Second {
						b.Fatal("node B still serves the session 10 s after its revocation")
					}
				}
				delays = append(delays, time.Since(revoked))
			}
			slices.Sort(delays)
			b.ReportMetric(float64(delays[len(delays)/2].Nanoseconds()), "median-ns")
			b.ReportMetric(float64(delays[len(delays)-1].Nanoseconds()), "max-ns")
		})
	}
}

// propagationNode returns a sealed-cookie Manager on st and a handler that
// logs in on POST, answering the session's ID, and on GET answers 200 for
// a session and 401 without one.
func propagationNode(tb testing.TB, st storage.Store, sealer keycard.Sealer) (*keycard.Manager, http.Handler) {
	m, err := keycard.New(st, &keycard.Options{Sealer: sealer, RenewalTimeout: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		if r.Method == http.MethodPost {
			if err := s.Login("alice"); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Write([]byte(s.ID()))
			return
		}
		if !s.IsAuthenticated() {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
}

func propagationLogin(tb testing.TB, h http.Handler) (cookie, id string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	cookie = cookieOf(w)
	if w.Code != http.StatusOK || cookie == "" {
		tb.Fatalf("login: %d", w.Code)
	}
	return cookie, w.Body.String()
}

func status(h http.Handler, cookie string) int {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}
