package metrics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/csrf"
	"github.com/keycard-go/keycard/guard"
	"github.com/keycard-go/keycard/internal/testclock"
	"github.com/keycard-go/keycard/internal/testhook"
	"github.com/keycard-go/keycard/internal/testlog"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/metrics"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const (
	chrome  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

	home     = "203.0.113.7:5000"  // the users' usual network
	roaming  = "198.51.100.9:5000" // another network
	scanner  = "192.0.2.66:4444"   // presents forged tokens until limited
	stranger = "100.64.7.1:6000"   // presents a few forged tokens
)

// secrets collects every credential the test sees issued or forged.
type secrets struct {
	mu     sync.Mutex
	values map[string]string // value -> where it came from
}

// add records v, and for long values also its first and last 16
// characters, so that a truncated token in a log counts as a leak too.
func (s *secrets) add(from, v string) {
	s.exact(from, v)
	if len(v) >= 32 {
		s.exact(from+" (prefix)", v[:16])
		s.exact(from+" (suffix)", v[len(v)-16:])
	}
}

// exact records v only as a whole.
func (s *secrets) exact(from, v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]string{}
	}
	if _, ok := s.values[v]; !ok {
		s.values[v] = from
	}
}

// token records a Keycard session token and its hash, which is not meant
// for logs either.
func (s *secrets) token(from, v string) {
	s.add(from, v)
	if t, err := keycard.ParseToken(v); err == nil {
		s.add(from+" hash", storage.HashToken(string(t)).String())
	}
}

// refresh records a refresh token: as a whole, and its secret part (the
// rest of it is the session ID, which logs may carry).
func (s *secrets) refresh(from, v string) {
	s.exact(from, v)
	if i := strings.LastIndexByte(v, '.'); i >= 0 {
		s.token(from+" secret", v[i+1:])
	}
}

// leaks returns a description of every recorded secret that appears in text.
func (s *secrets) leaks(where, text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v, from := range s.values {
		if strings.Contains(text, v) {
			out = append(out, fmt.Sprintf("%s contains %s", where, from))
		}
	}
	sort.Strings(out)
	return out
}

func (s *secrets) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.values)
}

// events records every event the Manager emits.
type events struct {
	mu  sync.Mutex
	all []keycard.Event
}

func (e *events) add(ev keycard.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) list() []keycard.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]keycard.Event(nil), e.all...)
}

// site is a Keycard application with every protection and every
// observability hook wired in, on an injected clock.
type site struct {
	t        *testing.T
	clock    *testclock.Clock // of the Manager, the store and the guard
	logs     *testlog.Buffer
	events   *events
	secrets  *secrets
	registry *prometheus.Registry
	store    *memstore.Store
	m        *keycard.Manager
	h        http.Handler
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{
		t:        t,
		clock:    testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)),
		logs:     &testlog.Buffer{},
		events:   &events{},
		secrets:  &secrets{},
		registry: prometheus.NewPedanticRegistry(),
	}
	logger := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	key := []byte("log-capture-test-fingerprint-key-0123456789")
	s.secrets.add("guard key", string(key))
	g, err := guard.New(key, &guard.Options{Logger: logger, Actions: guard.Actions{Browser: keycard.GuardRevoke}})
	if err != nil {
		t.Fatal(err)
	}
	testhook.SetNow(g, s.clock.Now)
	collector, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.registry.MustRegister(collector)
	mo := &memstore.Options{}
	testhook.SetNow(mo, s.clock.Now)
	s.store = memstore.New(mo)
	t.Cleanup(s.store.Close)
	ko := &keycard.Options{
		Logger:  logger,
		Guard:   g.Keycard(),
		OnEvent: metrics.Chain(collector.OnEvent, s.events.add),
	}
	testhook.SetNow(ko, s.clock.Now)
	s.m, err = keycard.New(collector.InstrumentStore(s.store), ko)
	if err != nil {
		t.Fatal(err)
	}
	protect, err := csrf.Protect(&csrf.Options{
		Secrets:     s.m.CSRFSecrets(),
		DenyHandler: collector.CSRFDenyHandler(nil),
		Logger:      logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(csrf.Token(r))) // the page's form carries it
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... the password is checked here.
		if err := keycard.Login(r.Context(), r.FormValue("user")); err != nil {
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		w.Write([]byte("welcome"))
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		sess := keycard.FromContext(r.Context())
		if !sess.IsAuthenticated() {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(sess.Subject()))
	})
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.FromContext(r.Context()).Put("note", r.FormValue("note")); err != nil {
			http.Error(w, "no session", http.StatusBadRequest)
			return
		}
		w.Write([]byte("saved"))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.Logout(r.Context()); err != nil {
			http.Error(w, "no session", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.h = s.m.Handler(protect(mux))
	return s
}

// browser is one client: its network, user agent, language and session
// cookie.
type browser struct {
	s              *site
	addr, ua, lang string
	cookie         string // "name=value" of the session cookie, "" for none
	anonCSRF       string // "name=value" of the CSRF cookie of a visitor without a session
}

func (s *site) browser(addr, ua string) *browser {
	return &browser{s: s, addr: addr, ua: ua, lang: "en-GB,en;q=0.8"}
}

// request sends one request. form is sent as the body of a same-origin POST;
// header is added last and may override Sec-Fetch-Site. Every cookie value
// set by the response is recorded as a secret, and the session cookie is
// kept for the next request.
func (b *browser) request(method, path string, form url.Values, header map[string]string) *httptest.ResponseRecorder {
	b.s.t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, "https://keycard.example"+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "https://keycard.example"+path, nil)
	}
	r.RemoteAddr = b.addr
	r.Header.Set("User-Agent", b.ua)
	r.Header.Set("Accept-Language", b.lang)
	if method != "GET" {
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if c := strings.Trim(b.cookie+"; "+b.anonCSRF, "; "); c != "" {
		r.Header.Set("Cookie", c)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	b.s.h.ServeHTTP(w, r)
	if w.Code >= 500 {
		b.s.t.Fatalf("%s %s: status %d", method, path, w.Code)
	}
	for _, c := range w.Result().Cookies() {
		b.s.secrets.token("Set-Cookie "+c.Name, c.Value)
		if c.Name == b.s.m.CookieName()+"-csrf-anon" {
			b.anonCSRF = c.Name + "=" + c.Value
			if c.Value == "" || c.MaxAge < 0 {
				b.anonCSRF = ""
			}
		}
		if c.Name != b.s.m.CookieName() {
			continue
		}
		if c.Value == "" || c.MaxAge < 0 {
			b.cookie = ""
		} else {
			b.cookie = c.Name + "=" + c.Value
		}
	}
	return w
}

// csrfToken loads a form and returns its CSRF token.
func (b *browser) csrfToken() string {
	b.s.t.Helper()
	w := b.request("GET", "/form", nil, nil)
	tok := w.Body.String()
	if w.Code != http.StatusOK || len(tok) != csrf.TokenLen {
		b.s.t.Fatalf("GET /form: status %d, token of %d characters; want 200 and %d", w.Code, len(tok), csrf.TokenLen)
	}
	b.s.secrets.add("CSRF token", tok)
	return tok
}

// login signs user in through the CSRF-protected login form.
func (b *browser) login(user string) {
	b.s.t.Helper()
	tok := b.csrfToken()
	w := b.request("POST", "/login", url.Values{"user": {user}, "csrf_token": {tok}}, nil)
	if w.Code != http.StatusOK || b.cookie == "" {
		b.s.t.Fatalf("login %s: status %d, cookie %v; want 200 and a session cookie", user, w.Code, b.cookie != "")
	}
	// The fingerprint recorded at login is a secret of the server too.
	for _, e := range b.s.events.list() {
		if e.Type == keycard.EventAuthenticated && e.Subject == user {
			if rec, err := b.s.store.GetByID(context.Background(), e.SessionID); err == nil {
				b.s.secrets.add("stored fingerprint", rec.Fingerprint)
			}
		}
	}
}

// whoami returns the status of GET /whoami and its body.
func (b *browser) whoami() (int, string) {
	w := b.request("GET", "/whoami", nil, nil)
	return w.Code, strings.TrimSpace(w.Body.String())
}

// TestNoSecretInLogsMetricsOrEvents drives every lifecycle and security
// event through a fully wired site, then looks for every token, cookie
// value, CSRF token, fingerprint and key it saw in the JSON logs, the
// Prometheus exposition and the events.
func TestNoSecretInLogsMetricsOrEvents(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()

	// Login through the protected form, then renewal.
	alice := s.browser(home, chrome)
	alice.login("alice")
	if code, who := alice.whoami(); code != http.StatusOK || who != "alice" {
		t.Fatalf("whoami after login: %d %q, want 200 alice", code, who)
	}
	beforeRenewal := alice.cookie
	s.clock.Advance(keycard.DefaultRenewalTimeout + time.Minute)
	if code, _ := alice.whoami(); code != http.StatusOK {
		t.Fatalf("whoami at renewal: %d, want 200", code)
	}
	if alice.cookie == beforeRenewal {
		t.Fatal("the session was not renewed after the renewal timeout")
	}

	// Replay of the replaced token after the grace window ends the session.
	s.clock.Advance(keycard.DefaultRenewalGrace + time.Second)
	thief := s.browser(home, chrome)
	thief.cookie = beforeRenewal
	if code, _ := thief.whoami(); code != http.StatusUnauthorized {
		t.Fatalf("replayed token: %d, want 401", code)
	}
	if code, _ := alice.whoami(); code != http.StatusUnauthorized {
		t.Fatalf("renewed token after a replay: %d, want 401 (the session ends for everyone)", code)
	}

	// Logout, then the logged-out cookie.
	alice = s.browser(home, chrome)
	alice.login("alice")
	loggedIn := alice.cookie
	if w := alice.request("POST", "/logout", url.Values{"csrf_token": {alice.csrfToken()}}, nil); w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d, want 204", w.Code)
	}
	alice.cookie = loggedIn
	if code, _ := alice.whoami(); code != http.StatusUnauthorized {
		t.Fatalf("cookie after logout: %d, want 401", code)
	}

	// Forged, malformed and unknown tokens.
	mallory := s.browser(stranger, chrome)
	forged, _ := storetest.NewToken()
	s.secrets.token("forged cookie", forged)
	for _, c := range []string{forged, "not-a-token", strings.Repeat("A", keycard.TokenLen)} {
		mallory.cookie = s.m.CookieName() + "=" + c
		if code, _ := mallory.whoami(); code != http.StatusUnauthorized {
			t.Fatalf("forged cookie: %d, want 401", code)
		}
	}
	forgedBearer, _ := storetest.NewToken()
	s.secrets.token("forged bearer", forgedBearer)
	mallory.cookie = ""
	if w := mallory.request("GET", "/whoami", nil, map[string]string{"Authorization": "Bearer " + forgedBearer}); w.Code != http.StatusUnauthorized {
		t.Fatalf("forged bearer: %d, want 401", w.Code)
	}
	if _, err := s.m.Lookup(ctx, "malformed "+forged[:20], keycard.KindAPI); !errors.Is(err, keycard.ErrInvalidToken) {
		t.Fatalf("Lookup of a malformed token: %v, want ErrInvalidToken", err)
	}

	// A browser change revokes (as configured); a network change is logged.
	bob := s.browser(home, chrome)
	bob.login("bob")
	stolen := s.browser(home, firefox)
	stolen.cookie = bob.cookie
	if code, _ := stolen.whoami(); code != http.StatusUnauthorized {
		t.Fatalf("cookie in another browser: %d, want 401", code)
	}
	carol := s.browser(home, chrome)
	carol.login("carol")
	carol.addr = roaming
	if code, _ := carol.whoami(); code != http.StatusOK {
		t.Fatalf("roaming user: %d, want 200 (detection first)", code)
	}
	carol.addr = home

	// CSRF rejections: no token, a forged one, another session's, cross-site.
	forgedCSRF := strings.Repeat("Q", csrf.TokenLen)
	s.secrets.add("forged CSRF token", forgedCSRF)
	otherSessions := s.browser(home, chrome).csrfToken()
	for _, tt := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no token", url.Values{"note": {"x"}}, nil},
		{"forged token", url.Values{"note": {"x"}, "csrf_token": {forgedCSRF}}, nil},
		{"other session's token", url.Values{"note": {"x"}}, map[string]string{"X-CSRF-Token": otherSessions}},
		{"cross-site", url.Values{"note": {"x"}, "csrf_token": {carol.csrfToken()}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		if w := carol.request("POST", "/put", tt.form, tt.header); w.Code != http.StatusForbidden {
			t.Fatalf("CSRF %s: %d, want 403", tt.name, w.Code)
		}
	}
	if w := carol.request("POST", "/put", url.Values{"note": {"x"}, "csrf_token": {carol.csrfToken()}}, nil); w.Code != http.StatusOK {
		t.Fatalf("POST with a valid CSRF token: %d, want 200", w.Code)
	}

	// Rate limiting: a network guessing tokens gets 429 before any lookup.
	guesser := s.browser(scanner, "curl/8.11.0")
	limited := 0
	for range 40 {
		tok, _ := storetest.NewToken()
		s.secrets.token("guessed cookie", tok)
		guesser.cookie = s.m.CookieName() + "=" + tok
		w := guesser.request("GET", "/whoami", nil, nil)
		if w.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("40 guessed tokens from one network were never answered 429")
	}

	// An API session: Issue, use, Refresh, then reuse of the spent refresh token.
	creds, err := s.m.Issue(ctx, keycard.IssueOptions{Subject: "erin", Kind: keycard.KindAPI, IP: "203.0.113.50", UserAgent: "keycard-cli/1.0"})
	if err != nil {
		t.Fatal(err)
	}
	s.secrets.token("issued access token", creds.Token.Reveal())
	s.secrets.refresh("issued refresh token", creds.RefreshToken.Reveal())
	cli := s.browser("203.0.113.50:7000", "keycard-cli/1.0")
	if w := cli.request("GET", "/whoami", nil, map[string]string{"Authorization": "Bearer " + creds.Token.Reveal()}); w.Code != http.StatusOK {
		t.Fatalf("bearer request: %d, want 200", w.Code)
	}
	next, err := s.m.Refresh(ctx, creds.RefreshToken.Reveal())
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	s.secrets.token("refreshed access token", next.Token.Reveal())
	s.secrets.refresh("refreshed refresh token", next.RefreshToken.Reveal())
	if _, err := s.m.Refresh(ctx, creds.RefreshToken.Reveal()); !errors.Is(err, keycard.ErrInvalidToken) {
		t.Fatalf("reused refresh token: %v, want ErrInvalidToken", err)
	}
	if w := cli.request("GET", "/whoami", nil, map[string]string{"Authorization": "Bearer " + next.Token.Reveal()}); w.Code != http.StatusUnauthorized {
		t.Fatalf("access token after refresh reuse: %d, want 401", w.Code)
	}

	// Expiry: a session idle past its timeout.
	dave := s.browser(home, chrome)
	dave.login("dave")
	s.clock.Advance(keycard.DefaultIdleTimeout + time.Minute)
	if code, _ := dave.whoami(); code != http.StatusUnauthorized {
		t.Fatalf("idle session: %d, want 401", code)
	}

	// The test is not vacuous: every event type happened, was logged and was counted.
	logs := s.logs.String()
	exposition := scrape(t, s.registry)
	evs := s.events.list()
	seen := map[keycard.EventType]int{}
	for _, e := range evs {
		seen[e.Type]++
	}
	logged := loggedEvents(t, logs)
	counters := map[keycard.EventType]string{
		keycard.EventCreated:       "keycard_sessions_created_total",
		keycard.EventAuthenticated: "keycard_sessions_authenticated_total",
		keycard.EventRenewed:       "keycard_sessions_renewed_total",
		keycard.EventDestroyed:     "keycard_sessions_destroyed_total",
		keycard.EventExpired:       "keycard_sessions_expired_total",
		keycard.EventRevoked:       "keycard_sessions_revoked_total",
		keycard.EventInvalidToken:  "keycard_invalid_tokens_total",
		keycard.EventReplay:        "keycard_replays_total",
		keycard.EventAnomaly:       "keycard_anomalies_total",
		keycard.EventRateLimited:   "keycard_rate_limited_total",
	}
	for typ := keycard.EventCreated; typ <= keycard.EventRateLimited; typ++ {
		if seen[typ] == 0 {
			t.Errorf("no %s event was emitted", typ)
		}
		if logged[typ.String()] == 0 {
			t.Errorf("no %s event was logged", typ)
		}
		name := counters[typ]
		if got := sumFamily(t, s.registry, name); got < float64(seen[typ]) {
			t.Errorf("%s = %v, want at least the %d events emitted", name, got, seen[typ])
		}
	}
	if seen[keycard.EventRateLimited] != limited {
		t.Errorf("rate-limited events = %d, want %d (one per 429)", seen[keycard.EventRateLimited], limited)
	}
	for _, want := range []struct {
		name   string
		labels map[string]string
	}{
		{"keycard_anomalies_total", map[string]string{"signal": "browser", "action": "revoke"}},
		{"keycard_anomalies_total", map[string]string{"signal": "network", "action": "log"}},
		{"keycard_invalid_tokens_total", map[string]string{"reason": "unknown"}},
		{"keycard_invalid_tokens_total", map[string]string{"reason": "malformed"}},
		{"keycard_invalid_tokens_total", map[string]string{"reason": "destroyed"}},
		{"keycard_csrf_rejections_total", map[string]string{"reason": "token_missing"}},
		{"keycard_csrf_rejections_total", map[string]string{"reason": "token_invalid"}},
		{"keycard_csrf_rejections_total", map[string]string{"reason": "cross_origin"}},
	} {
		if got := counterIn(t, s.registry, want.name, want.labels); got == 0 {
			t.Errorf("%s%v = 0, want at least 1", want.name, want.labels)
		}
	}
	if n, err := testutil.GatherAndCount(s.registry, "keycard_store_duration_seconds"); err != nil || n < 4 {
		t.Errorf("store_duration_seconds series = %d (%v), want get, create, rotate, update and more", n, err)
	}
	if n := strings.Count(logs, "\n"); n < len(evs) {
		t.Errorf("%d log lines for %d events, want at least one each", n, len(evs))
	}
	if !strings.Contains(logs, `"level":"WARN"`) || !strings.Contains(logs, `"level":"DEBUG"`) {
		t.Error("the logs hold no WARN or no DEBUG record")
	}
	if !strings.Contains(logs, `"msg":"csrf: `) {
		t.Error("the csrf middleware logged none of its rejections")
	}
	if n := s.secrets.len(); n < 100 {
		t.Fatalf("only %d secrets recorded, want the ~150 issued and forged above", n)
	}

	// No secret anywhere.
	var leaks []string
	leaks = append(leaks, s.secrets.leaks("the log", logs)...)
	leaks = append(leaks, s.secrets.leaks("the metrics exposition", exposition)...)
	for i, e := range evs {
		leaks = append(leaks, s.secrets.leaks(fmt.Sprintf("event %d (%s) %%+v", i, e.Type), fmt.Sprintf("%+v", e))...)
		leaks = append(leaks, s.secrets.leaks(fmt.Sprintf("event %d (%s) %%#v", i, e.Type), fmt.Sprintf("%#v", e))...)
		leaks = append(leaks, s.secrets.leaks(fmt.Sprintf("event %d (%s) %%v", i, e.Type), fmt.Sprint(e))...)
	}
	for _, l := range leaks {
		t.Error(l)
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs)
	}
}

// loggedEvents counts the JSON log records by their "event" attribute, and
// fails on a line that is not a JSON object.
func loggedEvents(t *testing.T, logs string) map[string]int {
	t.Helper()
	n := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		if ev, ok := rec["event"].(string); ok {
			n[ev]++
		}
	}
	return n
}

// sumFamily returns the sum of every series of the counter name in g.
func sumFamily(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// counterIn returns the counter name with exactly labels in g, 0 if absent.
func counterIn(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if fmt.Sprint(got) == fmt.Sprint(labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
