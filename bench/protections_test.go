package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/csrf"
	"github.com/keycard-go/keycard/guard"
	"github.com/keycard-go/keycard/memstore"
)

const benchUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// BenchmarkProtections measures what the web protections add to Keycard's
// read scenario (an existing session, read one string): the same request
// bare, behind the csrf middleware, with the guard (its fingerprint recorded
// at login, so that every read is judged against it), and with both. The
// target is that csrf+guard adds at most 1 µs and 5 allocations to the bare
// read.
//
// The protect=… runs give the usual ns/op of each variant; compare them with
//
//	go test -run '^$' -bench Protections -benchmem -count 10 . | tee p.txt
//	go tool benchstat -col /protect p.txt
//
// On a shared machine their difference drifts with the neighbours' load, so
// the added=… runs also serve the bare read and the protected one
// alternately in the same loop and report the difference directly as
// added-ns/op and added-allocs/op (their ns/op is that of the pair).
func BenchmarkProtections(b *testing.B) {
	variants := []struct {
		name        string
		csrf, guard bool
	}{
		{"none", false, false},
		{"csrf", true, false},
		{"guard", false, true},
		{"csrf+guard", true, true},
	}
	for _, v := range variants {
		b.Run("scenario=read/protect="+v.name, func(b *testing.B) {
			read := newProtectedRead(b, v.csrf, v.guard)
			b.ReportAllocs()
			for b.Loop() {
				read.serve(b)
			}
			read.check(b)
		})
	}
	for _, v := range variants[1:] {
		b.Run("scenario=read/added="+v.name, func(b *testing.B) {
			bare, prot := newProtectedRead(b, false, false), newProtectedRead(b, v.csrf, v.guard)
			addedAllocs := testing.AllocsPerRun(1000, func() { prot.serve(b) }) - testing.AllocsPerRun(1000, func() { bare.serve(b) })
			var bareNS, protNS time.Duration
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				// Alternate the order, so that neither variant always runs
				// with the other's data in the cache.
				if n%2 == 0 {
					bareNS += bare.timed(b)
					protNS += prot.timed(b)
				} else {
					protNS += prot.timed(b)
					bareNS += bare.timed(b)
				}
				n++
			}
			b.ReportMetric(float64(protNS-bareNS)/float64(n), "added-ns/op")
			b.ReportMetric(addedAllocs, "added-allocs/op")
			bare.check(b)
			prot.check(b)
		})
	}
}

// protectedRead is the read scenario on its own Manager and memstore.
type protectedRead struct {
	h         http.Handler
	req       *request
	cookie    string
	anomalies *atomic.Int64
}

func newProtectedRead(b *testing.B, withCSRF, withGuard bool) *protectedRead {
	store := memstore.New(nil)
	b.Cleanup(store.Close)
	var anomalies atomic.Int64
	var sessionID atomic.Value
	opts := &keycard.Options{
		RenewalTimeout: -1, // as in BenchmarkHTTP: no renewal inside the loop
		Logger:         slog.New(slog.DiscardHandler),
		OnEvent: func(e keycard.Event) {
			switch e.Type {
			case keycard.EventAnomaly:
				anomalies.Add(1)
			case keycard.EventAuthenticated:
				sessionID.Store(e.SessionID)
			}
		},
	}
	if withGuard {
		g, err := guard.New([]byte("0123456789abcdef0123456789abcdef"), &guard.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		opts.Guard = g.Keycard()
	}
	m, err := keycard.New(store, opts)
	if err != nil {
		b.Fatal(err)
	}
	protect := func(h http.Handler) http.Handler { return h }
	if withCSRF {
		p, err := csrf.New(&csrf.Options{Secrets: m.CSRFSecrets(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		protect = p.Handler
	}
	// Every variant logs in first, so that the session is the same one and,
	// with the guard, carries the fingerprint of the client below.
	seed := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		s.Login("alice")
		s.Put("k", seeded)
	}))
	read := m.Handler(protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, keycard.FromContext(r.Context()).GetString("k"))
	})))

	newClientRequest := func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil) // RemoteAddr 192.0.2.1:1234
		r.Header.Set("User-Agent", benchUA)
		r.Header.Set("Accept-Language", "en-GB,en;q=0.9")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		return r
	}
	w := httptest.NewRecorder()
	seed.ServeHTTP(w, newClientRequest())
	cookie := cookieOf(w)
	if cookie == "" {
		b.Fatal("login set no cookie")
	}
	if withGuard {
		id, _ := sessionID.Load().(string)
		rec, err := store.GetByID(context.Background(), id)
		if err != nil || rec.Fingerprint == "" {
			b.Fatalf("no fingerprint recorded at login (err %v): the guard would not judge the reads", err)
		}
	}
	return &protectedRead{h: read, req: newRequest(newClientRequest()), cookie: cookie, anomalies: &anomalies}
}

// serve sends one read request.
func (p *protectedRead) serve(b *testing.B) {
	w := p.req.serve(p.h, p.cookie)
	if w.Code != http.StatusOK || w.Body.String() != seeded {
		b.Fatalf("status %d body %q", w.Code, w.Body.String())
	}
}

// timed sends one read request and returns how long it took.
func (p *protectedRead) timed(b *testing.B) time.Duration {
	start := time.Now()
	p.serve(b)
	return time.Since(start)
}

// check fails when a read did not match the fingerprint recorded at login.
func (p *protectedRead) check(b *testing.B) {
	if n := p.anomalies.Load(); n != 0 {
		b.Fatalf("%d anomalies: the reads did not match the fingerprint recorded at login", n)
	}
}
