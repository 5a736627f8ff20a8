package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// maxPropagation bounds how long a change may take to reach a watcher in
// the tests. It is generous on purpose: the figure that matters is measured
// (RevocationsPropagate logs it, BenchRevocationPropagation reports it),
// not asserted.
const maxPropagation = 2 * time.Second

// upTimeout bounds how long a watcher may take to report RevocationsUp.
const upTimeout = 10 * time.Second

// seen is an event and when the watcher's fn got it.
type seen struct {
	storage.RevocationEvent
	at time.Time
}

// watchLog runs WatchRevocations and keeps what it reports. Its fn never
// blocks: a store may call it from inside DenyID, on the test's goroutine.
type watchLog struct {
	mu     sync.Mutex
	events []seen
	signal chan struct{} // a token whenever events grows
	read   int           // events[:read] have been taken by next

	inFlight atomic.Int32
	overlap  atomic.Bool // fn ran on two goroutines at once

	cancel context.CancelFunc
	done   chan struct{}
}

// watch starts w.WatchRevocations and stops it when t ends.
func watch(t testing.TB, w storage.RevocationWatcher) *watchLog {
	l := &watchLog{signal: make(chan struct{}, 1), done: make(chan struct{})}
	c, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() {
		defer close(l.done)
		w.WatchRevocations(c, l.fn)
	}()
	t.Cleanup(func() { l.stop(t) })
	return l
}

func (l *watchLog) fn(ev storage.RevocationEvent) {
	if l.inFlight.Add(1) != 1 {
		l.overlap.Store(true)
	}
	defer l.inFlight.Add(-1)
	l.mu.Lock()
	l.events = append(l.events, seen{ev, time.Now()})
	l.mu.Unlock()
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

// stop cancels the watch and waits for WatchRevocations to return.
func (l *watchLog) stop(t testing.TB) {
	t.Helper()
	l.cancel()
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		t.Error("WatchRevocations did not return within 10s of its context's end")
	}
	if l.overlap.Load() {
		t.Error("WatchRevocations called fn on two goroutines at once")
	}
}

// next returns the next event not yet taken, waiting up to timeout.
func (l *watchLog) next(timeout time.Duration) (seen, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		if l.read < len(l.events) {
			ev := l.events[l.read]
			l.read++
			l.mu.Unlock()
			return ev, true
		}
		l.mu.Unlock()
		select {
		case <-l.signal:
		case <-deadline.C:
			return seen{}, false
		}
	}
}

// waitUp waits for the watcher's first event, which must be RevocationsUp.
func (l *watchLog) waitUp(t testing.TB) {
	t.Helper()
	l.expectWithin(t, storage.RevocationEvent{Type: storage.RevocationsUp}, upTimeout)
}

// expect waits for the next event and checks that it is want.
func (l *watchLog) expect(t testing.TB, want storage.RevocationEvent) seen {
	t.Helper()
	return l.expectWithin(t, want, maxPropagation)
}

// expectWithin waits up to timeout for the next event and checks that it is want.
func (l *watchLog) expectWithin(t testing.TB, want storage.RevocationEvent, timeout time.Duration) seen {
	t.Helper()
	ev, ok := l.next(timeout)
	if !ok {
		t.Fatalf("no event within %v, want %s", timeout, describe(want))
	}
	if ev.RevocationEvent != want {
		t.Fatalf("got event %s, want %s", describe(ev.RevocationEvent), describe(want))
	}
	return ev
}

func describe(ev storage.RevocationEvent) string {
	switch ev.Type {
	case storage.RevocationsUp:
		return "RevocationsUp"
	case storage.RevocationsDown:
		return "RevocationsDown"
	case storage.IDDenied:
		return fmt.Sprintf("IDDenied(%q)", abbrev([]byte(ev.ID)))
	case storage.SubjectRevoked:
		return fmt.Sprintf("SubjectRevoked(%q)", abbrev([]byte(ev.Subject)))
	}
	return fmt.Sprintf("%+v", ev)
}

// change is one revocation a propagation test makes and the event it is
// announced by.
type change struct {
	deny  bool
	key   string
	event storage.RevocationEvent
}

// changeN returns the ith change of a propagation run: deny entries and
// generations in turn, every fifth with a hostile string in its key.
func changeN(i int) change {
	key := NewID()
	if i%5 == 4 {
		key = hostile[(i/5)%len(hostile)].s + "#" + key
	}
	if i%2 == 0 {
		return change{true, key, storage.RevocationEvent{Type: storage.IDDenied, ID: key}}
	}
	return change{false, key, storage.RevocationEvent{Type: storage.SubjectRevoked, Subject: key}}
}

// make makes change c through a and returns the time it returned and
// the Generation of a RevokeSubject.
func (c change) make(ctx context.Context, a storage.Revocations) (time.Time, storage.Generation, error) {
	if c.deny {
		err := a.DenyID(ctx, c.key, time.Now().Add(time.Hour))
		return time.Now(), storage.Generation{}, err
	}
	g, err := a.RevokeSubject(ctx, c.key, "", time.Now().Add(time.Hour))
	return time.Now(), g, err
}

// RevocationsPropagate checks that the revocations made through a reach a
// watcher of b (a Store on the same backend, as another node would have it,
// or a itself): b's WatchRevocations reports RevocationsUp, then each of
// changes DenyIDs and RevokeSubjects made through a, one after the other,
// as the matching event within two seconds and in order, and b's
// Revocation, asked once the event has arrived, already answers with the
// change. It logs the delay from a's call returning to the event reaching
// b's fn (median and maximum): the figure the store's documentation
// quotes, measured, not asserted. a must implement storage.Revocations and
// b storage.RevocationWatcher.
func RevocationsPropagate(t *testing.T, a, b storage.Store, changes int) {
	t.Helper()
	ra, wb := writerWatcher(t, a, b)
	d := propagation(t, ra, wb, changes)
	med, hi := medianMax(d.returned)
	smed, shi := medianMax(d.began)
	t.Logf("revocation propagation over %d changes: after the call returned median %v, max %v; "+
		"after it began (its round trip included) median %v, max %v", len(d.returned), med, hi, smed, shi)
}

// delays are the times from a change's call returning, and from it
// beginning, to its event reaching the watcher. An event can arrive before
// the reply to the call that made it (Redis publishes inside the script):
// that delay counts as 0.
type delays struct{ returned, began []time.Duration }

// step makes the ith change through a, waits for l to report it and adds
// its delays to d.
func (d *delays) step(tb testing.TB, l *watchLog, a storage.Revocations, i int) (change, storage.Generation) {
	tb.Helper()
	ch := changeN(i)
	began := time.Now()
	returned, gen, err := ch.make(context.Background(), a)
	if err != nil {
		tb.Fatalf("change %d: %v", i, err)
	}
	ev := l.expect(tb, ch.event)
	d.returned = append(d.returned, max(0, ev.at.Sub(returned)))
	d.began = append(d.began, ev.at.Sub(began))
	return ch, gen
}

// writerWatcher returns a as storage.Revocations and w as
// storage.RevocationWatcher, or fails tb.
func writerWatcher(tb testing.TB, a, w storage.Store) (storage.Revocations, storage.RevocationWatcher) {
	tb.Helper()
	ra, ok := a.(storage.Revocations)
	if !ok {
		tb.Fatalf("%T does not implement storage.Revocations", a)
	}
	ww, ok := w.(storage.RevocationWatcher)
	if !ok {
		tb.Fatalf("%T does not implement storage.RevocationWatcher", w)
	}
	return ra, ww
}

// propagation runs the loop of RevocationsPropagate and returns the delays.
func propagation(tb testing.TB, a storage.Revocations, b storage.RevocationWatcher, changes int) delays {
	tb.Helper()
	c := context.Background()
	l := watch(tb, b)
	l.waitUp(tb)
	var d delays
	for i := range changes {
		ch, gen := d.step(tb, l, a, i)
		denied, got, err := b.Revocation(c, ch.key, ch.key)
		switch {
		case err != nil:
			tb.Fatalf("change %d: Revocation on the watcher's store after the event: %v", i, err)
		case ch.deny && !denied:
			tb.Fatalf("change %d: the watcher's store does not report the ID denied after the event", i)
		case !ch.deny && got != gen:
			tb.Fatalf("change %d: the watcher's store reports %+v after the event, want %+v", i, got, gen)
		}
	}
	return d
}

func medianMax(d []time.Duration) (median, hi time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}

// BenchRevocationPropagation makes one revocation through a per iteration
// and waits for a watcher of w to report it, and reports the delay from a's
// call returning to the event reaching the watcher as custom metrics: its
// median (median-ns) and maximum (max-ns) over the iterations, and the same
// from the call beginning (began-median-ns, began-max-ns). ns/op is the
// whole cycle: the write, the announcement and the watcher's delivery.
func BenchRevocationPropagation(b *testing.B, a, w storage.Store) {
	ra, wb := writerWatcher(b, a, w)
	l := watch(b, wb)
	l.waitUp(b)
	var d delays
	i := 0
	for b.Loop() {
		d.step(b, l, ra, i)
		i++
	}
	med, hi := medianMax(d.returned)
	b.ReportMetric(float64(med.Nanoseconds()), "median-ns")
	b.ReportMetric(float64(hi.Nanoseconds()), "max-ns")
	med, hi = medianMax(d.began)
	b.ReportMetric(float64(med.Nanoseconds()), "began-median-ns")
	b.ReportMetric(float64(hi.Nanoseconds()), "began-max-ns")
}

func testWatchOwnChanges(t *testing.T, w storage.RevocationWatcher) {
	propagation(t, w, w, 20)
}

// testWatchStops: a watcher whose context ends returns, and is not called
// again, while another watcher of the store goes on.
func testWatchStops(t *testing.T, w storage.RevocationWatcher) {
	first, second := watch(t, w), watch(t, w)
	first.waitUp(t)
	second.waitUp(t)
	id := NewID()
	if err := w.DenyID(ctx(t), id, future()); err != nil {
		t.Fatal(err)
	}
	first.expect(t, storage.RevocationEvent{Type: storage.IDDenied, ID: id})
	second.expect(t, storage.RevocationEvent{Type: storage.IDDenied, ID: id})
	first.stop(t)
	later := NewID()
	if err := w.DenyID(ctx(t), later, future()); err != nil {
		t.Fatal(err)
	}
	second.expect(t, storage.RevocationEvent{Type: storage.IDDenied, ID: later})
	if ev, ok := first.next(0); ok {
		t.Errorf("a watcher whose context ended reported %s", describe(ev.RevocationEvent))
	}
}

// testSeveralWatchers: three watchers of one store, and writers making
// changes at once: each watcher reports every change once, from one
// goroutine at a time (watchLog checks that at its end).
func testSeveralWatchers(t *testing.T, w storage.RevocationWatcher) {
	logs := []*watchLog{watch(t, w), watch(t, w), watch(t, w)}
	for _, l := range logs {
		l.waitUp(t)
	}
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make([]error, writers)
	want := map[storage.RevocationEvent]int{}
	var mu sync.Mutex
	for i := range writers {
		wg.Go(func() {
			for j := range each {
				ch := changeN(i*each + j)
				mu.Lock()
				want[ch.event]++
				mu.Unlock()
				if _, _, err := ch.make(ctx(t), w); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	for k, l := range logs {
		got := map[storage.RevocationEvent]int{}
		for range writers * each {
			ev, ok := l.next(maxPropagation)
			if !ok {
				t.Fatalf("watcher %d: %d events within %v of the last change, want %d", k, len(got), maxPropagation, writers*each)
			}
			got[ev.RevocationEvent]++
		}
		for ev, n := range want {
			if got[ev] != n {
				t.Errorf("watcher %d: %s reported %d times, want %d", k, describe(ev), got[ev], n)
			}
		}
	}
}
