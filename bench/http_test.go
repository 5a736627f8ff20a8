// Package bench compares Keycard with other Go session libraries on the same
// in-process httptest scenarios, in one run. Run it with `make bench` from the
// repository root.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"
	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storage"
)

// A scenario is one request pattern. The handler sees the session through
// the library's own API. The request loop checks every response for want,
// and before and after the timed loop it checks that the session the client
// then holds has the seeded value (see scenarioLoop): a scenario cannot time
// an error path (a cookie that did not decode, a session that was not
// found and was started afresh, a store error) unnoticed.
type scenario struct {
	name  string
	chain bool   // the response's new cookie is sent with the next request
	fresh bool   // every request comes without a cookie
	want  string // the body of every response
}

// seeded is what every library's seed handler puts under "k", and what its
// read handler writes back.
const seeded = "value"

var scenarios = []scenario{
	readScenario,                             // (b) existing session, read one string
	{name: "write", want: "ok"},              // (c) existing session, write one value
	{name: "new", fresh: true, want: "ok"},   // (d) new session, write one value
	{name: "login", chain: true, want: "ok"}, // (e) login: new token + write
}

// readScenario is scenario (b), which BenchmarkStores also runs in
// sealed-cookie mode.
var readScenario = scenario{name: "read", want: seeded}

// floor is the scenario of a bare handler that writes "ok" without any
// session: what the request loop itself costs.
var floor = scenario{name: "floor", fresh: true, want: "ok"}

// floorHandlers returns the floor's one handler.
func floorHandlers(testing.TB) map[string]http.Handler {
	return map[string]http.Handler{
		floor.name: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
	}
}

// A library provides one handler per scenario, wrapped in its middleware,
// and a "seed" handler that starts a session holding seeded under "k". Its
// read handler writes the value it finds under "k"; the others write "ok".
// A library error is answered 500. The write, new and login handlers do
// not read the session's values: on a Merger store Keycard sends a blind
// write as one Merge without loading the session, and a read first would
// time the read-then-write path instead.
type library struct {
	name     string
	handlers func(tb testing.TB) map[string]http.Handler
}

func libraries() []library {
	return []library{
		{"keycard", keycardHandlers},
		{"scs", scsHandlers},
		{"gorilla", gorillaHandlers},
	}
}

func keycardHandlers(tb testing.TB) map[string]http.Handler {
	store := memstore.New(nil)
	tb.Cleanup(store.Close)
	return keycardHandlersOn(tb, store, &keycard.Options{RenewalTimeout: -1})
}

// keycardHandlersOn returns the scenario handlers of a Manager on store.
func keycardHandlersOn(tb testing.TB, store storage.Store, opts *keycard.Options) map[string]http.Handler {
	m, err := keycard.New(store, opts)
	if err != nil {
		tb.Fatal(err)
	}
	h := func(f func(s *keycard.Session) (string, error)) http.Handler {
		return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := f(keycard.FromContext(r.Context()))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, body)
		}))
	}
	return map[string]http.Handler{
		"seed": h(func(s *keycard.Session) (string, error) { return "ok", s.Put("k", seeded) }),
		"read": h(func(s *keycard.Session) (string, error) { return s.GetString("k"), nil }),
		"write": h(func(s *keycard.Session) (string, error) {
			return "ok", s.Put("n", time.Now().UnixNano())
		}),
		"new": h(func(s *keycard.Session) (string, error) { return "ok", s.Put("k", seeded) }),
		"login": h(func(s *keycard.Session) (string, error) {
			if err := s.Login("alice"); err != nil {
				return "", err
			}
			return "ok", s.Put("n", time.Now().UnixNano())
		}),
	}
}

func scsHandlers(tb testing.TB) map[string]http.Handler {
	sm := scs.New() // in-memory store
	sm.Cookie.Secure = true
	h := func(f func(ctx context.Context) (string, error)) http.Handler {
		return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := f(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, body)
		}))
	}
	return map[string]http.Handler{
		"seed": h(func(ctx context.Context) (string, error) { sm.Put(ctx, "k", seeded); return "ok", nil }),
		"read": h(func(ctx context.Context) (string, error) { return sm.GetString(ctx, "k"), nil }),
		"write": h(func(ctx context.Context) (string, error) {
			sm.Put(ctx, "n", time.Now().UnixNano())
			return "ok", nil
		}),
		"new": h(func(ctx context.Context) (string, error) { sm.Put(ctx, "k", seeded); return "ok", nil }),
		"login": h(func(ctx context.Context) (string, error) {
			if err := sm.RenewToken(ctx); err != nil {
				return "", err
			}
			sm.Put(ctx, "user", "alice")
			sm.Put(ctx, "n", time.Now().UnixNano())
			return "ok", nil
		}),
	}
}

func gorillaHandlers(tb testing.TB) map[string]http.Handler {
	store := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef"))
	store.Options.Secure, store.Options.HttpOnly = true, true
	// f returns the body, and whether to save the session.
	h := func(f func(s *sessions.Session) (string, bool)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Get's error is a cookie that did not decode (the session it
			// returns with it is a new, empty one).
			s, err := store.Get(r, "s")
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			body, save := f(s)
			if save {
				if err := s.Save(r, w); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
			io.WriteString(w, body)
		})
	}
	return map[string]http.Handler{
		"seed": h(func(s *sessions.Session) (string, bool) { s.Values["k"] = seeded; return "ok", true }),
		"read": h(func(s *sessions.Session) (string, bool) { v, _ := s.Values["k"].(string); return v, false }),
		"write": h(func(s *sessions.Session) (string, bool) {
			s.Values["n"] = time.Now().UnixNano()
			return "ok", true
		}),
		"new": h(func(s *sessions.Session) (string, bool) { s.Values["k"] = seeded; return "ok", true }),
		// gorilla/sessions cannot replace a session's ID: "login" writes only.
		"login": h(func(s *sessions.Session) (string, bool) {
			s.Values["user"] = "alice"
			s.Values["n"] = time.Now().UnixNano()
			return "ok", true
		}),
	}
}

// request sends requests made from one template, each a fresh copy of it,
// as a server hands every handler a new *http.Request. A handler may change
// the request it gets: gorilla/sessions' CookieStore.Get replaces *r with a
// copy whose context holds the sessions it decoded, and answers every later
// Get on that request from them, so a request reused across iterations
// carries the first one's decoded session into every later one, which then
// decodes nothing. The copies share the template's Header map; serve sets
// or removes its Cookie on every request.
type request struct {
	tmpl *http.Request
	r    http.Request
}

func newRequest(tmpl *http.Request) *request { return &request{tmpl: tmpl} }

// serve sends h one request with the Cookie header cookie (none if "").
func (q *request) serve(h http.Handler, cookie string) *httptest.ResponseRecorder {
	q.r = *q.tmpl
	if cookie == "" {
		delete(q.r.Header, "Cookie")
	} else {
		q.r.Header["Cookie"] = []string{cookie}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, &q.r)
	return w
}

// scenarioLoop is the request loop of one scenario: what runScenario times
// and TestScenarios checks.
type scenarioLoop struct {
	sc     scenario
	h      http.Handler
	read   http.Handler // the library's read handler; nil for the floor
	req    *request
	cookie string                     // sent with the next request
	sent   string                     // sent with the last request
	last   *httptest.ResponseRecorder // the last response
}

// newScenarioLoop returns the loop of sc on handlers hs, with a seeded
// session's cookie unless sc is fresh.
func newScenarioLoop(tb testing.TB, hs map[string]http.Handler, sc scenario) *scenarioLoop {
	l := &scenarioLoop{sc: sc, h: hs[sc.name], read: hs["read"], req: newRequest(httptest.NewRequest("GET", "/", nil))}
	if l.h == nil {
		tb.Fatalf("no %s handler", sc.name)
	}
	if !sc.fresh {
		l.cookie = seedCookie(tb, hs)
	}
	return l
}

// next serves one request and fails tb unless the response is 200 with the
// body sc.want. It costs the loop a comparison of a few bytes.
func (l *scenarioLoop) next(tb testing.TB) {
	w := l.req.serve(l.h, l.cookie)
	l.sent, l.last = l.cookie, w
	if w.Code != http.StatusOK || w.Body.String() != l.sc.want {
		tb.Fatalf("%s: status %d, body %q; want 200, %q", l.sc.name, w.Code, w.Body.String(), l.sc.want)
	}
	if l.sc.chain {
		c := cookieOf(w)
		if c == "" {
			tb.Fatalf("%s: the response set no cookie", l.sc.name)
		}
		l.cookie = c
	}
}

// check fails tb unless the session the client holds after the last
// response (the cookie that response set, else the one the request sent)
// has the seeded value, read through the library's read handler: the
// requests went to the seeded session, or saved a new one (sc.fresh), and
// did not start an empty session in its place. The floor has no session
// to check.
func (l *scenarioLoop) check(tb testing.TB) {
	if l.read == nil {
		return
	}
	if l.last == nil {
		tb.Fatalf("%s: check before any request", l.sc.name)
	}
	cookie := l.sent
	if c := cookieOf(l.last); c != "" {
		cookie = c
	}
	l.expectRead(tb, cookie, seeded)
}

// expectRead fails tb unless the library's read handler, served with cookie
// through the loop's request, answers 200 with want.
func (l *scenarioLoop) expectRead(tb testing.TB, cookie, want string) {
	w := l.req.serve(l.read, cookie)
	if w.Code != http.StatusOK || w.Body.String() != want {
		tb.Fatalf("%s: a read then: status %d, body %q; want 200, %q", l.sc.name, w.Code, w.Body.String(), want)
	}
}

// cookieOf returns the "name=value" pairs a response set, for a Cookie
// header: the first attribute of each Set-Cookie line, skipping removals
// (empty values). It reads the header itself rather than through
// http.Response.Cookies: that full parse runs inside the timed loop of the
// login scenario and cost about 1 µs, as much as some libraries' own work.
func cookieOf(w *httptest.ResponseRecorder) string {
	var out string
	for _, line := range w.Header()["Set-Cookie"] {
		pair, _, _ := strings.Cut(line, ";")
		name, value, ok := strings.Cut(pair, "=")
		if !ok || value == "" {
			continue
		}
		if out != "" {
			out += "; "
		}
		out += strings.TrimSpace(name) + "=" + value
	}
	return out
}

// BenchmarkHTTP runs every scenario for every library, plus the floor: a
// bare handler writing "ok" through the same request loop.
func BenchmarkHTTP(b *testing.B) {
	b.Run("scenario=floor/lib=none", func(b *testing.B) {
		runScenario(b, floorHandlers(b), floor, nil)
	})
	for _, sc := range scenarios {
		for _, lib := range libraries() {
			b.Run(fmt.Sprintf("scenario=%s/lib=%s", sc.name, lib.name), func(b *testing.B) {
				runScenario(b, lib.handlers(b), sc, nil)
			})
		}
	}
}
