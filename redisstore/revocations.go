package redisstore

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard/storage"
)

var _ storage.RevocationWatcher = (*Store)(nil)

// Keys of the revocation state of sealed sessions, apart from every key of
// a session (r:, i:, s:), so that nothing that reads or destroys sessions
// reaches them. With the default prefix "keycard:":
//
//	keycard:rv{keycard:}:d:<ID>       deny entry: a string, the until in Unix ms; PXAT until
//	keycard:rv{keycard:}:g:<subject>  generation: a hash of n (N), x (Except), u (until ms); PXAT u
//	keycard:rv{keycard:}:seq          the counter a subject's generation starts from once its entry expired
//	keycard:rv{keycard:}              the pub/sub channel every change is published on
//
// Unlike a session's keys, all of them share one Cluster hash tag, the
// prefix, so that in a Cluster they are in one slot, with the channel:
// every script runs on the node that holds the slot, and go-redis
// subscribes a watcher on that node (it picks the node by the first
// channel's slot), so a message goes from the script to the watchers
// without crossing the cluster bus, which delays a share of the messages it
// relays by tens of milliseconds (docs/stores.md). One slot also makes
// RevokeSubject one script with the counter, and Revocation one round trip
// to one node. The price: one node keeps and serves the whole revocation
// state of the deployment (a deny entry of about 100 bytes per ended
// session, kept until that session's absolute deadline; a generation per
// signed-out subject), which the nodes' caches read only on a miss.

// revTag starts every revocation key, and is the channel.
func (s *Store) revTag() string               { return s.prefix + "rv{" + s.prefix + "}" }
func (s *Store) denyKey(id string) string     { return s.revTag() + ":d:" + id }
func (s *Store) genKey(subject string) string { return s.revTag() + ":g:" + subject }
func (s *Store) genSeqKey() string            { return s.revTag() + ":seq" }
func (s *Store) channel() string              { return s.revTag() }

// The payload of a message on the channel: one byte for the kind, then the
// ID or subject as it is (Redis messages are binary-safe).
const (
	payloadDenied  = "d"
	payloadRevoked = "g"
)

// denyScript stores a deny entry, keeping the later until, and announces it
// in the same script, so that no message is ever sent for a write that did
// not happen. KEYS[1] deny key; ARGV[1] until (Unix ms), ARGV[2] channel,
// ARGV[3] payload.
var denyScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur or tonumber(ARGV[1]) > tonumber(cur) then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`)

// revokeScript starts a new generation and announces it. KEYS[1]
// generation key, KEYS[2] the generation counter; ARGV[1] until (Unix ms),
// ARGV[2] except ID, ARGV[3] channel, ARGV[4] payload. Returns {N, except}.
var revokeScript = redis.NewScript(`
local floor = redis.call('INCR', KEYS[2])
local n
if redis.call('EXISTS', KEYS[1]) == 1 then
  n = redis.call('HINCRBY', KEYS[1], 'n', 1)
else
  n = floor
  redis.call('HSET', KEYS[1], 'n', n)
end
redis.call('HSET', KEYS[1], 'x', ARGV[2])
local u = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if tonumber(ARGV[1]) > u then
  redis.call('HSET', KEYS[1], 'u', ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {n, ARGV[2]}
`)

// untilMS is the PXAT of an entry kept until until: Unix ms rounded up, at
// least 1 (a time before 1970 has passed).
func untilMS(until time.Time) int64 {
	us := until.UnixMicro()
	return max(1, (us+999)/1000)
}

// DenyID is one script (one round trip), on one node and in a Cluster
// alike: it writes the deny entry, keeping the later until, and publishes
// the change.
func (s *Store) DenyID(ctx context.Context, id string, until time.Time) error {
	if err := storage.CheckDenyID(id, until); err != nil {
		return err
	}
	ms := untilMS(until)
	err := denyScript.Run(ctx, s.c, []string{s.denyKey(id)}, ms, s.channel(), payloadDenied+id).Err()
	return translate(err)
}

// RevokeSubject is one script (one round trip), on one node and in a
// Cluster alike: it increments the Store's generation counter, starts the
// subject's next generation and publishes the change.
//
// The counter is what keeps N from starting again lower: a subject's entry
// expires at its until, but sessions sealed under its N may live longer,
// so a subject without an entry starts from the counter, which every
// RevokeSubject of the Store has incremented: it is above every N returned
// before.
func (s *Store) RevokeSubject(ctx context.Context, subject, exceptID string, until time.Time) (storage.Generation, error) {
	if err := storage.CheckRevokeSubject(subject, until); err != nil {
		return storage.Generation{}, err
	}
	keys := []string{s.genKey(subject), s.genSeqKey()}
	res, err := revokeScript.Run(ctx, s.c, keys, untilMS(until), exceptID, s.channel(), payloadRevoked+subject).Slice()
	if err != nil {
		return storage.Generation{}, translate(err)
	}
	if len(res) == 2 {
		n, ok := res[0].(int64)
		x, ok2 := res[1].(string)
		if ok && ok2 && n > 0 {
			return storage.Generation{N: uint64(n), Except: x}, nil
		}
	}
	return storage.Generation{}, errors.New("redisstore: RevokeSubject: unexpected script reply")
}

// Revocation reads the deny entry and the generation in one pipeline: one
// round trip to one node, in a Cluster too (the keys share a slot). An
// error of either read is the answer: never "not denied" for a read that
// did not happen.
func (s *Store) Revocation(ctx context.Context, id, subject string) (bool, storage.Generation, error) {
	if err := ctx.Err(); err != nil {
		return false, storage.Generation{}, err
	}
	if id == "" && subject == "" {
		return false, storage.Generation{}, nil
	}
	var deny *redis.IntCmd
	var gen *redis.SliceCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if id != "" {
			deny = p.Exists(ctx, s.denyKey(id))
		}
		if subject != "" {
			gen = p.HMGet(ctx, s.genKey(subject), "n", "x")
		}
		return nil
	})
	if err != nil {
		return false, storage.Generation{}, translate(err)
	}
	denied := deny != nil && deny.Val() == 1
	var g storage.Generation
	if gen != nil {
		vals := gen.Val()
		if n, ok := vals[0].(string); ok {
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				return false, storage.Generation{}, errors.New("redisstore: corrupt generation")
			}
			g.N = v
			g.Except, _ = vals[1].(string)
		}
	}
	return denied, g, nil
}

// Watching. keepAlive is how long a subscription may stay silent before the
// watcher pings the server; a ping not answered within another keepAlive
// counts as a lost connection. backoff is the wait before subscribing again
// after a failure, doubled after each failure that never got subscribed.
var keepAlive = 3 * time.Second // a variable for the tests

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

// WatchRevocations subscribes to the Store's channel with go-redis PubSub
// (one connection per watcher) and reports RevocationsUp once Redis has
// confirmed the subscription. Every DenyID and RevokeSubject publishes on
// the channel in the script that writes the change; in a Cluster the
// watcher is subscribed on the node that runs those scripts (and PUBLISH
// would reach the subscribers of every node anyway). A failed receive (the server went
// away, or did not answer a ping within keepAlive) reports RevocationsDown;
// the watcher subscribes again, waiting 50 ms after the first failure and
// up to 1 s after repeated ones, and reports RevocationsUp once confirmed.
// Pub/sub does not keep messages for a subscriber that is away: that is
// what the Down is for. It returns when ctx is done or the client is closed.
func (s *Store) WatchRevocations(ctx context.Context, fn func(storage.RevocationEvent)) {
	backoff := minBackoff
	for ctx.Err() == nil {
		wasUp, closed := s.subscribe(ctx, fn)
		if closed {
			return
		}
		if wasUp {
			backoff = minBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if !wasUp {
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// subscribe runs one subscription until it fails or ctx is done. It reports
// whether it got subscribed (it then reported Up, and Down at the failure)
// and whether the client is closed.
func (s *Store) subscribe(ctx context.Context, fn func(storage.RevocationEvent)) (up, closed bool) {
	ch := s.channel()
	ps := s.c.Subscribe(ctx, ch)
	defer ps.Close()
	// A receive waits for the server and does not watch ctx: closing the
	// subscription ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, keepAlive)
		if ctx.Err() != nil {
			return up, false
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				pinged = true
				if ps.Ping(ctx) == nil {
					continue
				}
			}
			if up {
				fn(storage.RevocationEvent{Type: storage.RevocationsDown})
			}
			return up, errors.Is(err, redis.ErrClosed)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == ch && !up {
				up = true
				fn(storage.RevocationEvent{Type: storage.RevocationsUp})
			}
		case *redis.Message:
			if ev, ok := decodeEvent(m.Payload); ok && up && m.Channel == ch {
				fn(ev)
			}
		}
	}
}

// decodeEvent reads a message of the channel; anything else is ignored.
func decodeEvent(p string) (storage.RevocationEvent, bool) {
	if len(p) < 2 {
		return storage.RevocationEvent{}, false
	}
	switch p[:1] {
	case payloadDenied:
		return storage.RevocationEvent{Type: storage.IDDenied, ID: p[1:]}, true
	case payloadRevoked:
		return storage.RevocationEvent{Type: storage.SubjectRevoked, Subject: p[1:]}, true
	}
	return storage.RevocationEvent{}, false
}
