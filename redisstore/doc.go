// Package redisstore is a storage.Store in Redis, on the go-redis v9
// UniversalClient: standalone, Sentinel (a failover client) or Cluster.
//
//	store, err := redisstore.Open("redis://127.0.0.1:6379/0")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.Close()
//	m, err := keycard.New(store, nil)
//
// Several Keycard processes that share one Redis are one deployment: a
// session created on one is valid on all, and a revocation on one takes
// effect on all at once, since every read goes to Redis.
//
// # URL forms
//
// [Open] takes
//
//	redis://[user:password@]host:6379[/db][?option=value...]     standalone
//	rediss://...                                                 standalone over TLS
//	redis://host1:7000,host2:7001,host3:7002                     Cluster
//	redis://host1:7000?addr=host2:7001&addr=host3:7002           Cluster
//	redis://s1:26379,s2:26379?master_name=mymaster               Sentinel
//
// with go-redis's query options (dial_timeout, read_timeout, pool_size, ...).
// Open turns on ContextTimeoutEnabled so that a context deadline interrupts a
// call waiting for the server; set it yourself on a client passed to [New].
//
// # Keys
//
// With the default prefix "keycard:" a session uses three keys; the part in
// braces is the Cluster hash tag, so each key's slot depends on one thing:
//
//	keycard:r:{<token hash, hex>}   the record (or tombstone), one string
//	keycard:i:{<ID>}                the ID key: the name of the ID's current record key
//	keycard:s:{<SHA-1 of subject>}  the subject index: a sorted set of record
//	                                key names, scored by their ExpiresAt
//
// A record is one binary value (see codec.go), so that Get is one GET.
// Expiry is Redis's own: a live record expires (PXAT) at its KeepUntil, a
// tombstone and the ID key at ExpiresAt, an index at its latest member's
// ExpiresAt. DeleteExpired therefore returns 0, and there is no background
// sweep and no SweepInterval option (memstore, sqlitestore and pgstore
// sweep every minute by default): an option here would have nothing to
// tune. Redis drops an expired key when it is read or when its own
// sampling finds it. The index and the ID key are
// kept up to date eagerly where the keys share a node and pruned lazily
// everywhere: List and DeleteSubject check every record they read (live, same
// subject) and remove entries that name a tombstone or another subject's
// record, and entries whose ExpiresAt passed. Nothing ever runs KEYS
// or SCAN: listing and revoking cost O(that subject's sessions).
//
// # Revocation state of sealed sessions
//
// The Store implements storage.RevocationWatcher. Deny entries and
// generations are keys of their own (rv, see revocations.go), never
// sessions, and expire by PXAT at their until, keeping the later of two;
// DenyID and RevokeSubject are each one script that writes the entry and
// PUBLISHes the change on the channel keycard:rv{keycard:}, so a message is
// sent only for a write that happened. In a Cluster all of them share one
// hash tag and so one slot, the channel's: the scripts run on the node a
// watcher is subscribed to, and a message does not cross the cluster bus,
// which delays a share of the messages it relays by tens of milliseconds
// (docs/stores.md has the figures). One node of a Cluster therefore keeps
// and serves the whole revocation state. A watcher (WatchRevocations)
// holds one pub/sub connection, reports RevocationsDown when the
// connection breaks or a keep-alive ping goes unanswered for 3 s, and
// subscribes again with a backoff of 50 ms to 1 s; Redis keeps no messages
// for a subscriber that is away, which is what the Down is for.
//
// # Atomicity
//
// On one node (standalone or Sentinel) every write is one Lua script, so it is
// atomic: Create writes the record, the ID key and the index entry together;
// Rotate checks the version, writes the tombstone, the successor, the ID key
// and the index entry together; DeleteSubject reads the index and destroys
// every live record in it in one script (these scripts read keys they cannot
// declare in advance, which Redis allows outside Cluster mode).
//
// In a Cluster the record, the ID key and the index of one session live in
// different slots in general, and a script may only touch one slot. What is
// atomic there: Get, Update (compare-and-swap of the record), Delete, the
// compare-and-swap that turns Rotate's old record into a tombstone, and the
// claim of an ID key. What is not, and the order that keeps it safe:
//
//   - Create: (1) add the index entry (a hint) and read the ID key; (2) claim
//     the ID key with a compare-and-swap on what step 1 read; (3) write the
//     record with NX. A crash after 1 or 2 leaves a hint that names no record
//     (pruned by List) and an ID key that names a missing record; such an ID
//     counts as taken until the key expires (IDs are 128 random bits, so no
//     one else wants it). Two Creates of one ID or one hash: exactly one wins.
//   - Rotate: (1) add next's index entry and check that next's hash is free;
//     (2) compare-and-swap the old record into a rotated tombstone; (3) write
//     next with NX and then (4) point the ID key at it. A crash before 2
//     changes nothing; between 2 and 3 the session is logged out (the old
//     token is a tombstone whose successor does not exist); between 3 and 4
//     the ID key still names the old record, and GetByID and DeleteByID
//     follow the tombstone's Successor. Steps 3 and 4 are two round trips,
//     not one pipeline: the keys are on different nodes in general, and a
//     pipeline may deliver the ID key's move first, so that a DeleteByID
//     reading it in between would find no record under next's hash, end
//     nothing, and leave next to be written live after the logout. There is
//     never a moment with two live records for one ID, the ID key never
//     names a record not written yet, and a revoked record never comes back.
//   - DeleteByID and DeleteSubject destroy each record with a one-slot script.
//     When they meet a rotated tombstone they follow its Successor; when the
//     successor does not exist yet (a Rotate between its steps 2 and 3) they
//     write a destroyed tombstone in its place, so that the Rotate's NX write
//     fails and the session stays revoked. DeleteSubject does the same for an
//     index entry whose record does not exist yet (a Create between its steps
//     1 and 3), so that a session being created while the subject is signed
//     out everywhere does not survive it; and List never prunes such entries
//     (they go when their ExpiresAt passes).
//   - So a Rotate racing a DeleteSubject of its subject, or a DeleteByID of
//     its ID, either fails (its compare-and-swap finds a tombstone, or its
//     successor's hash taken by a placeholder: ErrNotFound) or has its
//     successor destroyed, as the Store contract asks. Only a Create whose index entry is added after
//     DeleteSubject read the index lives: it is a login after the revocation.
//   - Rotate compares the stored record's version and subject with old's.
//
// # Round trips
//
//	                 one node          Cluster
//	Get              1 (GET)           1 (GET)
//	GetByID          1 (script)        2, +1 per rotated tombstone followed
//	Create           1 (script)        3 (+1 when the ID key exists)
//	Update           1 (script)        1 (script)
//	Merge            1 (script)        1 (script)
//	Rotate           1 (script)        4 (the first pipelined over two nodes)
//	Delete           1 (script)        1 (script)
//	DeleteByID       2                 2, +1 per tombstone followed
//	List             2 (ZRANGE, MGET)  2 (ZRANGE, GETs pipelined per node)
//	DeleteSubject    1 (script)        2 (ZRANGE, scripts pipelined per node)
//	DeleteExpired    0                 0
//	DenyID           1 (script)        1 (script)
//	RevokeSubject    1 (script)        1 (script)
//	Revocation       1 (pipeline)      1 (pipeline, one node)
//
// Merge (storage.Merger) is what makes a request that writes values
// without reading its session one round trip: the script checks that the
// record is live, of the right kind and within both deadlines, appends the
// changes to the record (format 2 in codec.go: the changes follow the
// record, replacing earlier changes of the same keys), moves the idle
// deadline and the key's expiry, increments the version and returns the
// record. The script never parses JSON: Redis's cjson would turn integers
// beyond 2^53 into floats and reorder members. Get folds the changes into
// Data with storage.MergeData, the Manager's own merge, so a merged record
// reads exactly as one the Manager wrote; every other write stores the
// folded form again. A record therefore carries at most one pending change
// per key.
//
// Scripts run with EVALSHA; after a server restart the first call of each
// script costs one more round trip (EVAL). List and DeleteSubject add one
// when they prune stale index entries.
//
// # Choosing a store
//
// Use redisstore when several Keycard processes serve one site and Redis is
// already there: a read is one GET (measured within a few percent of a raw
// GET) and a write one script, also when the request did not read first. Run Redis with persistence (appendonly yes):
// a Redis that restarts empty logs every user out. Nobody is let in by it,
// since a lost tombstone goes with its lost record. Use sqlitestore for a
// single process and pgstore when PostgreSQL is the database you already
// run and back up.
//
// The issue allowed github.com/redis/rueidis instead of go-redis. go-redis is
// kept: with scripts, every operation already costs the minimum of round
// trips, and rueidis's server-assisted client-side caching would be invalidated
// asynchronously, so a node could briefly serve a session that another node
// just revoked. rueidis was not measured.
package redisstore
