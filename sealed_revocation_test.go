package keycard_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storage"
)

// recordingStore remembers the IDs of every record created in it, so a test
// can try to reach the records that are not sessions.
type recordingStore struct {
	storage.Store
	mu  sync.Mutex
	ids map[string]storage.Kind
}

func (r *recordingStore) Create(ctx context.Context, rec *storage.Record) error {
	r.mu.Lock()
	if r.ids == nil {
		r.ids = map[string]storage.Kind{}
	}
	r.ids[rec.ID] = rec.Kind
	r.mu.Unlock()
	return r.Store.Create(ctx, rec)
}

// TestSealedRevocationEntriesAreNotSessions: the entries that end sealed
// sessions can never be named as sessions. Revoking "~deny:"+id once undid a
// logout, and revoking "~nbf:"+subject undid sign-out-everywhere.
func TestSealedRevocationEntriesAreNotSessions(t *testing.T) {
	c := newClock()
	st := &recordingStore{Store: newMemstore(t, c)}
	e := newEnvStore(t, st, c, &keycard.Options{Sealer: nil})
	e = newEnvStore(t, st, c, &keycard.Options{Sealer: sealerOf(t, e)})
	ctx := context.Background()

	loggedOut := e.login("alice")
	id := sealedID(e, loggedOut)
	e.do(req{method: "POST", path: "/logout", cookie: loggedOut})
	everywhere := e.login("bob")
	if _, err := e.m.RevokeAll(ctx, "bob", ""); err != nil {
		t.Fatal(err)
	}
	// The names the markers of earlier versions had, hostile ones, and the
	// IDs of every revocation record in the store.
	names := []string{"~deny:" + id, "~nbf:bob", "~deny:", "~", id + "\x00", strings.Repeat("A", 23)}
	st.mu.Lock()
	for rid, kind := range st.ids {
		if kind == storage.KindRevocation {
			names = append(names, rid)
		}
	}
	st.mu.Unlock()
	for _, n := range names {
		if err := e.m.Revoke(ctx, n); !errors.Is(err, keycard.ErrNotFound) {
			t.Errorf("Revoke(%q) = %v, want ErrNotFound: it is not a session", n, err)
		}
		if active, err := e.m.Active(ctx, n); err != nil || active {
			t.Errorf("Active(%q) = %v, %v: it is not a session", n, active, err)
		}
	}
	if code, _ := e.whoami(loggedOut); code != http.StatusUnauthorized {
		t.Fatalf("the logged-out sealed session opens again: %d", code)
	}
	if code, _ := e.whoami(everywhere); code != http.StatusUnauthorized {
		t.Fatalf("the signed-out-everywhere sealed session opens again: %d", code)
	}
	if len(names) < 8 {
		t.Fatalf("the store holds %d revocation records, want the deny entry and the generation", len(names)-6)
	}
	// Later revocations still work, and nothing lists the entries.
	again := e.login("bob")
	if _, err := e.m.RevokeAll(ctx, "bob", ""); err != nil {
		t.Fatalf("RevokeAll after the attempts: %v", err)
	}
	if code, _ := e.whoami(again); code != http.StatusUnauthorized {
		t.Fatal("a second RevokeAll did not end the new session")
	}
	for _, subject := range []string{"", "alice", "bob"} {
		if list, err := e.m.List(ctx, subject); err != nil || len(list) != 0 {
			t.Fatalf("List(%q) = %d sessions, %v; want none (sealed sessions and revocation entries are not listed)", subject, len(list), err)
		}
	}
}

// TestSealedDenyOutlivesEveryCopy: a session cut to one hour and logged out
// must stay ended for every copy of it, including one stolen before it was
// cut, which still carries the original 12-hour deadline.
func TestSealedDenyOutlivesEveryCopy(t *testing.T) {
	forEachRevocationPath(t, testSealedDenyOutlivesEveryCopy)
}

func testSealedDenyOutlivesEveryCopy(t *testing.T, newSealedEnv func(*testing.T, *keycard.Options) *env) {
	e := newSealedEnv(t, &keycard.Options{IdleTimeout: 6 * time.Hour}) // so that the stolen copy stays fresh
	stolen := e.login("alice")
	cut := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.FromContext(r.Context()).SetAbsoluteTimeout(time.Hour); err != nil {
			t.Fatal(err)
		}
	}))
	short := cookieAfter(e, e.serve(cut, req{method: "POST", path: "/", cookie: stolen}), "")
	if short == "" || short == stolen {
		t.Fatal("SetAbsoluteTimeout did not re-seal the session")
	}
	e.do(req{method: "POST", path: "/logout", cookie: short})
	start := e.clock.Now()
	for _, after := range []time.Duration{time.Minute, 2 * time.Hour, 3 * time.Hour, 5 * time.Hour} {
		e.clock.Advance(start.Add(after).Sub(e.clock.Now()))
		// A store may drop an entry once its deadline has passed.
		for {
			n, err := e.store.DeleteExpired(context.Background(), e.clock.Now(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		if code, _ := e.whoami(stolen); code != http.StatusUnauthorized {
			t.Fatalf("the stolen copy opens %v after logout: %d", after, code)
		}
	}
}

// TestSealedRevokeAllNeedsNoClocks: sign-out-everywhere on a node whose
// clock is 2 s behind must still end a session another node re-sealed just
// before: revocation generations, not clock comparisons.
func TestSealedRevokeAllNeedsNoClocks(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "watched", true: "records"}[plain], func(t *testing.T) { testRevokeAllNeedsNoClocks(t, plain) })
	}
}

func testRevokeAllNeedsNoClocks(t *testing.T, plain bool) {
	ahead := newClock()
	behind := newClock()
	behind.Advance(-2 * time.Second)
	var st storage.Store = newMemstore(t, ahead)
	if plain {
		st = casOnly{st}
	}
	a := newEnvStore(t, st, ahead, nil)
	a = newEnvStore(t, st, ahead, &keycard.Options{Sealer: sealerOf(t, a)})
	b := newEnvStore(t, st, behind, nil)
	b = newEnvStore(t, st, behind, &keycard.Options{Sealer: sealerOf(t, b)})

	cookie := a.login("alice")
	ahead.Advance(time.Second)
	behind.Advance(time.Second)
	res := a.do(req{method: "POST", path: "/put?k=x&v=1", cookie: cookie}) // re-sealed at a's time
	cookie = cookieAfter(a, res, cookie)
	if _, err := b.m.RevokeAll(context.Background(), "alice", ""); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*env{"the node that sealed it": a, "the node that revoked it": b} {
		if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
			t.Fatalf("%s still opens the session after RevokeAll: %d", name, code)
		}
	}
}

// TestSealedSizeCountsTheWholeSession: a value that fits the old data-only
// limit, with a long user agent, must not make the commit fail with 503: the
// whole sealed session is measured when the value is put, and a value that
// cannot fit is ErrTooLarge from Put.
func TestSealedSizeCountsTheWholeSession(t *testing.T) {
	forEachRevocationPath(t, testSealedSizeCountsTheWholeSession)
}

func testSealedSizeCountsTheWholeSession(t *testing.T, newSealedEnv func(*testing.T, *keycard.Options) *env) {
	e := newSealedEnv(t, nil)
	longUA := http.Header{"User-Agent": {strings.Repeat("U", 600)}} // the record keeps 512 bytes of it
	cookie := cookieAfter(e, e.do(req{method: "POST", path: "/login?user=alice", header: longUA}), "")
	for _, size := range []int{100, 2000, 2600, 2790, 3500} {
		var putErr error
		h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			putErr = keycard.FromContext(r.Context()).Put("v", strings.Repeat("x", size))
		}))
		res := e.serve(h, req{method: "POST", path: "/", cookie: cookie, header: longUA})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("a %d-byte value: status %d (Put said %v), want 200", size, res.StatusCode, putErr)
		}
		if putErr != nil && !errors.Is(putErr, keycard.ErrTooLarge) {
			t.Fatalf("a %d-byte value: Put = %v", size, putErr)
		}
		if size >= 3500 && putErr == nil {
			t.Fatalf("a %d-byte value fitted in a cookie", size)
		}
		for _, l := range res.Header.Values("Set-Cookie") {
			if len(l) > 4096 {
				t.Fatalf("Set-Cookie of %d bytes", len(l))
			}
		}
	}
}

// revCountingStore is a memstore that counts the calls a sealed read could
// make: session reads and revocation lookups. It keeps every optional
// interface of memstore, the watcher among them.
type revCountingStore struct {
	*memstore.Store
	calls atomic.Int64
}

func (s *revCountingStore) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	s.calls.Add(1)
	return s.Store.Get(ctx, h)
}

func (s *revCountingStore) Revocation(ctx context.Context, id, subject string) (bool, storage.Generation, error) {
	s.calls.Add(1)
	return s.Store.Revocation(ctx, id, subject)
}

// TestSealedReadNeedsNoStoreCall: on a store that announces revocations, a
// steady-state sealed read makes no store call, and a revocation still
// takes effect on the next request, on this node and on another.
func TestSealedReadNeedsNoStoreCall(t *testing.T) {
	c := newClock()
	st := &revCountingStore{Store: newMemstore(t, c)}
	a := newEnvStore(t, st, c, nil)
	a = newEnvStore(t, st, c, &keycard.Options{Sealer: sealerOf(t, a)})
	b := newEnvStore(t, st, c, &keycard.Options{Sealer: sealerOf(t, a)})
	cookie := a.login("alice")
	for _, e := range []*env{a, b} {
		e.whoami(cookie) // the first read of a node fills its cache
	}
	before := st.calls.Load()
	for range 50 {
		for _, e := range []*env{a, b} {
			if code, _ := e.whoami(cookie); code != http.StatusOK {
				t.Fatalf("sealed read: %d", code)
			}
		}
	}
	if n := st.calls.Load() - before; n != 0 {
		t.Fatalf("100 steady-state sealed reads made %d store calls, want 0", n)
	}
	if _, err := a.m.RevokeAll(context.Background(), "alice", ""); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*env{"the revoking node": a, "another node": b} {
		if code, _ := e.whoami(cookie); code != http.StatusUnauthorized {
			t.Fatalf("%s after RevokeAll: %d, want 401", name, code)
		}
	}
}
