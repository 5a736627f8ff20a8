// Package bench compares Keycard with other Go session libraries on the same
// in-process httptest scenarios, in one run. Run it with `make bench` from the
// repository root.
package bench

import (
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
)

// A scenario is one request pattern. The handler sees the session through
// the library's own API.
type scenario struct {
	name  string
	chain bool // the response's new cookie is sent with the next request
	fresh bool // every request comes without a cookie
}

var scenarios = []scenario{
	{name: "read"},               // (b) existing session, read one string
	{name: "write"},              // (c) existing session, write one value
	{name: "new", fresh: true},   // (d) new session, write one value
	{name: "login", chain: true}, // (e) login: new token + write
}

// A library provides one handler per scenario, wrapped in its middleware.
type library struct {
	name     string
	handlers func(b *testing.B) map[string]http.Handler
}

func libraries() []library {
	return []library{
		{"keycard", keycardHandlers},
		{"scs", scsHandlers},
		{"gorilla", gorillaHandlers},
	}
}

func keycardHandlers(b *testing.B) map[string]http.Handler {
	store := memstore.New(nil)
	b.Cleanup(store.Close)
	return keycardHandlersOn(b, store, &keycard.Options{RenewalTimeout: -1})
}

// keycardHandlersOn returns the scenario handlers of a Manager on store.
func keycardHandlersOn(b *testing.B, store keycard.Store, opts *keycard.Options) map[string]http.Handler {
	m, err := keycard.New(store, opts)
	if err != nil {
		b.Fatal(err)
	}
	return map[string]http.Handler{
		"seed": m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			keycard.FromContext(r.Context()).Put("k", "value")
		})),
		"read": m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, keycard.FromContext(r.Context()).GetString("k"))
		})),
		"write": m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			keycard.FromContext(r.Context()).Put("n", time.Now().UnixNano())
			io.WriteString(w, "ok")
		})),
		"new": m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			keycard.FromContext(r.Context()).Put("k", "value")
			io.WriteString(w, "ok")
		})),
		"login": m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := keycard.FromContext(r.Context())
			s.Login("alice")
			s.Put("n", time.Now().UnixNano())
			io.WriteString(w, "ok")
		})),
	}
}

func scsHandlers(b *testing.B) map[string]http.Handler {
	sm := scs.New() // in-memory store
	sm.Cookie.Secure = true
	return map[string]http.Handler{
		"seed": sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "k", "value")
		})),
		"read": sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, sm.GetString(r.Context(), "k"))
		})),
		"write": sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "n", time.Now().UnixNano())
			io.WriteString(w, "ok")
		})),
		"new": sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "k", "value")
			io.WriteString(w, "ok")
		})),
		"login": sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.RenewToken(r.Context())
			sm.Put(r.Context(), "user", "alice")
			sm.Put(r.Context(), "n", time.Now().UnixNano())
			io.WriteString(w, "ok")
		})),
	}
}

func gorillaHandlers(b *testing.B) map[string]http.Handler {
	store := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef"))
	store.Options.Secure, store.Options.HttpOnly = true, true
	h := func(f func(s *sessions.Session) bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "s")
			if f(s) {
				s.Save(r, w)
			}
			io.WriteString(w, "ok")
		})
	}
	return map[string]http.Handler{
		"seed":  h(func(s *sessions.Session) bool { s.Values["k"] = "value"; return true }),
		"read":  h(func(s *sessions.Session) bool { _, _ = s.Values["k"].(string); return false }),
		"write": h(func(s *sessions.Session) bool { s.Values["n"] = time.Now().UnixNano(); return true }),
		"new":   h(func(s *sessions.Session) bool { s.Values["k"] = "value"; return true }),
		// gorilla/sessions cannot replace a session's ID: "login" writes only.
		"login": h(func(s *sessions.Session) bool {
			s.Values["user"] = "alice"
			s.Values["n"] = time.Now().UnixNano()
			return true
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
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		req := newRequest(httptest.NewRequest("GET", "/", nil))
		b.ReportAllocs()
		for b.Loop() {
			req.serve(h, "")
		}
	})
	for _, sc := range scenarios {
		for _, lib := range libraries() {
			b.Run(fmt.Sprintf("scenario=%s/lib=%s", sc.name, lib.name), func(b *testing.B) {
				runScenario(b, lib.handlers(b), sc, nil)
			})
		}
	}
}
