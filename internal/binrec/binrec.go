// Package binrec holds what the stores' binary encodings share: big-endian
// integers, times as Unix microseconds with a sentinel for the zero time,
// length-prefixed strings and byte slices, and a strict Reader (redisstore's
// record, the live column of sqlitestore and pgstore); and the copying of a
// read record's strings and data, in one allocation each, out of bytes a
// driver or memstore's arena owns, which every store does.
package binrec

import (
	"encoding/binary"
	"math"
	"strings"
	"time"

	"github.com/keycard-go/keycard/storage"
)

// ZeroTime encodes the zero time.Time.
const ZeroTime = math.MinInt64

// AppendTime appends t as Unix microseconds (int64), ZeroTime for the zero time.
func AppendTime(b []byte, t time.Time) []byte {
	n := int64(ZeroTime)
	if !t.IsZero() {
		n = t.UnixMicro()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n)) //nolint:gosec // bit pattern
}

// AppendString appends s as a uint32 length and its bytes.
func AppendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s))) //nolint:gosec // callers bound lengths
	return append(b, s...)
}

// AppendBytes appends a presence byte (0 for nil, 1 otherwise) and, for a
// non-nil v, its uint32 length and bytes: nil and empty stay distinct.
func AppendBytes(b []byte, v []byte) []byte {
	if v == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(v))) //nolint:gosec // callers bound lengths
	return append(b, v...)
}

// AppendBool appends 1 for true, 0 for false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// A Reader decodes what the Append functions wrote. It is strict: the first
// problem it meets (a length beyond the end, a flag byte other than 0 or 1,
// a time other than ZeroTime that decodes to the zero time) is kept, and
// every later read returns zero values, so a caller checks Err once at the
// end. Whatever a Reader decodes without error encodes back to the same
// bytes.
type Reader struct {
	b   []byte
	err string
}

// NewReader returns a Reader of b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Fail records why the input is corrupt, unless a problem is recorded already.
func (d *Reader) Fail(why string) {
	if d.err == "" {
		d.err = why
	}
}

// Err returns the first problem met, or "".
func (d *Reader) Err() string { return d.err }

// Len returns the number of bytes not read yet.
func (d *Reader) Len() int { return len(d.b) }

// Take returns the next n bytes, aliasing the input, or nil after a problem.
func (d *Reader) Take(n uint64) []byte {
	if d.err != "" {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.Fail("truncated")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// U8 reads a byte.
func (d *Reader) U8() byte {
	if v := d.Take(1); v != nil {
		return v[0]
	}
	return 0
}

// U32 reads a big-endian uint32.
func (d *Reader) U32() uint32 {
	if v := d.Take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// U64 reads a big-endian uint64.
func (d *Reader) U64() uint64 {
	if v := d.Take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// Time reads what AppendTime wrote.
func (d *Reader) Time() time.Time {
	n := int64(d.U64()) //nolint:gosec // bit pattern
	if n == ZeroTime || d.err != "" {
		return time.Time{}
	}
	t := time.UnixMicro(n).UTC()
	if t.IsZero() {
		d.Fail("zero time not encoded as ZeroTime")
	}
	return t
}

// Flag reads a byte that must be 0 or 1.
func (d *Reader) Flag() bool {
	switch d.U8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.Fail("flag byte not 0 or 1")
	return false
}

// Raw reads a uint32 length and that many bytes, aliasing the input.
func (d *Reader) Raw() []byte {
	n := d.U32()
	if d.err != "" {
		return nil
	}
	return d.Take(uint64(n))
}

// Str reads what AppendString wrote.
func (d *Reader) Str() string { return string(d.Raw()) }

// RawBytes reads what AppendBytes wrote, aliasing the input: nil for nil,
// non-nil (if perhaps empty) otherwise.
func (d *Reader) RawBytes() []byte {
	if !d.Flag() {
		return nil
	}
	return d.Raw()
}

// AppendLive appends the fields that only a live record carries, in the
// order both stores' formats keep them: CreatedAt, AuthenticatedAt,
// RenewedAt, LastSeenAt, IdleExpiresAt, IdleTimeout (int64 ns), Persistent,
// IP, UserAgent, Fingerprint. Data and Meta are left to the caller.
func AppendLive(b []byte, r *storage.Record) []byte {
	b = AppendTime(b, r.CreatedAt)
	b = AppendTime(b, r.AuthenticatedAt)
	b = AppendTime(b, r.RenewedAt)
	b = AppendTime(b, r.LastSeenAt)
	b = AppendTime(b, r.IdleExpiresAt)
	b = binary.BigEndian.AppendUint64(b, uint64(r.IdleTimeout)) //nolint:gosec // bit pattern
	b = AppendBool(b, r.Persistent)
	b = AppendString(b, r.IP)
	b = AppendString(b, r.UserAgent)
	return AppendString(b, r.Fingerprint)
}

// Live reads what AppendLive wrote: it sets r's times, IdleTimeout and
// Persistent, and returns IP, UserAgent and Fingerprint aliasing the input
// (copy them out with SetStrings).
func (d *Reader) Live(r *storage.Record) (ip, ua, fp []byte) {
	r.CreatedAt = d.Time()
	r.AuthenticatedAt = d.Time()
	r.RenewedAt = d.Time()
	r.LastSeenAt = d.Time()
	r.IdleExpiresAt = d.Time()
	r.IdleTimeout = time.Duration(d.U64()) //nolint:gosec // bit pattern
	r.Persistent = d.Flag()
	return d.Raw(), d.Raw(), d.Raw()
}

// SetStrings sets r's ID, Subject, IP, UserAgent and Fingerprint to copies of
// the given bytes, made in one allocation that the five strings share. Stores
// whose driver or arena owns the bytes use it to copy a record out in one go.
func SetStrings(r *storage.Record, id, subject, ip, ua, fp []byte) {
	var sb strings.Builder
	sb.Grow(len(id) + len(subject) + len(ip) + len(ua) + len(fp))
	var ends [5]int
	for i, part := range [...][]byte{id, subject, ip, ua, fp} {
		sb.Write(part)
		ends[i] = sb.Len()
	}
	all := sb.String()
	r.ID, r.Subject = all[:ends[0]], all[ends[0]:ends[1]]
	r.IP, r.UserAgent, r.Fingerprint = all[ends[1]:ends[2]], all[ends[2]:ends[3]], all[ends[3]:ends[4]]
}

// SetDataMeta sets r.Data and r.Meta to copies of data and meta in one
// allocation; Data's capacity ends where Meta starts, so appending to one
// never writes into the other. A nil argument leaves its field nil, an empty
// one makes it empty: nil and empty stay distinct.
func SetDataMeta(r *storage.Record, data, meta []byte) {
	r.Data, r.Meta = nil, nil
	if data == nil && meta == nil {
		return
	}
	dm := make([]byte, len(data)+len(meta))
	n := copy(dm, data)
	copy(dm[n:], meta)
	if data != nil {
		r.Data = dm[:n:n]
	}
	if meta != nil {
		r.Meta = dm[n:]
	}
}
