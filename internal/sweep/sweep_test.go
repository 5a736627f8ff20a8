package sweep

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeStore is a DeleteExpired over a count of expired rows, which can be
// made to fail or to block until its context ends.
type fakeStore struct {
	mu      sync.Mutex
	expired int
	calls   []int // the limit of every call
	fail    error
	block   bool
}

func (f *fakeStore) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	f.mu.Lock()
	f.calls = append(f.calls, limit)
	fail, block := f.fail, f.block
	n := min(limit, f.expired)
	if fail == nil && !block {
		f.expired -= n
	}
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if fail != nil {
		return 0, fail
	}
	return n, nil
}

func (f *fakeStore) state() (expired, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.expired, len(f.calls)
}

func TestLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		f := &fakeStore{expired: 10}
		l := Start("teststore", 0, 4, slog.New(slog.NewTextHandler(&logs, nil)), f.DeleteExpired)
		defer l.Stop()

		time.Sleep(DefaultInterval - time.Millisecond)
		synctest.Wait()
		if left, calls := f.state(); left != 10 || calls != 0 {
			t.Fatalf("before the interval: %d rows left after %d calls, want 10 and none", left, calls)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		// Batches of 4 until one is not full: 4, 4, 2.
		if left, calls := f.state(); left != 0 || calls != 3 {
			t.Fatalf("after the first sweep: %d rows left after %d calls, want 0 after 3", left, calls)
		}

		f.mu.Lock()
		f.expired, f.fail = 9, errors.New("database is down")
		f.mu.Unlock()
		time.Sleep(DefaultInterval)
		synctest.Wait()
		if left, calls := f.state(); left != 9 || calls != 4 {
			t.Fatalf("a failing sweep: %d rows left after %d calls, want 9 after 4 (one failed call)", left, calls)
		}
		if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "teststore: background sweep failed") ||
			!strings.Contains(got, "database is down") {
			t.Errorf("log after a failed sweep = %q", got)
		}
		f.mu.Lock()
		f.fail = nil
		f.mu.Unlock()
		time.Sleep(DefaultInterval)
		synctest.Wait()
		if left, _ := f.state(); left != 0 {
			t.Fatalf("the sweep after a failure left %d rows, want 0", left)
		}
	})
}

// TestStopInterrupts: Stop ends a batch in progress, logs nothing for it,
// and no sweep runs afterwards.
func TestStopInterrupts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		f := &fakeStore{expired: 10, block: true}
		l := Start("teststore", time.Second, 0, slog.New(slog.NewTextHandler(&logs, nil)), f.DeleteExpired)
		time.Sleep(time.Second)
		synctest.Wait()
		if _, calls := f.state(); calls != 1 {
			t.Fatalf("%d calls, want one, blocked", calls)
		}
		l.Stop()
		l.Stop() // a second Stop is harmless
		time.Sleep(time.Hour)
		synctest.Wait()
		if _, calls := f.state(); calls != 1 {
			t.Errorf("%d calls after Stop, want still 1", calls)
		}
		if f.calls[0] != DefaultBatch {
			t.Errorf("limit %d, want DefaultBatch (%d)", f.calls[0], DefaultBatch)
		}
		if logs.Len() != 0 {
			t.Errorf("Stop logged %q", logs.String())
		}
	})
}

func TestOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{expired: 10}
		l := Start("teststore", -1, 0, slog.Default(), f.DeleteExpired)
		if l != nil {
			t.Fatal("Start with a negative interval returned a loop")
		}
		l.Stop() // a nil loop stops
		time.Sleep(time.Hour)
		synctest.Wait()
		if _, calls := f.state(); calls != 0 {
			t.Errorf("%d calls with the sweep off, want none", calls)
		}
	})
}
