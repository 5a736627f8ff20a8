package sqlitestore

import (
	"errors"
	"fmt"
	"math"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/internal/binrec"
)

// The live column holds, in one BLOB, the fields that only a live record
// carries and that no index, no SQL statement and no administrator needs to
// read: a read then fetches and converts one column instead of eleven. A
// tombstone has NULL there. The layout (big-endian, offsets from 0):
//
//	0      format (1)
//	1-8    CreatedAt (Unix µs, int64; binrec.ZeroTime for the zero time)
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
// length beyond the end, a time other than binrec.ZeroTime that decodes to the zero
// time, and any byte after Meta make the record corrupt. So whatever decodes
// encodes back to the same bytes.
const liveFormat = 1

// liveFixed is the length of the fixed-width head, up to Persistent.
const liveFixed = 50

// errCorrupt is wrapped by every error for a row that does not decode.
var errCorrupt = errors.New("sqlitestore: corrupt session record")

// encodeLive returns the live column of r. It fails only for a string or
// Meta longer than a uint32 can count, which SQLite would refuse anyway.
func encodeLive(r *keycard.Record) ([]byte, error) {
	for _, n := range []int{len(r.IP), len(r.UserAgent), len(r.Fingerprint), len(r.Meta)} {
		if uint64(n) > math.MaxUint32 {
			return nil, errors.New("sqlitestore: record field too long")
		}
	}
	b := make([]byte, 0, liveFixed+3*4+len(r.IP)+len(r.UserAgent)+len(r.Fingerprint)+1+4+len(r.Meta))
	b = append(b, liveFormat)
	b = binrec.AppendLive(b, r)
	return binrec.AppendBytes(b, r.Meta), nil
}

// decodeLive fills r's live fields from the live column b. r keeps no
// reference to b, so b may be memory the driver reuses (sql.RawBytes).
func decodeLive(r *keycard.Record, b []byte) error {
	d := binrec.NewReader(b)
	if d.U8() != liveFormat {
		d.Fail("unknown format")
	}
	d.Live(r)
	r.Meta = d.Bytes() // present, perhaps empty: never nil
	if d.Err() == "" && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	if d.Err() != "" {
		return fmt.Errorf("%w (live column: %s)", errCorrupt, d.Err())
	}
	return nil
}
