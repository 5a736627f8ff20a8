// Package sweep is the background sweep of the SQL stores (sqlitestore,
// pgstore): a goroutine that drops expired records and tombstones every
// interval through the store's own DeleteExpired, in bounded batches.
package sweep

import (
	"context"
	"log/slog"
	"time"
)

// The defaults the stores document for their SweepInterval and SweepBatch
// options.
const (
	DefaultInterval = time.Minute
	DefaultBatch    = 256
)

// DeleteExpired is a store's DeleteExpired method.
type DeleteExpired func(ctx context.Context, now time.Time, limit int) (int, error)

// A Loop is a running background sweep. A nil *Loop is a sweep that was
// turned off; its Stop does nothing.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts a goroutine that, every interval, calls del with the current
// time and limit batch until a call drops fewer than batch, so that each
// call is one short statement and writers wait for one batch at most. An
// interval of 0 means DefaultInterval and a negative one no sweep (Start
// returns nil); a batch of 0 or less means DefaultBatch. The first sweep
// runs one interval after Start. An error is logged to log at Warn, as
// "<name>: background sweep failed", and ends that sweep; the next interval
// tries again. Stop the loop with Stop.
func Start(name string, interval time.Duration, batch int, log *slog.Logger, del DeleteExpired) *Loop {
	if interval < 0 {
		return nil
	}
	if interval == 0 {
		interval = DefaultInterval
	}
	if batch <= 0 {
		batch = DefaultBatch
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{cancel: cancel, done: make(chan struct{})}
	go l.run(ctx, name, interval, batch, log, del)
	return l
}

func (l *Loop) run(ctx context.Context, name string, interval time.Duration, batch int, log *slog.Logger, del DeleteExpired) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := del(ctx, time.Now(), batch)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				log.Warn(name+": background sweep failed", "err", err)
				break
			}
			if n < batch {
				break
			}
		}
	}
}

// Stop ends the sweep, interrupting a batch in progress, and waits for the
// goroutine to return. It is safe to call more than once.
func (l *Loop) Stop() {
	if l == nil {
		return
	}
	l.cancel()
	<-l.done
}
