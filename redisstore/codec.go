package redisstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/storage"
)

// A record is kept in one Redis string, so that Get is one GET. The layout
// (big-endian) puts first what the Lua scripts read or keep when they turn a
// record into a tombstone, at fixed offsets (1-based, as Lua counts):
//
//	1      format (1)
//	2      state
//	3-10   version (uint64)
//	11-18  ExpiresAt (Unix µs, int64; binrec.ZeroTime for the zero time)
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
// applied without rewriting Data (see storage.Merger):
//
//	count (uint32), then per change: key (uint32 length + bytes),
//	1 byte (0 delete, 1 set), and for a set the raw JSON value (uint32
//	length + bytes)
//
// decode folds them into Data with storage.MergeData, the function the
// Manager itself merges with, so a merged record reads exactly as if the
// Manager had written it. Go always writes format 1.
const (
	format        = 1
	formatChanges = 2
)

var errCorrupt = errors.New("redisstore: corrupt record")

// encode returns the stored form of r with the given state and version.
func encode(r *storage.Record, state storage.State, version uint64) []byte {
	n := 19 + 4 + len(r.ID) + 4 + len(r.Subject) + 5*8 + 8 + 1 + 3*4 + len(r.IP) + len(r.UserAgent) +
		len(r.Fingerprint) + 2*5 + len(r.Data) + len(r.Meta) + 32 + 8
	b := make([]byte, 0, n)
	b = append(b, format, byte(state))
	b = binary.BigEndian.AppendUint64(b, version)
	b = binrec.AppendTime(b, r.ExpiresAt)
	b = append(b, byte(r.Kind))
	b = binrec.AppendString(b, r.ID)
	b = binrec.AppendString(b, r.Subject)
	return appendTail(b, r)
}

// appendTail appends the fields after Subject.
func appendTail(b []byte, r *storage.Record) []byte {
	b = binrec.AppendLive(b, r)
	b = binrec.AppendBytes(b, r.Data)
	b = binrec.AppendBytes(b, r.Meta)
	b = append(b, r.Successor[:]...)
	return binrec.AppendTime(b, r.GraceUntil)
}

// tombstoneTail is the tail of a tombstone with the given successor and grace.
func tombstoneTail(successor storage.Hash, grace time.Time) []byte {
	return appendTail(nil, &storage.Record{Successor: successor, GraceUntil: grace})
}

// decode parses a stored record; h is the hash it is stored under. It takes
// b over: the record's Data and Meta are slices of it (each capped, so an
// append to one reallocates instead of writing over the other), and its
// strings share one copy.
func decode(h storage.Hash, b []byte) (*storage.Record, error) {
	d := binrec.NewReader(b)
	f := d.U8()
	if f != format && f != formatChanges {
		return nil, errCorrupt
	}
	r := &storage.Record{Hash: h}
	r.State = storage.State(d.U8())
	r.Version = d.U64()
	r.ExpiresAt = d.Time()
	r.Kind = storage.Kind(d.U8())
	id, subject := d.Raw(), d.Raw()
	ip, ua, fp := d.Live(r)
	r.Data, r.Meta = d.RawBytes(), d.RawBytes()
	copy(r.Successor[:], d.Take(32))
	r.GraceUntil = d.Time()
	if f == formatChanges {
		r.Data = storage.MergeData(r.Data, changesOf(&d))
	}
	if d.Err() != "" || d.Len() != 0 {
		return nil, errCorrupt
	}
	binrec.SetStrings(r, id, subject, ip, ua, fp)
	return r, nil
}

// changesOf reads the value changes of a format 2 record.
func changesOf(d *binrec.Reader) []storage.Change {
	count := d.U32()
	if uint64(count)*5 > uint64(d.Len()) { // each change takes 5 bytes at least
		d.Fail("change count beyond the record")
		return nil
	}
	cs := make([]storage.Change, 0, count)
	for range count {
		c := storage.Change{Key: d.Str()}
		if d.Flag() {
			c.Value = d.Raw()
		}
		if d.Err() != "" {
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
