package redisstore

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/keycard-go/keycard"
)

// A record is kept in one Redis string, so that Get is one GET. The layout
// (big-endian) puts first what the Lua scripts read or keep when they turn a
// record into a tombstone, at fixed offsets (1-based, as Lua counts):
//
//	1      format (1)
//	2      state
//	3-10   version (uint64)
//	11-18  ExpiresAt (Unix µs, int64; zeroTime for the zero time)
//	19     kind
//	20-23  len(ID), then ID
//	       len(Subject) (uint32), then Subject
//	       --- the tail: everything a tombstone does not keep, plus
//	       CreatedAt, AuthenticatedAt, RenewedAt, LastSeenAt, IdleExpiresAt (int64 µs each)
//	       IdleTimeout (int64 ns), Persistent (1 byte)
//	       IP, UserAgent, Fingerprint (uint32 length + bytes each)
//	       Data, Meta (1 byte: 0 nil, 1 present; then uint32 length + bytes)
//	       Successor (32 bytes), GraceUntil (int64 µs)
//
// A script makes a tombstone from a stored record by keeping its head
// (through Subject), setting the state, incrementing the version and
// appending a tail that Go encoded from a record whose live fields are zero.
//
// Format 2 is format 1 followed by the value changes that the merge script
// applied without rewriting Data (see keycard.Merger):
//
//	count (uint32), then per change: key (uint32 length + bytes),
//	1 byte (0 delete, 1 set), and for a set the raw JSON value (uint32
//	length + bytes)
//
// decode folds them into Data with keycard.MergeData, the function the
// Manager itself merges with, so a merged record reads exactly as if the
// Manager had written it. Go always writes format 1.
const (
	format        = 1
	formatChanges = 2
)

// zeroTime encodes the zero time.Time.
const zeroTime = math.MinInt64

var errCorrupt = errors.New("redisstore: corrupt record")

func putTime(b []byte, t time.Time) []byte {
	n := int64(zeroTime)
	if !t.IsZero() {
		n = t.UnixMicro()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n)) //nolint:gosec // bit pattern
}

func putString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func putBytes(b []byte, v []byte) []byte {
	if v == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// encode returns the stored form of r with the given state and version.
func encode(r *keycard.Record, state keycard.State, version uint64) []byte {
	n := 19 + 4 + len(r.ID) + 4 + len(r.Subject) + 5*8 + 8 + 1 + 3*4 + len(r.IP) + len(r.UserAgent) +
		len(r.Fingerprint) + 2*5 + len(r.Data) + len(r.Meta) + 32 + 8
	b := make([]byte, 0, n)
	b = append(b, format, byte(state))
	b = binary.BigEndian.AppendUint64(b, version)
	b = putTime(b, r.ExpiresAt)
	b = append(b, byte(r.Kind))
	b = putString(b, r.ID)
	b = putString(b, r.Subject)
	return appendTail(b, r)
}

// appendTail appends the fields after Subject.
func appendTail(b []byte, r *keycard.Record) []byte {
	b = putTime(b, r.CreatedAt)
	b = putTime(b, r.AuthenticatedAt)
	b = putTime(b, r.RenewedAt)
	b = putTime(b, r.LastSeenAt)
	b = putTime(b, r.IdleExpiresAt)
	b = binary.BigEndian.AppendUint64(b, uint64(r.IdleTimeout))
	if r.Persistent {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = putString(b, r.IP)
	b = putString(b, r.UserAgent)
	b = putString(b, r.Fingerprint)
	b = putBytes(b, r.Data)
	b = putBytes(b, r.Meta)
	b = append(b, r.Successor[:]...)
	return putTime(b, r.GraceUntil)
}

// tombstoneTail is the tail of a tombstone with the given successor and grace.
func tombstoneTail(successor keycard.Hash, grace time.Time) []byte {
	return appendTail(nil, &keycard.Record{Successor: successor, GraceUntil: grace})
}

type reader struct {
	b   []byte
	err bool
}

func (d *reader) take(n int) []byte {
	if d.err || n < 0 || len(d.b) < n {
		d.err = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *reader) u8() byte {
	v := d.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (d *reader) u64() uint64 {
	v := d.take(8)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func (d *reader) time() time.Time {
	n := int64(d.u64()) //nolint:gosec // bit pattern
	if n == zeroTime || d.err {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

func (d *reader) str() string {
	v := d.take(4)
	if v == nil {
		return ""
	}
	return string(d.take(int(binary.BigEndian.Uint32(v))))
}

// flag reads a byte that must be 0 or 1.
func (d *reader) flag() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.err = true
	return false
}

func (d *reader) bytes() []byte {
	if !d.flag() {
		return nil
	}
	v := d.take(4)
	if v == nil {
		return nil
	}
	return append([]byte{}, d.take(int(binary.BigEndian.Uint32(v)))...)
}

// decode parses a stored record; h is the hash it is stored under.
func decode(h keycard.Hash, b []byte) (*keycard.Record, error) {
	d := reader{b: b}
	f := d.u8()
	if f != format && f != formatChanges {
		return nil, errCorrupt
	}
	r := &keycard.Record{Hash: h}
	r.State = keycard.State(d.u8())
	r.Version = d.u64()
	r.ExpiresAt = d.time()
	r.Kind = keycard.Kind(d.u8())
	r.ID = d.str()
	r.Subject = d.str()
	r.CreatedAt = d.time()
	r.AuthenticatedAt = d.time()
	r.RenewedAt = d.time()
	r.LastSeenAt = d.time()
	r.IdleExpiresAt = d.time()
	r.IdleTimeout = time.Duration(d.u64()) //nolint:gosec // bit pattern
	r.Persistent = d.flag()
	r.IP = d.str()
	r.UserAgent = d.str()
	r.Fingerprint = d.str()
	r.Data = d.bytes()
	r.Meta = d.bytes()
	copy(r.Successor[:], d.take(32))
	r.GraceUntil = d.time()
	if f == formatChanges {
		r.Data = keycard.MergeData(r.Data, d.changes())
	}
	if d.err || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return r, nil
}

// changes reads the value changes of a format 2 record.
func (d *reader) changes() []keycard.Change {
	n := d.take(4)
	if n == nil {
		return nil
	}
	count := binary.BigEndian.Uint32(n)
	if uint64(count)*5 > uint64(len(d.b)) { // each change takes 5 bytes at least
		d.err = true
		return nil
	}
	cs := make([]keycard.Change, 0, count)
	for range count {
		c := keycard.Change{Key: d.str()}
		if d.flag() {
			v := d.take(4)
			if v == nil {
				return nil
			}
			c.Value = d.take(int(binary.BigEndian.Uint32(v)))
			if c.Value == nil {
				return nil
			}
		}
		if d.err {
			return nil
		}
		cs = append(cs, c)
	}
	return cs
}

// pxat returns the expiry of a key in Unix milliseconds for SET ... PXAT,
// rounded up so that a key never goes before t; 0 means no expiry.
func pxat(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	ms := t.UnixMilli()
	if t.UnixMicro()%1000 != 0 {
		ms++
	}
	if ms <= 0 {
		return 1 // already past: expire at once
	}
	return ms
}
