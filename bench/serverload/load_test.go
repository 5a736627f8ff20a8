package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
)

// tokenHandler answers 200 to "Bearer good", 401 to any other token, and
// 500 plus a closed connection to "Bearer close"; it records every
// Authorization header it saw.
type tokenHandler struct {
	mu   sync.Mutex
	seen map[string]int
}

func (h *tokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	h.mu.Lock()
	if h.seen == nil {
		h.seen = map[string]int{}
	}
	h.seen[auth]++
	h.mu.Unlock()
	switch auth {
	case "Bearer good":
		w.Write([]byte(`{"ok":true}`))
	case "Bearer close":
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusUnauthorized)
	}
}

func (h *tokenHandler) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.seen {
		n += c
	}
	return n
}

func newLoad(t *testing.T, h http.Handler, tokens ...string) load {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	l := load{addr: strings.TrimPrefix(srv.URL, "http://"), path: "/v1/session", want: http.StatusOK}
	for _, tok := range tokens {
		l.headers = append(l.headers, "Authorization: Bearer "+tok)
	}
	return l
}

// TestThroughputCounts checks that the closed-loop generator counts only
// wanted answers as the rate, every other status by code, and agrees with
// the server on how many requests there were: a broken generator cannot
// report figures for requests that failed or never happened.
func TestThroughputCounts(t *testing.T) {
	tests := []struct {
		name      string
		tokens    []string
		wantOK    bool // some wanted answers
		wantCodes []int
	}{
		{name: "all good", tokens: []string{"good"}, wantOK: true},
		{name: "all refused", tokens: []string{"bad"}, wantCodes: []int{401}},
		{name: "mixed", tokens: []string{"good", "bad", "good", "close"}, wantOK: true, wantCodes: []int{401, 500}},
		{name: "empty token", tokens: []string{""}, wantCodes: []int{401}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &tokenHandler{}
			l := newLoad(t, h, tt.tokens...)
			tl, rate := throughput(l, 4, 300*time.Millisecond)
			if got := tl.ok > 0; got != tt.wantOK {
				t.Errorf("ok = %d, want some: %v", tl.ok, tt.wantOK)
			}
			if got, want := rate, float64(tl.ok)/0.3; got < want*0.99 || got > want*1.01 {
				t.Errorf("rate = %.0f, want ok/duration = %.0f", got, want)
			}
			for _, code := range tt.wantCodes {
				if tl.statuses[code] == 0 {
					t.Errorf("status %d not counted: %v", code, tl.statuses)
				}
			}
			if got, want := len(tl.statuses), len(tt.wantCodes); got != want {
				t.Errorf("statuses = %v, want %d codes", tl.statuses, want)
			}
			if tl.statuses[http.StatusOK] != 0 {
				t.Errorf("the wanted status counted as another: %v", tl.statuses)
			}
			if tl.errors != 0 {
				t.Errorf("transport errors = %d (%s), want 0", tl.errors, tl.firstErr)
			}
			// The server saw every counted request, plus at most one
			// late answer per connection, which is not counted.
			counted := int(tl.ok + tl.bad())
			if got := h.total(); got < counted || got > counted+4 {
				t.Errorf("server saw %d requests, generator counted %d", got, counted)
			}
			if got, want := tl.problem() == "", len(tt.wantCodes) == 0; got != want {
				t.Errorf("problem() = %q", tl.problem())
			}
		})
	}
}

// TestThroughputRoundRobin checks that requests take every header in
// turn.
func TestThroughputRoundRobin(t *testing.T) {
	h := &tokenHandler{}
	l := newLoad(t, h, "good", "bad")
	tl, _ := throughput(l, 3, 200*time.Millisecond)
	if d := tl.ok - tl.statuses[401]; d < -3 || d > 3 {
		t.Errorf("ok = %d, 401 = %d: want about as many of each", tl.ok, tl.statuses[401])
	}
	if len(h.seen) != 2 {
		t.Errorf("server saw %v", h.seen)
	}
}

// TestThroughputTransportErrors checks that a server that drops
// connections or refuses them yields errors and no rate.
func TestThroughputTransportErrors(t *testing.T) {
	t.Run("dropped", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		tl, rate := throughput(load{addr: ln.Addr().String(), path: "/", want: 200}, 2, 200*time.Millisecond)
		if tl.errors == 0 || tl.ok != 0 || rate != 0 {
			t.Errorf("errors = %d, ok = %d, rate = %v; want errors and no rate", tl.errors, tl.ok, rate)
		}
		if !strings.Contains(tl.problem(), "transport errors") {
			t.Errorf("problem() = %q", tl.problem())
		}
	})
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		tl, _ := throughput(load{addr: addr, path: "/", want: 200}, 2, 100*time.Millisecond)
		if tl.errors == 0 || tl.ok != 0 {
			t.Errorf("errors = %d, ok = %d; want errors only", tl.errors, tl.ok)
		}
	})
	t.Run("slow answer", func(t *testing.T) {
		// An answer that comes after the end of the run is waited for
		// but not counted.
		l := newLoad(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
		}))
		tl, _ := throughput(l, 2, 100*time.Millisecond)
		if tl.ok != 0 || tl.bad() != 0 {
			t.Errorf("ok = %d, bad = %d; want nothing counted", tl.ok, tl.bad())
		}
	})
}

// TestFixedRate checks the paced run: about rate×duration requests, all
// counted by status, each taking one header in turn, and percentiles in
// order.
func TestFixedRate(t *testing.T) {
	h := &tokenHandler{}
	l := newLoad(t, h, "good", "good", "bad", "close")
	res := fixedRate(l, 200, 500*time.Millisecond)
	if res.sent < 90 || res.sent > 110 {
		t.Errorf("sent %d requests, want about 100", res.sent)
	}
	if got := int(res.ok + res.bad()); got != res.sent {
		t.Errorf("counted %d of %d requests", got, res.sent)
	}
	if got := h.total(); got != res.sent {
		t.Errorf("server saw %d requests, generator sent %d", got, res.sent)
	}
	if res.ok == 0 || res.statuses[401] == 0 || res.statuses[500] == 0 || res.errors != 0 {
		t.Errorf("ok %d, statuses %v, errors %d (%s)", res.ok, res.statuses, res.errors, res.firstErr)
	}
	if d := res.ok - 2*res.statuses[401]; d < -2 || d > 2 {
		t.Errorf("ok = %d, 401 = %d; want twice as many ok", res.ok, res.statuses[401])
	}
	if !(0 < res.p50 && res.p50 <= res.p99 && res.p99 <= res.max) {
		t.Errorf("p50 %v, p99 %v, max %v", res.p50, res.p99, res.max)
	}
}

// TestFixedRateRefused checks that requests to a closed port are errors.
func TestFixedRateRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res := fixedRate(load{addr: addr, path: "/", want: 200}, 100, 200*time.Millisecond)
	if res.errors == 0 || res.ok != 0 || int(res.errors) != res.sent {
		t.Errorf("errors %d, ok %d of %d sent", res.errors, res.ok, res.sent)
	}
}

func TestPercentile(t *testing.T) {
	ds := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n)
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.99, 0},
		{"one", ds(5), 0.5, 5},
		{"median of 4", ds(4, 1, 3, 2), 0.5, 2},
		{"p99 of 100", ds(seq(100)...), 0.99, 99},
		{"p99 of 1000", ds(seq(1000)...), 0.99, 990},
		{"max", ds(3, 9, 1), 1, 9},
		{"tiny q", ds(3, 9, 1), 0.0001, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.q); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

// seq returns 1..n.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

// TestKeycardLoad runs the benchmark's request mix against Keycard's
// server on memstore: every issued session answers 200 through the
// generator, and a bad token 401, which the generator counts as such.
func TestKeycardLoad(t *testing.T) {
	st, err := openStore(t.Context(), "memstore", "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := newServer(st)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var tokens []string
	for i := range 10 {
		cred, err := s.Manager().Issue(t.Context(), keycard.IssueOptions{Subject: fmt.Sprint("user", i)})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, cred.Token.Reveal())
	}
	l := newLoad(t, s.Handler(), tokens...)
	tg := &target{name: "memstore", load: l}
	if err := check(tg); err != nil {
		t.Fatal(err)
	}
	tl, _ := throughput(l, 2, 200*time.Millisecond)
	if tl.ok == 0 || tl.bad() != 0 {
		t.Errorf("good tokens: ok %d, %s", tl.ok, tl.problem())
	}
	bad := newLoad(t, s.Handler(), "kc_"+strings.Repeat("A", 43))
	tl, _ = throughput(bad, 2, 200*time.Millisecond)
	if tl.ok != 0 || tl.statuses[http.StatusUnauthorized] == 0 {
		t.Errorf("bad token: ok %d, statuses %v, errors %d", tl.ok, tl.statuses, tl.errors)
	}
}
