package binrec

import (
	"errors"
	"math"

	"github.com/keycard-go/keycard"
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
// bytes in SQL from its version 1 columns.
const LiveFormat = 1

// LiveFixed is the length of the live column's fixed-width head, up to
// Persistent.
const LiveFixed = 50

// EncodeLive returns the live column of r. It fails only for a string or
// Meta longer than a uint32 can count, which no database here would store
// anyway.
func EncodeLive(r *keycard.Record) ([]byte, error) {
	for _, n := range []int{len(r.IP), len(r.UserAgent), len(r.Fingerprint), len(r.Meta)} {
		if uint64(n) > math.MaxUint32 {
			return nil, errors.New("record field too long")
		}
	}
	b := make([]byte, 0, LiveFixed+3*4+len(r.IP)+len(r.UserAgent)+len(r.Fingerprint)+1+4+len(r.Meta))
	b = append(b, LiveFormat)
	b = AppendLive(b, r)
	return AppendBytes(b, r.Meta), nil
}

// LiveBytes are the variable-length fields of a live column, aliasing its
// bytes: Meta is nil when the record's Meta was nil, non-nil (perhaps empty)
// otherwise.
type LiveBytes struct {
	IP, UserAgent, Fingerprint, Meta []byte
}

// DecodeLive sets r's times, IdleTimeout and Persistent from the live column
// b and returns its variable-length fields, which alias b: a store copies
// them out with SetStrings and SetDataMeta, in two allocations for the whole
// record. The error says why b is corrupt.
func DecodeLive(r *keycard.Record, b []byte) (LiveBytes, error) {
	d := NewReader(b)
	if d.U8() != LiveFormat {
		d.Fail("unknown format")
	}
	var v LiveBytes
	v.IP, v.UserAgent, v.Fingerprint = d.Live(r)
	v.Meta = d.RawBytes()
	if d.Err() == "" && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	if d.Err() != "" {
		return LiveBytes{}, errors.New("live column: " + d.Err())
	}
	return v, nil
}
