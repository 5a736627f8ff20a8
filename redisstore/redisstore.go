package redisstore

import (
	"context"
	"crypto/sha1" //nolint:gosec // names an index key, as redis.sha1hex does; not a security use
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keycard-go/keycard/storage"
	"github.com/redis/go-redis/v9"
)

// Options configures a Store. A nil *Options means all defaults.
type Options struct {
	// Prefix starts every key the Store writes. Default "keycard:". Stores
	// with different prefixes share a Redis without seeing each other. It
	// may not contain '{' or '}' (the Cluster hash tags follow it).
	Prefix string

	// Cluster selects the Cluster algorithm (several single-slot steps in a
	// crash-safe order) for a client that is not a *redis.ClusterClient, such
	// as a Ring. Default: chosen from the client's type; a *redis.Client
	// (standalone or Sentinel) gets the one-script-per-operation algorithm.
	Cluster bool
}

// Store is a storage.Store in Redis. It is safe for concurrent use, and any
// number of Keycard processes may share one Redis or Redis Cluster.
type Store struct {
	c       redis.UniversalClient
	own     bool
	cluster bool
	prefix  string

	destroyedTail []byte
}

var _ storage.Merger = (*Store)(nil)

// New returns a Store on client. The caller keeps ownership of client:
// Close does not close it. Set ContextTimeoutEnabled in the client's options
// so that a context deadline interrupts a call that waits for the server
// (Open does).
func New(client redis.UniversalClient, opts *Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = "keycard:"
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		// A brace would become the hash tag of every key and put all
		// sessions in one Cluster slot.
		return nil, fmt.Errorf("redisstore: Prefix %q contains a brace", o.Prefix)
	}
	_, single := client.(*redis.Client)
	s := &Store{
		c:             client,
		cluster:       o.Cluster || !single,
		prefix:        o.Prefix,
		destroyedTail: tombstoneTail(storage.Hash{}, time.Time{}),
	}
	return s, nil
}

// Open connects to the Redis at rawURL and returns a Store whose Close closes
// the client. Forms:
//
//	redis://[user:password@]host:port[/db][?dial_timeout=3s&...]   standalone
//	rediss://...                                                 the same over TLS
//	redis://host1:port,host2:port,host3:port                     Cluster (any node list)
//	redis://host1:port?addr=host2:port&addr=host3:port           Cluster
//	redis://sentinel1:26379,sentinel2:26379?master_name=mymaster Sentinel
//
// The query parameters are go-redis's (redis.ParseURL, ParseClusterURL,
// ParseFailoverURL). Errors never repeat the URL, which may hold a password.
func Open(rawURL string) (*Store, error) {
	// A node list is split off before url.Parse, which rejects
	// "h1:p1,h2:p2" as a bad port on some Go releases (1.26.0 and 1.26.1).
	first, more := splitHosts(rawURL)
	u, err := url.Parse(first)
	if err != nil {
		return nil, fmt.Errorf("redisstore: bad URL: %w", redactURLError(err))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("redisstore: URL scheme %q, want redis or rediss", u.Scheme)
	}
	q := u.Query()
	if len(more) > 0 {
		for _, h := range more {
			q.Add("addr", h)
		}
		u.RawQuery = q.Encode()
	}
	var client redis.UniversalClient
	switch {
	case q.Has("master_name"):
		fo, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w", redactURLError(err))
		}
		fo.ContextTimeoutEnabled = true
		client = redis.NewFailoverClient(fo)
	case q.Has("addr"):
		co, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w", redactURLError(err))
		}
		co.ContextTimeoutEnabled = true
		client = redis.NewClusterClient(co)
	default:
		o, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w", redactURLError(err))
		}
		o.ContextTimeoutEnabled = true
		client = redis.NewClient(o)
	}
	s, err := New(client, nil)
	if err != nil {
		client.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// splitHosts returns rawURL with only the first host of a comma-separated
// node list in its authority, and the other hosts.
func splitHosts(rawURL string) (first string, more []string) {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL, nil
	}
	start := len(rawURL) - len(rest)
	end := len(rest)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		end = i
	}
	authority := rest[:end]
	at := strings.LastIndexByte(authority, '@') + 1 // the hosts follow the user info
	hosts := strings.Split(authority[at:], ",")
	if len(hosts) < 2 {
		return rawURL, nil
	}
	return rawURL[:start+at] + hosts[0] + rest[end:], hosts[1:]
}

// redactURLError drops the URL (which may hold a password) from a parse error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Close closes the client when Open created it.
func (s *Store) Close() error {
	if s.own {
		return s.c.Close()
	}
	return nil
}

// Keys. The part in braces is the hash tag that picks the Cluster slot: a
// record by its token hash, an ID key by its ID, an index by its subject.

// RecordKey returns the name of the key that holds the record or tombstone
// of token hash h, for operators (redis-cli GET, TTL) and tests. Its value is
// Keycard's binary record format, not meant to be parsed elsewhere.
func (s *Store) RecordKey(h storage.Hash) string { return s.recKey(h) }

func (s *Store) recKey(h storage.Hash) string {
	var b [64]byte
	hex.Encode(b[:], h[:])
	return s.prefix + "r:{" + string(b[:]) + "}"
}

// hashOfKey parses a record key name back into its hash.
func (s *Store) hashOfKey(k string) (storage.Hash, bool) {
	var h storage.Hash
	k, ok := strings.CutPrefix(k, s.prefix+"r:{")
	if !ok || len(k) != 65 || k[64] != '}' {
		return h, false
	}
	_, err := hex.Decode(h[:], []byte(k[:64]))
	return h, err == nil
}

func (s *Store) idKey(id string) string { return s.prefix + "i:{" + id + "}" }

func (s *Store) indexKey(subject string) string {
	sum := sha1.Sum([]byte(subject)) //nolint:gosec // see import
	return s.prefix + "s:{" + hex.EncodeToString(sum[:]) + "}"
}

func version8(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return string(b[:])
}

// expiresScore is the PXAT of an ID key and the index score of a record:
// its ExpiresAt in ms, or no expiry.
func expiresPX(r *storage.Record) (px int64, score float64) {
	px = pxat(r.ExpiresAt)
	if px == 0 {
		return 0, 1 << 52
	}
	return px, float64(px)
}

// translate wraps a driver error. redis.Nil is handled by the callers.
func translate(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redisstore: %w", err)
}

// Get is one GET (one round trip).
func (s *Store) Get(ctx context.Context, h storage.Hash) (*storage.Record, error) {
	b, err := s.c.Get(ctx, s.recKey(h)).Bytes()
	if err == redis.Nil {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	return decode(h, b)
}

// placeholderVersion is the version of the destroyed tombstones that
// revocations write where a successor or a new record is about to be
// written (Cluster only); real tombstones have version 2 or more.
const placeholderVersion = 0

// maxChain bounds how many rotated tombstones a lookup follows.
const maxChain = 16

// GetByID reads the ID key and the record it names: one script (one round
// trip) on one node, two GETs in a Cluster, where it also follows Successor
// from a rotated tombstone that an interrupted Rotate left the ID key
// pointing at.
func (s *Store) GetByID(ctx context.Context, id string) (*storage.Record, error) {
	if id == "" {
		return nil, storage.ErrNotFound
	}
	var h storage.Hash
	var r *storage.Record
	if !s.cluster {
		res, err := getByIDScript.Run(ctx, s.c, []string{s.idKey(id)}).Slice()
		if err != nil {
			return nil, translate(err)
		}
		if len(res) != 2 {
			return nil, storage.ErrNotFound
		}
		k, _ := res[0].(string)
		v, _ := res[1].(string)
		var ok bool
		if h, ok = s.hashOfKey(k); !ok {
			return nil, storage.ErrNotFound
		}
		if r, err = decode(h, []byte(v)); err != nil {
			return nil, err
		}
	} else {
		k, err := s.c.Get(ctx, s.idKey(id)).Result()
		if err == redis.Nil {
			return nil, storage.ErrNotFound
		}
		if err != nil {
			return nil, translate(err)
		}
		var ok bool
		if h, ok = s.hashOfKey(k); !ok {
			return nil, storage.ErrNotFound
		}
	}
	for range maxChain {
		if r == nil {
			var err error
			if r, err = s.Get(ctx, h); err != nil {
				return nil, err
			}
		}
		switch {
		case r.ID != id:
			return nil, storage.ErrNotFound
		case r.State == storage.StateLive:
			return r, nil
		case r.State == storage.StateRotated && !r.Successor.IsZero():
			h, r = r.Successor, nil
		default:
			return nil, storage.ErrNotFound
		}
	}
	return nil, storage.ErrNotFound
}

// Create stores r with one script (one round trip) on one node; in a
// Cluster it takes three steps, described in the package documentation.
func (s *Store) Create(ctx context.Context, r *storage.Record) error {
	val := encode(r, storage.StateLive, 1)
	rk, ik := s.recKey(r.Hash), s.idKey(r.ID)
	px := pxat(r.KeepUntil())
	idPX, score := expiresPX(r)
	if !s.cluster {
		keys := []string{rk, ik}
		if r.Subject != "" {
			keys = append(keys, s.indexKey(r.Subject))
		}
		n, err := createScript.Run(ctx, s.c, keys, val, px, idPX, rk).Int()
		if err != nil {
			return translate(err)
		}
		if n == 0 {
			return storage.ErrExists
		}
		r.Version = 1
		return nil
	}
	// Cluster. 1: read the ID key and add the index hint (a hint that names
	// a record that never comes is pruned by List).
	var cur *redis.StringCmd
	var hint *redis.Cmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		cur = p.Get(ctx, ik)
		if r.Subject != "" {
			hint = indexAddScript.Eval(ctx, p, []string{s.indexKey(r.Subject)}, score, rk)
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return translate(err)
	}
	if hint != nil && hint.Err() != nil {
		return translate(hint.Err())
	}
	seen, err := cur.Result()
	if err != nil && err != redis.Nil {
		return translate(err)
	}
	if seen != "" {
		// The ID is free only when it names a destroyed record: a missing
		// one may be another Create between its steps 2 and 3.
		if free, err := s.idFree(ctx, r.ID, seen); err != nil {
			return err
		} else if !free {
			return storage.ErrExists
		}
	}
	// 2: claim the ID key, if nobody changed it since step 1.
	ok, err := claimIDScript.Run(ctx, s.c, []string{ik}, seen, rk, idPX).Int()
	if err != nil {
		return translate(err)
	}
	if ok == 0 {
		return storage.ErrExists
	}
	// 3: create the record unless its hash is taken.
	args := redis.SetArgs{Mode: "NX"}
	if px > 0 {
		args.ExpireAt = time.UnixMilli(px)
	}
	st, err := s.c.SetArgs(ctx, rk, val, args).Result()
	if err != nil && err != redis.Nil {
		return translate(err)
	}
	if st != "OK" {
		releaseIDScript.Run(ctx, s.c, []string{ik}, rk, seen) // best effort: a stale ID key is harmless
		return storage.ErrExists
	}
	r.Version = 1
	return nil
}

// idFree reports whether the ID key value k (a record key) leaves id free
// for a new record: the chain from k ends in a destroyed tombstone, or in a
// record of another ID.
func (s *Store) idFree(ctx context.Context, id, k string) (bool, error) {
	h, ok := s.hashOfKey(k)
	if !ok {
		return true, nil
	}
	for range maxChain {
		r, err := s.Get(ctx, h)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		switch {
		case r.ID != id:
			return true, nil
		case r.State == storage.StateRotated && !r.Successor.IsZero():
			h = r.Successor
		default:
			return r.State != storage.StateLive, nil
		}
	}
	return false, nil
}

// Update is one script (one round trip): compare-and-swap on the version.
func (s *Store) Update(ctx context.Context, r *storage.Record) error {
	n, err := updateScript.Run(ctx, s.c, []string{s.recKey(r.Hash)},
		version8(r.Version), encode(r, storage.StateLive, r.Version+1), pxat(r.KeepUntil())).Int()
	if err != nil {
		return translate(err)
	}
	switch n {
	case 0:
		return storage.ErrNotFound
	case 1:
		return storage.ErrConflict
	}
	r.Version++
	return nil
}

// Merge is one script (one round trip) on one node and in a Cluster alike:
// the record is the only key it reads or writes. The ID key and the subject
// index keep their expiry, which follows ExpiresAt, which Merge never moves.
func (s *Store) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	now := m.Now.UnixMicro()
	if now < 0 || m.IdleTimeout < 0 {
		return nil, storage.ErrNotFound // nothing a Manager sends; the usual path copes
	}
	args := make([]any, 0, 3+2*len(m.Changes))
	args = append(args, []byte{byte(m.Kind)}, now, int64(m.IdleTimeout/time.Microsecond))
	for _, c := range m.Changes {
		v := []byte{0}
		if c.Value != nil {
			v = append(make([]byte, 0, 1+len(c.Value)), 1)
			v = append(v, c.Value...)
		}
		args = append(args, c.Key, v)
	}
	b, err := mergeScript.Run(ctx, s.c, []string{s.recKey(h)}, args...).Text()
	if err == redis.Nil {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	return decode(h, []byte(b))
}

// Rotate replaces old by next with one script (one round trip) on one node;
// in a Cluster it takes ordered steps, described in the package
// documentation.
func (s *Store) Rotate(ctx context.Context, old, next *storage.Record, graceUntil time.Time) error {
	ok, nk, ik := s.recKey(old.Hash), s.recKey(next.Hash), s.idKey(next.ID)
	val := encode(next, storage.StateLive, 1)
	px := pxat(next.KeepUntil())
	idPX, score := expiresPX(next)
	tail := tombstoneTail(next.Hash, graceUntil)
	if !s.cluster {
		keys := []string{ok, nk, ik}
		if next.Subject != "" {
			keys = append(keys, s.indexKey(next.Subject))
		}
		n, err := rotateScript.Run(ctx, s.c, keys, version8(old.Version), tail, val, px, idPX, nk, old.Subject).Int()
		if err != nil {
			return translate(err)
		}
		switch n {
		case 0:
			return storage.ErrNotFound
		case 1:
			return storage.ErrConflict
		case 3:
			return storage.ErrExists
		}
		old.Version++
		next.Version = 1
		return nil
	}
	// Cluster. 1: add the index hint for next and check that next's hash is free.
	var taken *redis.StringCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		taken = p.Get(ctx, nk)
		if next.Subject != "" {
			indexAddScript.Eval(ctx, p, []string{s.indexKey(next.Subject)}, score, nk)
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return translate(err)
	}
	if v, err := taken.Bytes(); err == nil {
		if t, err := decode(next.Hash, v); err == nil && t.State == storage.StateDestroyed && t.Version == placeholderVersion {
			// A DeleteSubject saw this Rotate's index entry and blocked
			// its successor: the session is revoked.
			return storage.ErrNotFound
		}
		return storage.ErrExists
	}
	// 2: the old record becomes a rotated tombstone (compare-and-swap). From
	// here on the old token no longer works; a crash before step 3 logs the
	// session out, and never leaves two live records.
	res, err := tombstoneScript.Run(ctx, s.c, []string{ok}, "\x02", tail, version8(old.Version), "", "="+old.Subject, "", "").Slice()
	if err != nil {
		return translate(err)
	}
	switch code, _ := res[0].(int64); code {
	case 0, 3:
		return storage.ErrNotFound
	case 1, 4:
		return storage.ErrConflict
	}
	// 3: create next (NX: a placeholder tombstone that a concurrent
	// DeleteByID or DeleteSubject put there wins), then point the ID key at
	// it. Not in one pipeline: the two keys are on different nodes in
	// general, and a pipeline over nodes may deliver the move first. A
	// DeleteByID that read the moved ID key then would find no record under
	// next's hash and end nothing, and next would be written live after the
	// logout. In this order the ID key names either the old record, whose
	// Successor leads to next, or next once it exists.
	args := redis.SetArgs{Mode: "NX"}
	if px > 0 {
		args.ExpireAt = time.UnixMilli(px)
	}
	st, err := s.c.SetArgs(ctx, nk, val, args).Result()
	if err != nil && err != redis.Nil {
		return translate(err)
	}
	if st != "OK" {
		// The session was revoked while it rotated: it stays revoked.
		return storage.ErrNotFound
	}
	idArgs := redis.SetArgs{}
	if idPX > 0 {
		idArgs.ExpireAt = time.UnixMilli(idPX)
	}
	// The rotation is done: next is live and the old token a tombstone. A
	// move that fails leaves the ID key naming the old record, from which
	// GetByID and DeleteByID follow Successor to next, so it is not an error.
	_ = s.c.SetArgs(ctx, ik, nk, idArgs).Err()
	old.Version++
	next.Version = 1
	return nil
}

// tombstoneResult is the outcome of tombstoneScript.
type tombstoneResult struct {
	code int64
	val  string
}

func (s *Store) runTombstone(ctx context.Context, c redis.Scripter, h storage.Hash, wantID, wantSubject, spare string, placeholder []byte) *redis.Cmd {
	ph := ""
	if placeholder != nil {
		ph = string(placeholder)
	}
	return tombstoneScript.Run(ctx, c, []string{s.recKey(h)}, "\x01", s.destroyedTail, "", wantID, subjectArg(wantSubject), spare, ph)
}

// subjectArg is tombstoneScript's subject condition: "" any, else "=" and
// the subject.
func subjectArg(subject string) string {
	if subject == "" {
		return ""
	}
	return "=" + subject
}

func parseTombstone(cmd *redis.Cmd) (tombstoneResult, error) {
	res, err := cmd.Slice()
	if err != nil {
		return tombstoneResult{}, translate(err)
	}
	var t tombstoneResult
	if len(res) == 2 {
		t.code, _ = res[0].(int64)
		t.val, _ = res[1].(string)
	}
	return t, nil
}

// destroyChain destroys the live record h and, when h is a rotated
// tombstone, its successor (following an interrupted or concurrent Rotate;
// a successor not written yet gets a destroyed placeholder so that the
// Rotate's create fails). It reports whether it destroyed a live record.
func (s *Store) destroyChain(ctx context.Context, h storage.Hash, wantID, wantSubject, spare string, first *redis.Cmd) (bool, error) {
	cmd := first
	var placeholder []byte
	for range maxChain {
		if cmd == nil {
			cmd = s.runTombstone(ctx, s.c, h, wantID, wantSubject, spare, placeholder)
		}
		t, err := parseTombstone(cmd)
		cmd = nil
		if err != nil {
			return false, err
		}
		switch t.code {
		case 2:
			return true, nil
		case 6:
			// The successor is absent: expired, or a Rotate in flight, which
			// will now find its hash taken. Nothing live was destroyed.
			return false, nil
		case 3:
			prev, err := decode(h, []byte(t.val))
			if err != nil {
				return false, err
			}
			if prev.State != storage.StateRotated || prev.Successor.IsZero() ||
				(wantID != "" && prev.ID != wantID) || (wantSubject != "" && prev.Subject != wantSubject) {
				return false, nil
			}
			if wantID == "" {
				wantID = prev.ID // the successor keeps the ID
			}
			ph := *prev
			ph.Hash = prev.Successor
			placeholder = encode(ph.Tombstone(storage.StateDestroyed, storage.Hash{}, time.Time{}), storage.StateDestroyed, placeholderVersion)
			h = prev.Successor
		default:
			return false, nil
		}
	}
	return false, nil
}

// Delete is one script (one round trip): the record becomes a destroyed
// tombstone. Its ID key and index entry are pruned lazily.
func (s *Store) Delete(ctx context.Context, h storage.Hash) error {
	t, err := parseTombstone(s.runTombstone(ctx, s.c, h, "", "", "", nil))
	if err != nil {
		return err
	}
	if t.code != 2 {
		return storage.ErrNotFound
	}
	return nil
}

// DeleteByID reads the ID key and destroys the record it names: two round
// trips (more when it follows a Rotate in flight).
func (s *Store) DeleteByID(ctx context.Context, id string) error {
	if id == "" {
		return storage.ErrNotFound
	}
	k, err := s.c.Get(ctx, s.idKey(id)).Result()
	if err == redis.Nil {
		return storage.ErrNotFound
	}
	if err != nil {
		return translate(err)
	}
	h, ok := s.hashOfKey(k)
	if !ok {
		return storage.ErrNotFound
	}
	done, err := s.destroyChain(ctx, h, id, "", "", nil)
	if err != nil {
		return err
	}
	if !done {
		return storage.ErrNotFound
	}
	return nil
}

// member is one entry of a subject index.
type member struct {
	h       storage.Hash
	key     string
	expires int64 // the score: the record's ExpiresAt in Unix ms
}

// members returns the entries of a subject index whose ExpiresAt has not
// passed (those that have name nothing live and are pruned).
func (s *Store) members(ctx context.Context, ik string, now time.Time) ([]member, error) {
	zs, err := s.c.ZRangeByScoreWithScores(ctx, ik, &redis.ZRangeBy{
		Min: strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, translate(err)
	}
	ms := make([]member, 0, len(zs))
	for _, z := range zs {
		k, _ := z.Member.(string)
		if h, ok := s.hashOfKey(k); ok {
			ms = append(ms, member{h: h, key: k, expires: int64(z.Score)})
		}
	}
	return ms, nil
}

// prune removes stale entries and those whose ExpiresAt passed, best effort:
// entries are checked on every read anyway.
func (s *Store) prune(ctx context.Context, ik string, now time.Time, stale []any) {
	_, _ = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if len(stale) > 0 {
			p.ZRem(ctx, ik, stale...)
		}
		p.ZRemRangeByScore(ctx, ik, "-inf", "("+strconv.FormatInt(now.UnixMilli(), 10))
		return nil
	})
}

// List reads the subject index and then every record it names: two round
// trips (ZRANGE, then one MGET, or in a Cluster one pipelined GET per node,
// in parallel), and a third when it prunes entries that name a tombstone or
// another subject's record. In a Cluster an entry that names a missing record
// stays until its ExpiresAt: it may be the hint of a Create or Rotate in
// flight, whose record is written next.
func (s *Store) List(ctx context.Context, subject string) ([]*storage.Record, error) {
	if subject == "" {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now()
	ik := s.indexKey(subject)
	ms, err := s.members(ctx, ik, now)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	vals := make([]string, len(ms))
	if s.cluster {
		cmds := make([]*redis.StringCmd, len(ms))
		_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, m := range ms {
				cmds[i] = p.Get(ctx, m.key)
			}
			return nil
		})
		if err != nil && err != redis.Nil {
			return nil, translate(err)
		}
		for i, c := range cmds {
			vals[i] = c.Val()
		}
	} else {
		keys := make([]string, len(ms))
		for i, m := range ms {
			keys[i] = m.key
		}
		got, err := s.c.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, translate(err)
		}
		for i, v := range got {
			vals[i], _ = v.(string)
		}
	}
	var out []*storage.Record
	var stale []any
	seen := make(map[storage.Hash]bool, len(ms))
	for i, v := range vals {
		m := ms[i]
		if seen[m.h] {
			continue
		}
		seen[m.h] = true
		if v == "" {
			if !s.cluster {
				stale = append(stale, m.key) // one node: no write is ever half done
			}
			continue
		}
		r, err := decode(m.h, []byte(v))
		if err != nil {
			return nil, err
		}
		if r.State != storage.StateLive || r.Subject != subject {
			stale = append(stale, m.key)
			continue
		}
		out = append(out, r)
	}
	if len(stale) > 0 {
		s.prune(ctx, ik, now, stale)
	}
	return out, nil
}

// DeleteSubject on one node is one script (one round trip) that reads the
// index and destroys every live record in it atomically. In a Cluster it
// reads the index (one round trip) and destroys each record with one script
// per record, pipelined (one round trip per node, in parallel). It follows
// rotated tombstones to their successors, and where an entry or a successor
// names a record that does not exist yet (a Create or Rotate in flight) it
// writes a destroyed tombstone there, so that the late write fails and the
// revocation is complete.
func (s *Store) DeleteSubject(ctx context.Context, subject, exceptID string) (int, error) {
	if subject == "" {
		return 0, nil
	}
	now := time.Now()
	ik := s.indexKey(subject)
	if !s.cluster {
		n, err := deleteSubjectScript.Run(ctx, s.c, []string{ik}, subject, exceptID, s.destroyedTail, now.UnixMilli()).Int()
		if err != nil {
			return 0, translate(err)
		}
		return n, nil
	}
	ms, err := s.members(ctx, ik, now)
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	cmds := make([]*redis.Cmd, len(ms))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range ms {
			ph := &storage.Record{Hash: m.h, Subject: subject, ExpiresAt: time.UnixMilli(m.expires).UTC()}
			cmds[i] = tombstoneScript.Eval(ctx, p, []string{m.key}, "\x01", s.destroyedTail, "", "", subjectArg(subject), exceptID,
				encode(ph, storage.StateDestroyed, placeholderVersion))
		}
		return nil
	})
	if err != nil && !isScriptReply(err) {
		return 0, translate(err)
	}
	n := 0
	var stale []any
	for i, m := range ms {
		done, err := s.destroyChain(ctx, m.h, "", subject, exceptID, cmds[i])
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
		if t, _ := parseTombstone(cmds[i]); t.code != 5 {
			stale = append(stale, m.key)
		}
	}
	s.prune(ctx, ik, now, stale)
	return n, nil
}

// isScriptReply reports whether a pipeline error is only a script's own
// reply (none of ours return errors), so not a transport failure.
func isScriptReply(err error) bool { return err == redis.Nil }

// DeleteExpired returns 0: Redis drops records and tombstones itself (PXAT
// at KeepUntil for a live record, at ExpiresAt for a tombstone).
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return 0, nil
}
