package storage

import (
	"context"
	"sync"
)

// RevocationHub delivers RevocationEvents to the WatchRevocations calls of
// one Store in one process, for stores that announce their changes in
// process (memstore; sqlitestore for the changes its own process makes).
// Publish calls every watcher's fn before it returns, so a DenyID or
// RevokeSubject that publishes after storing its change returns only once
// every watcher of the process has seen it. The zero value is ready to use;
// a RevocationHub is safe for concurrent use and must not be copied.
type RevocationHub struct {
	mu   sync.Mutex
	subs map[*RevocationSub]struct{}
}

// Watch is WatchRevocations for a store whose changes are all made in this
// process and published to h: it reports RevocationsUp, then every event
// published to h until ctx is done, and returns. The channel never goes
// down.
func (h *RevocationHub) Watch(ctx context.Context, fn func(RevocationEvent)) {
	if ctx.Err() != nil {
		return
	}
	s := h.Subscribe(fn)
	s.Up()
	<-ctx.Done()
	s.Close()
}

// RevocationSub is one watcher of a RevocationHub: it calls its fn from one
// goroutine at a time, in the order the events reach it.
type RevocationSub struct {
	hub *RevocationHub

	mu     sync.Mutex // held while fn runs
	fn     func(RevocationEvent)
	up     bool
	closed bool
	held   []RevocationEvent // published while down
}

// Subscribe registers fn as a watcher, down: events published from now on
// are held until Up, which reports RevocationsUp and then them. So a store
// can take note of where its own channel stands (sqlitestore: the position
// in its change log) between Subscribe and Up without missing a change of
// its own process or reporting one before RevocationsUp. Close the
// RevocationSub when the watcher ends.
func (h *RevocationHub) Subscribe(fn func(RevocationEvent)) *RevocationSub {
	s := &RevocationSub{hub: h, fn: fn}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*RevocationSub]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Publish delivers ev to every watcher subscribed to h and returns when each
// has been called (or holds ev until its Up).
func (h *RevocationHub) Publish(ev RevocationEvent) {
	h.mu.Lock()
	subs := make([]*RevocationSub, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.Deliver(ev)
	}
}

// Up reports RevocationsUp and then the events held since Subscribe or
// the last Down. It does nothing while up or after Close.
func (s *RevocationSub) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up || s.closed {
		return
	}
	s.up = true
	s.fn(RevocationEvent{Type: RevocationsUp})
	for _, ev := range s.held {
		s.fn(ev)
	}
	s.held = nil
}

// Down reports RevocationsDown and holds the events published from now on
// until the next Up, so that nothing but RevocationsUp follows it. It does
// nothing while down or after Close.
func (s *RevocationSub) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up || s.closed {
		return
	}
	s.up = false
	s.fn(RevocationEvent{Type: RevocationsDown})
}

// Deliver calls fn with ev, after any call in progress, while the watcher
// is up; while it is down it holds ev for Up, and after Close it does
// nothing. A store delivers through it what reaches the watcher by other
// ways than Publish (sqlitestore: other processes' changes), so that fn
// still runs from one goroutine at a time.
func (s *RevocationSub) Deliver(ev RevocationEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
	case !s.up:
		s.held = append(s.held, ev)
	default:
		s.fn(ev)
	}
}

// Close unregisters the watcher and waits for a call of fn in progress:
// once it returns, fn is not called again. It may be called more than once.
func (s *RevocationSub) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.held = nil
	s.mu.Unlock()
}
