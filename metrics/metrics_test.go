package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/csrf"
	"github.com/keycard-go/keycard/metrics"
	"github.com/keycard-go/keycard/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newCollector(t testing.TB) *metrics.Collector {
	t.Helper()
	c, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exposition returns the text format of everything c exports.
func exposition(t testing.TB, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return scrape(t, reg)
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    *metrics.Options
		wantErr bool
	}{
		{"nil", nil, false},
		{"zero", &metrics.Options{}, false},
		{"custom", &metrics.Options{Buckets: []float64{0.001, 0.01, 0.1}}, false},
		{"one bucket", &metrics.Options{Buckets: []float64{1}}, false},
		{"decreasing", &metrics.Options{Buckets: []float64{0.1, 0.01}}, true},
		{"repeated", &metrics.Options{Buckets: []float64{0.1, 0.1}}, true},
		{"NaN", &metrics.Options{Buckets: []float64{0.1, math.NaN()}}, true},
		{"+Inf", &metrics.Options{Buckets: []float64{0.1, math.Inf(1)}}, true},
		{"-Inf", &metrics.Options{Buckets: []float64{math.Inf(-1), 0.1}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := metrics.New(tt.opts)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("New: err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && c == nil {
				t.Fatal("New returned nil and no error")
			}
		})
	}
}

func TestNewCopiesBuckets(t *testing.T) {
	buckets := []float64{0.001, 0.01}
	c, err := metrics.New(&metrics.Options{Buckets: buckets})
	if err != nil {
		t.Fatal(err)
	}
	buckets[1] = 0 // the caller reuses its slice
	s := c.InstrumentStore(&fakeStore{})
	s.Get(context.Background(), storage.Hash{})
	if out := exposition(t, c); !strings.Contains(out, `le="0.01"`) {
		t.Fatalf("exposition lost the configured bucket 0.01:\n%s", out)
	}
}

func TestRegisterAndLint(t *testing.T) {
	c := newCollector(t)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := reg.Register(newCollector(t)); err == nil {
		t.Fatal("a second Collector registered on the same registry: got nil error, want a duplicate error")
	}
	c.OnEvent(keycard.Event{Type: keycard.EventAnomaly, Reason: "network", Action: keycard.GuardLog})
	c.InstrumentStore(&fakeStore{}).Get(context.Background(), storage.Hash{})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestOnEventCounters(t *testing.T) {
	tests := []struct {
		typ  keycard.EventType
		name string
	}{
		{keycard.EventCreated, "keycard_sessions_created_total"},
		{keycard.EventAuthenticated, "keycard_sessions_authenticated_total"},
		{keycard.EventRenewed, "keycard_sessions_renewed_total"},
		{keycard.EventDestroyed, "keycard_sessions_destroyed_total"},
		{keycard.EventExpired, "keycard_sessions_expired_total"},
		{keycard.EventRevoked, "keycard_sessions_revoked_total"},
		{keycard.EventReplay, "keycard_replays_total"},
		{keycard.EventRateLimited, "keycard_rate_limited_total"},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			c := newCollector(t)
			for range 3 {
				c.OnEvent(keycard.Event{Type: tt.typ, SessionID: "id", Subject: "alice", Reason: "whatever"})
			}
			want := fmt.Sprintf("# HELP %[1]s %[2]s\n# TYPE %[1]s counter\n%[1]s 3\n", tt.name, help(t, c, tt.name))
			if err := testutil.CollectAndCompare(c, strings.NewReader(want), tt.name); err != nil {
				t.Fatal(err)
			}
			// No other event counter moved.
			for _, other := range tests {
				if other.name == tt.name {
					continue
				}
				if n := counterValue(t, c, other.name, nil); n != 0 {
					t.Errorf("%s = %v after %s events, want 0", other.name, n, tt.typ)
				}
			}
		})
	}
}

func TestOnEventIgnoresUnknownTypes(t *testing.T) {
	c := newCollector(t)
	before := exposition(t, c)
	for _, typ := range []keycard.EventType{0, 200, 255} {
		c.OnEvent(keycard.Event{Type: typ, Reason: "x"})
	}
	if after := exposition(t, c); after != before {
		t.Fatalf("unknown event types changed the metrics:\n got %s\nwant %s", after, before)
	}
}

func TestInvalidTokenReasons(t *testing.T) {
	tests := []struct {
		reason, want string
		secret       bool // must not appear in the exposition
	}{
		{"malformed", "malformed", false},
		{"duplicate-cookie", "duplicate_cookie", false},
		{"unknown", "unknown", false},
		{"wrong-kind", "wrong_kind", false},
		{"replaced", "replaced", false},
		{"destroyed", "destroyed", false},
		{"unsealable", "unsealable", false},
		{"revoked", "revoked", false},
		{"malformed-refresh", "malformed_refresh", false},
		{"unknown-refresh", "unknown_refresh", false},
		{"no-refresh", "no_refresh", false},
		{"wrong-refresh", "wrong_refresh", false},
		// Hostile and unknown reasons never become label values.
		{"", "other", false},
		{"Unknown", "other", false},
		{"unknown ", "other", false},
		{"wrong_kind", "other", false},
		{"x7Jc2dVn0a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwX", "other", true}, // token-shaped
		{"alice@example.com", "other", true},
		{"a\nb\"c\\d", "other", true},
		{strings.Repeat("z", 10000), "other", true},
		{"\xff\xfe", "other", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q", tt.reason), func(t *testing.T) {
			c := newCollector(t)
			c.OnEvent(keycard.Event{Type: keycard.EventInvalidToken, Reason: keycard.Reason(tt.reason)})
			if got := counterValue(t, c, "keycard_invalid_tokens_total", map[string]string{"reason": tt.want}); got != 1 {
				t.Fatalf("invalid_tokens_total{reason=%q} = %v, want 1", tt.want, got)
			}
			if tt.secret {
				if out := exposition(t, c); strings.Contains(out, tt.reason) {
					t.Fatalf("the raw reason %.40q appears in the exposition", tt.reason)
				}
			}
		})
	}
}

func TestAnomalySignals(t *testing.T) {
	type count struct {
		signal, action string
		n              float64
	}
	tests := []struct {
		name   string
		reason string
		action keycard.GuardAction
		want   []count
	}{
		{"one signal", "network", keycard.GuardLog, []count{{"network", "log", 1}}},
		{"two signals", "browser,network", keycard.GuardRevoke, []count{{"browser", "revoke", 1}, {"network", "revoke", 1}}},
		{"every signal", "browser,browser_version,accept_language,network", keycard.GuardReauth, []count{
			{"browser", "reauth", 1}, {"browser_version", "reauth", 1}, {"accept_language", "reauth", 1}, {"network", "reauth", 1},
		}},
		{"spaces", " browser , network ", keycard.GuardLog, []count{{"browser", "log", 1}, {"network", "log", 1}}},
		{"repeated signal counts once", "network,network,network", keycard.GuardLog, []count{{"network", "log", 1}}},
		{"no signal", "", keycard.GuardLog, []count{{"other", "log", 1}}},
		{"only commas", ",,,", keycard.GuardLog, []count{{"other", "log", 1}}},
		{"unknown signal", "timezone", keycard.GuardLog, []count{{"other", "log", 1}}},
		{"unknown and known", "timezone,browser,tz2", keycard.GuardRevoke, []count{{"browser", "revoke", 1}, {"other", "revoke", 1}}},
		{"hostile", "network\n# HELP x y\nkeycard_replays_total 99", keycard.GuardLog, []count{{"other", "log", 1}}},
		{"action none", "network", keycard.GuardNone, []count{{"network", "none", 1}}},
		{"action out of range", "network", keycard.GuardAction(200), []count{{"network", "none", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector(t)
			c.OnEvent(keycard.Event{Type: keycard.EventAnomaly, Reason: keycard.Reason(tt.reason), Action: tt.action})
			var total float64
			for _, w := range tt.want {
				if got := counterValue(t, c, "keycard_anomalies_total", map[string]string{"signal": w.signal, "action": w.action}); got != w.n {
					t.Errorf("anomalies_total{signal=%q,action=%q} = %v, want %v", w.signal, w.action, got, w.n)
				}
				total += w.n
			}
			if got := sumCounter(t, c, "keycard_anomalies_total"); got != total {
				t.Errorf("sum of anomalies_total = %v, want %v", got, total)
			}
			if got := counterValue(t, c, "keycard_replays_total", nil); got != 0 {
				t.Errorf("replays_total = %v, want 0 (a reason must not inject samples)", got)
			}
		})
	}
}

// TestCardinalityBounded feeds events with attacker-chosen reasons and
// checks that the number of series does not grow past the fixed label sets.
func TestCardinalityBounded(t *testing.T) {
	c := newCollector(t)
	s := c.InstrumentStore(&fakeStore{})
	ctx := context.Background()
	for i := range 2000 {
		r := fmt.Sprintf("reason-%d", i)
		c.OnEvent(keycard.Event{Type: keycard.EventInvalidToken, Reason: keycard.Reason(r), SessionID: r, Subject: r})
		c.OnEvent(keycard.Event{Type: keycard.EventAnomaly, Reason: keycard.Reason(r + ",network," + r), Action: keycard.GuardAction(i % 256)})
		c.CSRFRejected(errors.New(r))
		s.Get(ctx, storage.Hash{byte(i)})
	}
	// invalid: 12 reasons + other; anomalies: 5 signals x 4 actions at most;
	// csrf: 4; the 8 plain counters; store: get with one result.
	const max = 13 + 5*4 + 4 + 8 + 1
	if n := testutil.CollectAndCount(c); n > max {
		t.Fatalf("CollectAndCount = %d series, want at most %d", n, max)
	}
	if out := exposition(t, c); strings.Contains(out, "reason-") {
		t.Fatal("a client-chosen reason appears in the exposition")
	}
}

func TestInitialSeries(t *testing.T) {
	c := newCollector(t)
	tests := []struct {
		name string
		want int
	}{
		{"keycard_sessions_created_total", 1},
		{"keycard_invalid_tokens_total", 13},
		{"keycard_anomalies_total", 12}, // 4 signals x log, reauth, revoke
		{"keycard_csrf_rejections_total", 4},
		{"keycard_store_duration_seconds", 0}, // created on first use
	}
	for _, tt := range tests {
		if got := testutil.CollectAndCount(c, tt.name); got != tt.want {
			t.Errorf("CollectAndCount(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestChain(t *testing.T) {
	var got []string
	hook := func(name string) func(keycard.Event) {
		return func(e keycard.Event) { got = append(got, name+":"+e.Type.String()) }
	}
	if h := metrics.Chain(); h != nil {
		t.Fatal("Chain() is not nil")
	}
	if h := metrics.Chain(nil, nil); h != nil {
		t.Fatal("Chain(nil, nil) is not nil")
	}
	c := newCollector(t)
	h := metrics.Chain(c.OnEvent, nil, hook("a"), hook("b"))
	h(keycard.Event{Type: keycard.EventCreated})
	if want := []string{"a:created", "b:created"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hooks ran %v, want %v", got, want)
	}
	if n := counterValue(t, c, "keycard_sessions_created_total", nil); n != 1 {
		t.Fatalf("created_total = %v, want 1", n)
	}
	got = nil
	metrics.Chain(hook("only"))(keycard.Event{Type: keycard.EventRevoked})
	if want := []string{"only:revoked"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("single hook ran %v, want %v", got, want)
	}
}

func TestOnEventAllocs(t *testing.T) {
	c := newCollector(t)
	events := []keycard.Event{
		{Type: keycard.EventCreated},
		{Type: keycard.EventInvalidToken, Reason: "unknown"},
		{Type: keycard.EventInvalidToken, Reason: "something new"},
		{Type: keycard.EventAnomaly, Reason: "browser,network", Action: keycard.GuardRevoke},
	}
	for _, e := range events {
		if n := testing.AllocsPerRun(100, func() { c.OnEvent(e) }); n != 0 {
			t.Errorf("OnEvent(%s %q) allocates %v times, want 0", e.Type, e.Reason, n)
		}
	}
}

func TestCSRFDenyHandler(t *testing.T) {
	c := newCollector(t)
	p, err := csrf.New(&csrf.Options{
		Secrets:     &csrf.CookieStore{},
		DenyHandler: c.CSRFDenyHandler(nil),
		Logger:      discardLogger,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	tests := []struct {
		name   string
		header map[string]string
		body   string
		want   string // label counted; "" for an accepted request
	}{
		{"get passes", nil, "", ""},
		{"cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", "cross_origin"},
		{"other origin", map[string]string{"Origin": "https://evil.example"}, "", "cross_origin"},
		{"no token", map[string]string{"Sec-Fetch-Site": "same-origin"}, "", "token_missing"},
		{"garbage token", map[string]string{"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": "garbage"}, "", "token_invalid"},
		{"token-shaped forgery", map[string]string{"X-CSRF-Token": strings.Repeat("A", csrf.TokenLen)}, "", "token_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sumCounter(t, c, "keycard_csrf_rejections_total")
			method := "POST"
			if tt.want == "" {
				method = "GET"
			}
			r := httptest.NewRequest(method, "https://example.com/form", strings.NewReader(tt.body))
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			beforeLabel := 0.0
			if tt.want != "" {
				beforeLabel = counterValue(t, c, "keycard_csrf_rejections_total", map[string]string{"reason": tt.want})
			}
			h.ServeHTTP(w, r)
			after := sumCounter(t, c, "keycard_csrf_rejections_total")
			if tt.want == "" {
				if w.Code != http.StatusOK || after != before {
					t.Fatalf("accepted request: status %d, rejections %v -> %v; want 200 and no count", w.Code, before, after)
				}
				return
			}
			if w.Code != http.StatusForbidden || strings.TrimSpace(w.Body.String()) != "Forbidden" {
				t.Fatalf("rejection: status %d body %q, want 403 \"Forbidden\"", w.Code, w.Body.String())
			}
			if got := counterValue(t, c, "keycard_csrf_rejections_total", map[string]string{"reason": tt.want}); got != beforeLabel+1 {
				t.Fatalf("csrf_rejections_total{reason=%q} = %v, want %v", tt.want, got, beforeLabel+1)
			}
			if after != before+1 {
				t.Fatalf("sum of csrf_rejections_total %v -> %v, want one more", before, after)
			}
		})
	}
}

func TestCSRFDenyHandlerCallsNext(t *testing.T) {
	c := newCollector(t)
	called := false
	h := c.CSRFDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		w.WriteHeader(http.StatusTeapot)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil)) // not through the csrf middleware
	if !called || w.Code != http.StatusTeapot {
		t.Fatalf("next called %v, status %d; want true, 418", called, w.Code)
	}
	if got := counterValue(t, c, "keycard_csrf_rejections_total", map[string]string{"reason": "other"}); got != 1 {
		t.Fatalf("a rejection without a FailureReason counted under other %v times, want 1", got)
	}
}

func TestCSRFRejectedReasons(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{csrf.ErrCrossOrigin, "cross_origin"},
		{csrf.ErrTokenMissing, "token_missing"},
		{csrf.ErrTokenInvalid, "token_invalid"},
		{fmt.Errorf("wrapped: %w", csrf.ErrTokenInvalid), "token_invalid"},
		{nil, "other"},
		{errors.New("csrf: token invalid"), "other"}, // same text, another error
		{errors.New("token=x7Jc2dVn0a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwX"), "other"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			c := newCollector(t)
			c.CSRFRejected(tt.err)
			if got := counterValue(t, c, "keycard_csrf_rejections_total", map[string]string{"reason": tt.want}); got != 1 {
				t.Fatalf("csrf_rejections_total{reason=%q} = %v, want 1", tt.want, got)
			}
			if got := sumCounter(t, c, "keycard_csrf_rejections_total"); got != 1 {
				t.Fatalf("sum = %v, want 1", got)
			}
		})
	}
}

// TestConcurrentUse feeds one Collector from many goroutines (run with
// -race) and checks that no increment is lost.
func TestConcurrentUse(t *testing.T) {
	c := newCollector(t)
	s := c.InstrumentStore(&fakeStore{err: keycard.ErrNotFound})
	deny := c.CSRFDenyHandler(nil)
	const goroutines, each = 8, 200
	done := make(chan struct{})
	for range goroutines {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				c.OnEvent(keycard.Event{Type: keycard.EventCreated})
				c.OnEvent(keycard.Event{Type: keycard.EventAnomaly, Reason: "browser,network", Action: keycard.GuardRevoke})
				c.OnEvent(keycard.Event{Type: keycard.EventInvalidToken, Reason: "unknown"})
				s.Get(context.Background(), storage.Hash{})
				deny.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
			}
		}()
	}
	for range goroutines {
		<-done
	}
	const n = goroutines * each
	for _, tt := range []struct {
		name   string
		labels map[string]string
	}{
		{"keycard_sessions_created_total", nil},
		{"keycard_anomalies_total", map[string]string{"signal": "browser", "action": "revoke"}},
		{"keycard_anomalies_total", map[string]string{"signal": "network", "action": "revoke"}},
		{"keycard_invalid_tokens_total", map[string]string{"reason": "unknown"}},
		{"keycard_csrf_rejections_total", map[string]string{"reason": "other"}},
	} {
		if got := counterValue(t, c, tt.name, tt.labels); got != n {
			t.Errorf("%s%v = %v, want %d", tt.name, tt.labels, got, n)
		}
	}
	if got := observations(t, c, "keycard_store_duration_seconds", map[string]string{"op": "get", "result": "not_found"}); got != n {
		t.Errorf("store get{not_found} observations = %d, want %d", got, n)
	}
}
