package binrec

import (
	"errors"
	"math"

	"github.com/keycard-go/keycard/storage"
)

// The live column of sqlitestore and pgstore holds, in one blob, the fields
// that only a live record carries and that no index, no SQL statement and no
// administrator needs to read: a read then fetches and converts one column
// instead of eleven. A tombstone has NULL there. The layout (big-endian,
// offsets from 0):
//
//	0      format (1)
//	1-8    CreatedAt (Unix µs, int64; ZeroTime for the zero time)
//	9-16   AuthenticatedAt
//	17-24  RenewedAt
//	25-32  LastSeenAt
//	33-40  IdleExpiresAt
//	41-48  IdleTimeout (int64 ns)
//	49     Persistent (0 or 1)
//	50-    IP, UserAgent, Fingerprint (uint32 length + bytes each)
//	       Meta (1 byte: 0 nil, 1 present; then uint32 length + bytes)
//
// Decoding is strict: an unknown format, a flag byte other than 0 or 1, a
// length beyond the end, a time other than ZeroTime that decodes to the zero
// time, and any byte after Meta make the column corrupt. So whatever decodes
// encodes back to the same bytes. pgstore's migration 2 builds the same
// bytes in SQL from its version 1 columns, and pgstore's Merge rewrites
// LastSeenAt and IdleExpiresAt in place in SQL, reading IdleExpiresAt and
// IdleTimeout at these offsets: a new format must change both.
const liveFormat = 1

// liveFixed is the length of the live column's fixed-width head, up to
// Persistent.
const liveFixed = 50

// EncodeLive returns the live column of r. It fails only for a string or
// Meta longer than a uint32 can count, which no database here would store
// anyway.
func EncodeLive(r *storage.Record) ([]byte, error) {
	for _, n := range []int{len(r.IP), len(r.UserAgent), len(r.Fingerprint), len(r.Meta)} {
		if uint64(n) > math.MaxUint32 {
			return nil, errors.New("record field too long")
		}
	}
	b := make([]byte, 0, liveFixed+3*4+len(r.IP)+len(r.UserAgent)+len(r.Fingerprint)+1+4+len(r.Meta))
	b = append(b, liveFormat)
	b = AppendLive(b, r)
	return AppendBytes(b, r.Meta), nil
}

// liveBytes are the variable-length fields of a live column, aliasing its
// bytes: meta is nil when the record's Meta was nil, non-nil (perhaps empty)
// otherwise.
type liveBytes struct {
	ip, userAgent, fingerprint, meta []byte
}

// SetColumns finishes a record read from a row of the sessions table of
// sqlitestore or pgstore, whose other columns the store has set: it decodes
// the live column (NULL, so nil, in a tombstone) into r, and copies r's
// strings and data out of the driver's bytes, in two allocations for the
// whole record. The error says why the row is corrupt.
func SetColumns(r *storage.Record, id, subject, data, live []byte) error {
	var lb liveBytes
	switch {
	case live != nil:
		var err error
		if lb, err = decodeLive(r, live); err != nil {
			return err
		}
	case r.State == storage.StateLive:
		return errors.New("live record without its live column")
	}
	SetStrings(r, id, subject, lb.ip, lb.userAgent, lb.fingerprint)
	SetDataMeta(r, data, lb.meta)
	return nil
}

// decodeLive sets r's times, IdleTimeout and Persistent from the live column
// b and returns its variable-length fields, which alias b.
func decodeLive(r *storage.Record, b []byte) (liveBytes, error) {
	d := NewReader(b)
	if d.U8() != liveFormat {
		d.Fail("unknown format")
	}
	var v liveBytes
	v.ip, v.userAgent, v.fingerprint = d.Live(r)
	v.meta = d.RawBytes()
	if d.Err() == "" && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	if d.Err() != "" {
		return liveBytes{}, errors.New("live column: " + d.Err())
	}
	return v, nil
}
