package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/storage"
)

// Merge implements storage.Merger in one statement (one round trip): an
// UPDATE of the live row of kind m.Kind whose deadlines are both after
// m.Now, which records the activity in the live column, moves the row's
// deadline, increments the version and appends m.Changes to the row's
// pending changes, RETURNING the row.
//
// Data stays byte-exact because SQL never touches it. The stored data
// column is what the last whole write (Create, Update, Rotate) stored, and
// pending_keys and pending_values are the changes merged since, in order
// (pending_values[i] NULL deletes pending_keys[i]); every read, this one
// included, folds them into Data with storage.MergeData, the Manager's own
// merge, so a merged record reads exactly as one the Manager wrote. Every
// whole write stores the folded data and clears them; a merge first drops
// the pending changes of the keys it changes, so at most one pending change
// per key is kept (plus any repeats within the latest merge of that key)
// however many merges come in between.
//
// A merge whose idle timeout (the record's own, else m.IdleTimeout) is
// 2^53 µs (285 years) or longer is declined, as redisstore declines what
// its Lua numbers cannot hold: the deadline would not be exact in
// PostgreSQL's interval arithmetic. The Manager then takes its usual read
// and compare-and-swap path.
func (s *Store) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	keys := make([][]byte, len(m.Changes))
	values := make([][]byte, len(m.Changes))
	for i, c := range m.Changes {
		keys[i], values[i] = str(c.Key), c.Value // a nil Value is NULL: delete
	}
	return s.getOne(ctx, s.sqlMerge, h[:], int16(m.Kind), ts(m.Now), m.Now.UnixMicro(), floorMicros(m.IdleTimeout), keys, values)
}

// floorMicros returns d in whole microseconds rounded down, as
// time.Time.UnixMicro rounds a time that d moved.
func floorMicros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if d%time.Microsecond < 0 {
		us--
	}
	return us
}

// maxIdleMicros bounds the idle timeouts Merge applies: below 2^53, an
// integer number of microseconds times interval '1 microsecond' is exact.
const maxIdleMicros = 1 << 53

// liveInt is the SQL for the big-endian int64 at the 1-based offset pos of
// the live column (internal/binrec/live.go). It never fails: the padding
// turns a column too short (which Merge's WHERE refuses) into a number
// rather than an error, whatever order PostgreSQL evaluates the WHERE in.
func liveInt(pos int) string {
	return `('x' || lpad(encode(substring(live FROM ` + strconv.Itoa(pos) + ` FOR 8), 'hex'), 16, '0'))::bit(64)::bigint`
}

// mergeSQL returns Merge's statement on table t. Parameters: $1 hash, $2
// kind, $3 m.Now, $4 m.Now in Unix µs, $5 m.IdleTimeout in µs, $6 the
// changed keys, $7 their values (NULL: delete).
//
// In the live column (format 1, at least its 50 bytes of fixed fields)
// LastSeenAt is bytes 26-33, IdleExpiresAt 34-41 and IdleTimeout (ns)
// 42-49. All arithmetic on times is in integer microseconds, which
// timestamptz holds exactly: the absolute deadline in µs is computed from
// whole seconds plus the microseconds field (as migration 2 does, exact on
// every PostgreSQL version), and the new deadline column is m.Now plus an
// interval of whole microseconds, or expires_at. In every expression
// PostgreSQL evaluates the SET against the row it locked: a merge that
// waited for a concurrent write re-evaluates on the row that write left.
func mergeSQL(t string) string {
	idleTimeoutNS := liveInt(42)
	idle := `(CASE WHEN ` + idleTimeoutNS + ` > 0 THEN ` + idleTimeoutNS + ` / 1000 ELSE $5::bigint END)`
	until := `($4::bigint + ` + idle + `)`
	expires := `(extract(epoch FROM date_trunc('second', expires_at))::bigint * 1000000
		+ extract(microseconds FROM expires_at)::bigint % 1000000)`
	// The pending changes of keys this merge does not change, in order.
	kept := func(col string) string {
		return `coalesce((SELECT array_agg(p.` + col + ` ORDER BY p.i) FROM unnest(pending_keys, pending_values)
			WITH ORDINALITY AS p(k, v, i) WHERE p.k <> ALL ($6::bytea[])), '{}')`
	}
	return `UPDATE ` + t + ` SET
		live = overlay(live PLACING int8send($4::bigint) || int8send(least(` + until + `, ` + expires + `)) FROM 26 FOR 16),
		deadline = CASE WHEN ` + until + ` < ` + expires + ` THEN $3::timestamptz + interval '1 microsecond' * ` + idle + `
			ELSE expires_at END,
		version = version + 1,
		pending_keys = ` + kept("k") + ` || $6::bytea[],
		pending_values = ` + kept("v") + ` || $7::bytea[]
	WHERE hash = $1 AND state = 0 AND kind = $2 AND expires_at > $3
		AND length(live) >= 50 AND substring(live FROM 1 FOR 1) = '\x01'::bytea
		AND ` + liveInt(34) + ` > $4::bigint AND ` + idle + ` < ` + strconv.Itoa(maxIdleMicros) + `
	RETURNING ` + readColumns
}

// foldPending sets r.Data to the stored data with the pending changes
// applied in order, as Merge promises: keys and values are the pending
// columns in PostgreSQL's binary array format (what array_send returns);
// keys[i] is set to values[i], or deleted when that is NULL. NULL columns
// (both nil) mean no merge since the last whole write. The changes alias
// keys and values, which storage.MergeData copies.
func foldPending(r *storage.Record, keys, values []byte) error {
	kd, vd := binrec.NewReader(keys), binrec.NewReader(values)
	n, nv := arrayLen(&kd), arrayLen(&vd)
	if keys == nil || values == nil || n != nv {
		return fmt.Errorf("%w (pending changes: %d keys, %d values)", errCorrupt, n, nv)
	}
	cs := make([]storage.Change, n)
	for i := range cs {
		k, ok := arrayElem(&kd)
		if !ok {
			kd.Fail("NULL key")
		}
		cs[i].Key = string(k)
		if v, ok := arrayElem(&vd); ok {
			cs[i].Value = v
		}
	}
	for _, d := range []*binrec.Reader{&kd, &vd} {
		if d.Err() == "" && d.Len() != 0 {
			d.Fail("trailing bytes")
		}
		if d.Err() != "" {
			return fmt.Errorf("%w (pending changes: %s)", errCorrupt, d.Err())
		}
	}
	r.Data = storage.MergeData(r.Data, cs)
	return nil
}

// byteaOID is the type of the pending arrays' elements.
const byteaOID = 17

// arrayLen reads the header of a one-dimensional bytea array in
// PostgreSQL's binary format (dimensions, a has-NULL flag, the element
// type, then the length and lower bound of each dimension) and returns its
// number of elements; an empty array has no dimensions.
func arrayLen(d *binrec.Reader) int {
	dims := d.U32()
	d.U32() // has NULLs
	if d.U32() != byteaOID || dims > 1 {
		d.Fail("not a one-dimensional bytea array")
	}
	if dims == 0 {
		return 0
	}
	n := d.U32()
	d.U32()                            // lower bound
	if uint64(n)*4 > uint64(d.Len()) { // every element takes 4 bytes at least
		d.Fail("array length beyond the column")
		return 0
	}
	return int(n)
}

// arrayElem reads the next element of a binary array: its length (-1 for
// NULL) and bytes, which alias the input. ok is false for NULL.
func arrayElem(d *binrec.Reader) (b []byte, ok bool) {
	n := d.U32()
	if n == 0xFFFFFFFF {
		return nil, false
	}
	return d.Take(uint64(n)), true
}
