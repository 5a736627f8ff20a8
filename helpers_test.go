package keycard_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/testclock"
	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storage"
)

// clock is the injected clock of the timeout tests.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// eventLog records events for assertions.
type eventLog struct {
	mu     sync.Mutex
	events []keycard.Event
}

func (l *eventLog) add(e keycard.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) count(t keycard.EventType) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Type == t {
			n++
		}
	}
	return n
}

func (l *eventLog) reasons(t keycard.EventType) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var r []string
	for _, e := range l.events {
		if e.Type == t {
			r = append(r, string(e.Reason))
		}
	}
	return r
}

// env is a Manager on a memstore with an injected clock and the test app.
type env struct {
	t      *testing.T
	m      *keycard.Manager
	store  storage.Store
	clock  *clock
	events *eventLog
	h      http.Handler
}

func newEnv(t *testing.T, opts *keycard.Options) *env {
	t.Helper()
	c := newClock()
	return newEnvStore(t, newMemstore(t, c), c, opts)
}

func newEnvStore(t *testing.T, st storage.Store, c *clock, opts *keycard.Options) *env {
	t.Helper()
	if opts == nil {
		opts = &keycard.Options{}
	}
	ev := &eventLog{}
	testhook.SetNow(opts, c.Now)
	opts.OnEvent = ev.add
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := keycard.New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &env{t: t, m: m, store: st, clock: c, events: ev, h: m.Handler(app())}
}

// app is the application under test.
func app() http.Handler {
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
		if err := keycard.Login(r.Context(), r.FormValue("user")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.FormValue("remember") == "1" {
			if err := keycard.FromContext(r.Context()).SetRememberMe(true); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.Logout(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, keycard.FromContext(r.Context()).GetString(r.FormValue("k")))
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.FromContext(r.Context()).Put(r.FormValue("k"), r.FormValue("v")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	})
	return mux
}

// req is one request's description.
type req struct {
	method, path string
	cookie       string // raw Cookie header; "" for none
	bearer       string // Authorization: Bearer value
	header       http.Header
}

func (e *env) do(q req) *http.Response {
	e.t.Helper()
	return e.serve(e.h, q)
}

// serve sends q to h, as do sends it to the test app.
func (e *env) serve(h http.Handler, q req) *http.Response {
	e.t.Helper()
	r := httptest.NewRequest(q.method, q.path, nil)
	if q.cookie != "" {
		r.Header.Set("Cookie", q.cookie)
	}
	if q.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	for k, v := range q.header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
		e.t.Fatalf("%s %s: status %d, never a 5xx other than 503", q.method, q.path, res.StatusCode)
	}
	return res
}

// sessionCookie returns the value of the session cookie set by res, "" if none.
func sessionCookie(res *http.Response, name string) (value string, set bool) {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// login logs user in on a fresh browser and returns the cookie header.
func (e *env) login(user string) string {
	e.t.Helper()
	res := e.do(req{method: "POST", path: "/login?user=" + user})
	v, ok := sessionCookie(res, e.m.CookieName())
	if res.StatusCode != http.StatusOK || !ok || v == "" {
		e.t.Fatalf("login: status %d, cookie set %v", res.StatusCode, ok)
	}
	return e.m.CookieName() + "=" + v
}

// whoami returns the status and body of GET /whoami with cookie.
func (e *env) whoami(cookie string) (int, string) {
	e.t.Helper()
	res := e.do(req{method: "GET", path: "/whoami", cookie: cookie})
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func body(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	return strings.TrimSpace(string(b))
}

// flakyStore fails every call while down is set, like a store that went away.
type flakyStore struct {
	storage.Store
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (f *flakyStore) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Get(ctx, h)
}

func (f *flakyStore) Update(ctx context.Context, r *storage.Record) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.Update(ctx, r)
}

func (f *flakyStore) Create(ctx context.Context, r *storage.Record) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.Create(ctx, r)
}

func (f *flakyStore) Rotate(ctx context.Context, old, next *storage.Record, grace time.Time) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.Rotate(ctx, old, next, grace)
}

func (f *flakyStore) Delete(ctx context.Context, h storage.Hash) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.Delete(ctx, h)
}

func newMemstore(t *testing.T, c *clock) *memstore.Store {
	o := &memstore.Options{}
	testhook.SetNow(o, c.Now)
	st := memstore.New(o)
	t.Cleanup(st.Close)
	return st
}

var discard = slog.New(slog.DiscardHandler)

// deepStrings returns every string reachable from v (through pointers,
// interfaces, maps, slices and struct fields, exported or not), joined, so
// that a test can check a secret is nowhere in it.
func deepStrings(v any) string {
	var b strings.Builder
	seen := map[uintptr]bool{}
	var walk func(reflect.Value, int)
	walk = func(v reflect.Value, depth int) {
		if !v.IsValid() || depth > 32 {
			return
		}
		switch v.Kind() {
		case reflect.String:
			b.WriteString(v.String())
			b.WriteByte('\n')
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				return
			}
			if v.Kind() == reflect.Pointer {
				if seen[v.Pointer()] {
					return
				}
				seen[v.Pointer()] = true
			}
			walk(v.Elem(), depth+1)
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i), depth+1)
			}
		case reflect.Slice, reflect.Array:
			if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
				b.Write(v.Bytes())
				b.WriteByte('\n')
				return
			}
			for i := range v.Len() {
				walk(v.Index(i), depth+1)
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Key(), depth+1)
				walk(it.Value(), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(v), 0)
	return b.String()
}

// forEachMode runs test on a server-side and on a sealed-cookie env.
func forEachMode(t *testing.T, test func(t *testing.T, mode string, e *env)) {
	for _, mode := range []string{"server", "sealed"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "sealed" {
				test(t, mode, newSealedEnv(t, nil))
			} else {
				test(t, mode, newEnv(t, nil))
			}
		})
	}
}
