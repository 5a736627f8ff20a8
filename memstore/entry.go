package memstore

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/keycard-go/keycard"
)

// entry is the compact form of a keycard.Record kept in a shard's slab. Times
// are microseconds since the Unix epoch; the subject, data and meta share one
// string; fields that most sessions leave empty live behind ext.
//
// id is read without the shard's lock by ID-index lookups (see idShard), so
// it is written only while the entry is not in the ID index: when the slot is
// filled and when it is freed. Every other field is guarded by the shard lock.
type entry struct {
	hash keycard.Hash
	id   [16]byte // the decoded ID when it is canonical base64url of 16 bytes

	created, authed, renewed, lastSeen, idleExp, exp int64
	idleTimeout                                      int64
	version                                          uint64

	str              string // subject + data + meta
	ext              *extra
	subjLen, dataLen uint32
	prev, next       uint32 // the subject's chain in this shard: local index+1, 0 for none
	filed            int32  // the expiry bucket this entry is filed under

	kind  keycard.Kind
	state keycard.State
	flags uint8
}

const (
	flagUsed       = 1 << iota // the slot holds a record or tombstone
	flagPersistent             // Record.Persistent
	flagOddID                  // the ID is not canonical: it is in ext.id
	flagMeta                   // Meta was not nil
	flagData                   // Data was not nil
)

// extra holds the fields that are empty for most sessions.
type extra struct {
	id          string // a non-canonical ID
	ip, ua, fp  string
	successor   keycard.Hash
	graceUntil  int64
	hasRotation bool
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

func (e *entry) subject() string { return e.str[:e.subjLen] }

func (e *entry) idString() string {
	if e.flags&flagOddID != 0 {
		return e.ext.id
	}
	return base64.RawURLEncoding.EncodeToString(e.id[:])
}

// deadline is Record.KeepUntil in microseconds.
func (e *entry) deadline() int64 {
	if e.state == keycard.StateLive && e.idleExp != zeroMicro && e.idleExp < e.exp {
		return e.idleExp
	}
	return e.exp
}

// fill writes every field of r except Hash, ID and Subject into e, keeping
// subject as e's subject. It never touches e.id.
func (e *entry) fill(r *keycard.Record, subject string, oddID string) {
	e.created = toMicro(r.CreatedAt)
	e.authed = toMicro(r.AuthenticatedAt)
	e.renewed = toMicro(r.RenewedAt)
	e.lastSeen = toMicro(r.LastSeenAt)
	e.idleExp = toMicro(r.IdleExpiresAt)
	e.exp = toMicro(r.ExpiresAt)
	e.idleTimeout = int64(r.IdleTimeout)
	e.kind = r.Kind
	e.state = keycard.StateLive
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

	var b strings.Builder
	b.Grow(len(subject) + len(r.Data) + len(r.Meta))
	b.WriteString(subject)
	b.Write(r.Data)
	b.Write(r.Meta)
	e.str = b.String()
	e.subjLen = uint32(len(subject))
	e.dataLen = uint32(len(r.Data))

	if flags&flagOddID == 0 && r.IP == "" && r.UserAgent == "" && r.Fingerprint == "" {
		e.ext = nil
		return
	}
	if x := e.ext; x != nil && x.id == oddID && x.ip == r.IP && x.ua == r.UserAgent && x.fp == r.Fingerprint {
		return // unchanged: keep sharing it
	}
	e.ext = &extra{
		id: oddID,
		ip: strings.Clone(r.IP),
		ua: strings.Clone(r.UserAgent),
		fp: strings.Clone(r.Fingerprint),
	}
}

// bury turns a live e into a tombstone in the given state, dropping the
// fields a tombstone does not carry.
func (e *entry) bury(state keycard.State, successor keycard.Hash, graceUntil time.Time) {
	e.state = state
	e.created, e.authed, e.renewed, e.lastSeen, e.idleExp = zeroMicro, zeroMicro, zeroMicro, zeroMicro, zeroMicro
	e.idleTimeout = 0
	e.flags &= flagUsed | flagOddID
	if len(e.str) != int(e.subjLen) {
		e.str = strings.Clone(e.subject())
	}
	e.dataLen = 0
	odd := e.flags&flagOddID != 0
	var oddID string
	if odd {
		oddID = e.ext.id
	}
	e.ext = nil
	if odd || state == keycard.StateRotated {
		e.ext = &extra{id: oddID}
		if state == keycard.StateRotated {
			e.ext.successor = successor
			e.ext.graceUntil = toMicro(graceUntil)
			e.ext.hasRotation = true
		}
	}
}

// record returns a fresh keycard.Record holding what e holds.
func (e *entry) record() *keycard.Record {
	r := &keycard.Record{
		Hash:            e.hash,
		ID:              e.idString(),
		Subject:         e.subject(),
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
	rest := e.str[e.subjLen:]
	if e.flags&flagData != 0 || e.dataLen > 0 {
		r.Data = []byte(rest[:e.dataLen])
	}
	if meta := rest[e.dataLen:]; e.flags&flagMeta != 0 || meta != "" {
		r.Meta = []byte(meta)
	}
	if x := e.ext; x != nil {
		r.IP, r.UserAgent, r.Fingerprint = x.ip, x.ua, x.fp
		if x.hasRotation {
			r.Successor = x.successor
			r.GraceUntil = fromMicro(x.graceUntil)
		}
	}
	return r
}
