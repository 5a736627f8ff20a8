package memstore

import (
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/storage"
)

// entry is the compact form of a storage.Record kept in a shard's slab. Times
// are microseconds since the Unix epoch. The variable-length fields live in
// one blob in the shard's arena: subject, data and meta, then, only when one
// of them is set, the fields most sessions leave empty (see rare). An entry
// holds no pointers, so the garbage collector never looks inside the slab.
//
// id is read without the shard's lock by ID-index lookups (see idShard), so
// it is written only while the entry is not in the ID index: when the slot is
// filled and when it is freed. Every other field is guarded by the shard lock.
type entry struct {
	hash storage.Hash
	id   [16]byte // the decoded ID when it is canonical base64url of 16 bytes

	created, authed, renewed, lastSeen, idleExp, exp int64
	idleTimeout                                      int64
	version                                          uint64

	blob                               uint32 // arena reference, 0 when all are empty
	subjLen, dataLen, metaLen, rareLen uint32
	prev, next                         uint32 // the subject's chain in this shard: local index+1, 0 for none
	filed                              int32  // the expiry bucket this entry is filed under

	kind  storage.Kind
	state storage.State
	flags uint8
}

const (
	flagUsed       = 1 << iota // the slot holds a record or tombstone
	flagPersistent             // Record.Persistent
	flagOddID                  // the ID is not canonical: it is in the rare fields
	flagMeta                   // Meta was not nil
	flagData                   // Data was not nil
)

// rare is the fields that most sessions leave empty. In a blob they follow
// meta as the successor hash, the grace deadline, the lengths of the ID, IP
// address and user agent (4 bytes each, little-endian) and then the four
// strings; the fingerprint takes the rest.
type rare[T string | []byte] struct {
	id, ip, ua, fp T
	successor      storage.Hash
	graceUntil     int64
	rotated        bool // keep the section for the rotation fields alone
}

const rareHeader = len(storage.Hash{}) + 8 + 3*4

func (x *rare[T]) empty() bool {
	return len(x.id) == 0 && len(x.ip) == 0 && len(x.ua) == 0 && len(x.fp) == 0 && !x.rotated
}

func (x *rare[T]) size() int {
	if x.empty() {
		return 0
	}
	return rareHeader + len(x.id) + len(x.ip) + len(x.ua) + len(x.fp)
}

func (x *rare[T]) put(b []byte) {
	n := copy(b, x.successor[:])
	binary.LittleEndian.PutUint64(b[n:], uint64(x.graceUntil))
	n += 8
	for _, s := range [...]T{x.id, x.ip, x.ua} {
		binary.LittleEndian.PutUint32(b[n:], uint32(len(s)))
		n += 4
	}
	for _, s := range [...]T{x.id, x.ip, x.ua, x.fp} {
		n += copy(b[n:], s)
	}
}

// readRare returns the rare fields in b, as written by put; they alias b.
func readRare(b []byte) (x rare[[]byte]) {
	if len(b) == 0 {
		return x
	}
	n := copy(x.successor[:], b)
	x.graceUntil = int64(binary.LittleEndian.Uint64(b[n:]))
	n += 8
	var lens [3]uint32
	for i := range lens {
		lens[i] = binary.LittleEndian.Uint32(b[n:])
		n += 4
	}
	b = b[n:]
	x.id, b = b[:lens[0]], b[lens[0]:]
	x.ip, b = b[:lens[1]], b[lens[1]:]
	x.ua, x.fp = b[:lens[2]], b[lens[2]:]
	return x
}

var strictID = base64.RawURLEncoding.Strict()

// zeroMicro encodes the zero time.Time.
var zeroMicro = time.Time{}.UnixMicro()

func toMicro(t time.Time) int64 { return t.UnixMicro() }

func fromMicro(us int64) time.Time {
	if us == zeroMicro {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// parseID returns the 16 bytes that id encodes when id is exactly the
// canonical unpadded base64url encoding of 16 bytes.
func parseID(id string) (b [16]byte, ok bool) {
	if len(id) != 22 {
		return b, false
	}
	n, err := strictID.Decode(b[:], []byte(id))
	if err != nil || n != 16 {
		return b, false
	}
	// The decoder skips CR and LF; only an exact re-encoding is canonical.
	var enc [22]byte
	base64.RawURLEncoding.Encode(enc[:], b[:])
	return b, string(enc[:]) == id
}

// canonicalID returns the ID of an entry without flagOddID.
func (e *entry) canonicalID() string { return base64.RawURLEncoding.EncodeToString(e.id[:]) }

// deadline is Record.KeepUntil in microseconds.
func (e *entry) deadline() int64 {
	if e.state == storage.StateLive && e.idleExp != zeroMicro && e.idleExp < e.exp {
		return e.idleExp
	}
	return e.exp
}

// blobOf returns e's blob.
func (sh *shard) blobOf(e *entry) []byte {
	return sh.arena.bytes(e.blob, int(e.subjLen+e.dataLen+e.metaLen+e.rareLen))
}

func (sh *shard) subject(e *entry) []byte { return sh.blobOf(e)[:e.subjLen] }

func (sh *shard) rareOf(e *entry) rare[[]byte] {
	return readRare(sh.blobOf(e)[e.subjLen+e.dataLen+e.metaLen:])
}

// oddID returns the ID of an entry with flagOddID.
func (sh *shard) oddID(e *entry) []byte { return sh.rareOf(e).id }

// setBlob replaces e's blob with subject, data, meta and x, and frees the old
// one only then: subject and x may alias it.
func setBlob[T string | []byte](sh *shard, e *entry, subject T, data, meta []byte, x *rare[T]) {
	rl := x.size()
	ref, b := sh.arena.alloc(len(subject) + len(data) + len(meta) + rl)
	n := copy(b, subject)
	n += copy(b[n:], data)
	n += copy(b[n:], meta)
	if rl > 0 {
		x.put(b[n:])
	}
	sh.arena.free(e.blob)
	e.blob = ref
	e.subjLen, e.dataLen, e.metaLen, e.rareLen = uint32(len(subject)), uint32(len(data)), uint32(len(meta)), uint32(rl)
}

// fillEntry writes every field of r except Hash, ID and Subject into e, which gets
// subject and, when it has flagOddID, the ID oddID. It never touches e.id.
func fillEntry[T string | []byte](sh *shard, e *entry, r *storage.Record, subject, oddID T) {
	e.created = toMicro(r.CreatedAt)
	e.authed = toMicro(r.AuthenticatedAt)
	e.renewed = toMicro(r.RenewedAt)
	e.lastSeen = toMicro(r.LastSeenAt)
	e.idleExp = toMicro(r.IdleExpiresAt)
	e.exp = toMicro(r.ExpiresAt)
	e.idleTimeout = int64(r.IdleTimeout)
	e.kind = r.Kind
	e.state = storage.StateLive
	flags := uint8(flagUsed) | e.flags&flagOddID
	if r.Persistent {
		flags |= flagPersistent
	}
	if r.Data != nil {
		flags |= flagData
	}
	if r.Meta != nil {
		flags |= flagMeta
	}
	e.flags = flags
	x := rare[T]{id: oddID}
	if r.IP != "" || r.UserAgent != "" || r.Fingerprint != "" {
		x.ip, x.ua, x.fp = T(r.IP), T(r.UserAgent), T(r.Fingerprint)
	}
	setBlob(sh, e, subject, r.Data, r.Meta, &x)
}

// refill is fillEntry for an entry that keeps its subject and ID.
func (sh *shard) refill(e *entry, r *storage.Record) {
	fillEntry(sh, e, r, sh.subject(e), sh.oddID(e))
}

// bury turns a live e into a tombstone in the given state, dropping the
// fields a tombstone does not carry.
func (sh *shard) bury(e *entry, state storage.State, successor storage.Hash, graceUntil time.Time) {
	e.state = state
	e.created, e.authed, e.renewed, e.lastSeen, e.idleExp = zeroMicro, zeroMicro, zeroMicro, zeroMicro, zeroMicro
	e.idleTimeout = 0
	e.flags &= flagUsed | flagOddID
	x := rare[[]byte]{id: sh.oddID(e)}
	if state == storage.StateRotated {
		x.successor, x.graceUntil, x.rotated = successor, toMicro(graceUntil), true
	}
	setBlob(sh, e, sh.subject(e), nil, nil, &x)
}

// record returns a fresh storage.Record holding what e holds. It reads the
// arena, so the shard lock must be held.
func (sh *shard) record(e *entry) *storage.Record {
	r := &storage.Record{
		Hash:            e.hash,
		Kind:            e.kind,
		State:           e.state,
		CreatedAt:       fromMicro(e.created),
		AuthenticatedAt: fromMicro(e.authed),
		RenewedAt:       fromMicro(e.renewed),
		LastSeenAt:      fromMicro(e.lastSeen),
		IdleExpiresAt:   fromMicro(e.idleExp),
		ExpiresAt:       fromMicro(e.exp),
		IdleTimeout:     time.Duration(e.idleTimeout),
		Persistent:      e.flags&flagPersistent != 0,
		Version:         e.version,
	}
	b := sh.blobOf(e)
	if b == nil {
		b = []byte{} // so that a Data or Meta set but empty slices to empty, not nil
	}
	x := readRare(b[e.subjLen+e.dataLen+e.metaLen:])
	id := x.id
	if e.flags&flagOddID == 0 {
		var canonical [22]byte
		base64.RawURLEncoding.Encode(canonical[:], e.id[:])
		id = canonical[:]
	}
	binrec.SetStrings(r, id, b[:e.subjLen], x.ip, x.ua, x.fp)
	rest := b[e.subjLen:]
	var data, meta []byte
	if e.flags&flagData != 0 || e.dataLen > 0 {
		data = rest[:e.dataLen]
	}
	if e.flags&flagMeta != 0 || e.metaLen > 0 {
		meta = rest[e.dataLen : e.dataLen+e.metaLen]
	}
	binrec.SetDataMeta(r, data, meta)
	if e.state == storage.StateRotated && e.rareLen > 0 {
		r.Successor = x.successor
		r.GraceUntil = fromMicro(x.graceUntil)
	}
	return r
}
