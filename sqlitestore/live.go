package sqlitestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/keycard-go/keycard"
)

// The live column holds, in one BLOB, the fields that only a live record
// carries and that no index, no SQL statement and no administrator needs to
// read: a read then fetches and converts one column instead of eleven. A
// tombstone has NULL there. The layout (big-endian, offsets from 0):
//
//	0      format (1)
//	1-8    CreatedAt (Unix µs, int64; zeroTime for the zero time)
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
// length beyond the end, a time other than zeroTime that decodes to the zero
// time, and any byte after Meta make the record corrupt. So whatever decodes
// encodes back to the same bytes.
const liveFormat = 1

// zeroTime encodes the zero time.Time (as NULL does in the time columns).
const zeroTime = math.MinInt64

// liveFixed is the length of the fixed-width head, up to Persistent.
const liveFixed = 50

// errCorrupt is wrapped by every error for a row that does not decode.
var errCorrupt = errors.New("sqlitestore: corrupt session record")

func putTime(b []byte, t time.Time) []byte {
	n := int64(zeroTime)
	if !t.IsZero() {
		n = t.UnixMicro()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

func putString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

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
	b = putTime(b, r.CreatedAt)
	b = putTime(b, r.AuthenticatedAt)
	b = putTime(b, r.RenewedAt)
	b = putTime(b, r.LastSeenAt)
	b = putTime(b, r.IdleExpiresAt)
	b = binary.BigEndian.AppendUint64(b, uint64(r.IdleTimeout))
	b = append(b, boolByte(r.Persistent))
	b = putString(b, r.IP)
	b = putString(b, r.UserAgent)
	b = putString(b, r.Fingerprint)
	if r.Meta == nil {
		return append(b, 0), nil
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Meta)))
	return append(b, r.Meta...), nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// liveReader reads the live column; the first problem it meets is kept in
// err and every later read returns zero values.
type liveReader struct {
	b   []byte
	err string
}

func (d *liveReader) fail(why string) {
	if d.err == "" {
		d.err = why
	}
}

func (d *liveReader) take(n uint64) []byte {
	if d.err != "" {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *liveReader) u64() uint64 {
	v := d.take(8)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func (d *liveReader) time() time.Time {
	n := int64(d.u64())
	if n == zeroTime || d.err != "" {
		return time.Time{}
	}
	t := time.UnixMicro(n).UTC()
	if t.IsZero() {
		d.fail("zero time not encoded as zeroTime")
	}
	return t
}

// flag reads a byte that must be 0 or 1.
func (d *liveReader) flag() bool {
	v := d.take(1)
	if v == nil {
		return false
	}
	if v[0] > 1 {
		d.fail("flag byte not 0 or 1")
	}
	return v[0] == 1
}

// bytes reads a uint32 length and returns that many bytes, aliasing d.b
// (never nil unless d.err is set).
func (d *liveReader) bytes() []byte {
	v := d.take(4)
	if v == nil {
		return nil
	}
	return d.take(uint64(binary.BigEndian.Uint32(v)))
}

// decodeLive fills r's live fields from the live column b. r keeps no
// reference to b, so b may be memory the driver reuses (sql.RawBytes).
func decodeLive(r *keycard.Record, b []byte) error {
	d := liveReader{b: b}
	if f := d.take(1); f == nil || f[0] != liveFormat {
		d.fail("unknown format")
	}
	r.CreatedAt = d.time()
	r.AuthenticatedAt = d.time()
	r.RenewedAt = d.time()
	r.LastSeenAt = d.time()
	r.IdleExpiresAt = d.time()
	r.IdleTimeout = time.Duration(d.u64())
	r.Persistent = d.flag()
	r.IP = string(d.bytes())
	r.UserAgent = string(d.bytes())
	r.Fingerprint = string(d.bytes())
	if d.flag() {
		r.Meta = append([]byte{}, d.bytes()...) // present, perhaps empty: never nil
	}
	if d.err == "" && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != "" {
		return fmt.Errorf("%w (live column: %s)", errCorrupt, d.err)
	}
	return nil
}
