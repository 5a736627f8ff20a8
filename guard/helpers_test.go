package guard

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keycard-go/keycard/internal/testclock"
)

var testKey = bytes.Repeat([]byte{7}, MinKeyLen)

func newGuard(t testing.TB, opts *Options) *Guard {
	t.Helper()
	g, err := New(testKey, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// newGuardAt is newGuard on the clock c.
func newGuardAt(t testing.TB, c *testclock.Clock, opts *Options) *Guard {
	t.Helper()
	g := newGuard(t, opts)
	g.now = c.Now
	return g
}

// newClock returns the injected clock of the tests, which they move by hand.
func newClock() *testclock.Clock { return testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// req builds a request from remote with the given headers (pairs of name, value).
func req(remote string, headers ...string) *http.Request {
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}
