package binrec

import (
	"encoding/binary"
	"time"
)

// The compact forms below are for encodings where every byte counts, such
// as a sealed session cookie: varints instead of fixed-width integers.
// AppendVarint and Varint, AppendUvarint and Uvarint, AppendVarBytes and
// VarBytes, AppendVarTime and VarTime each read back what the other wrote,
// and the Reader's strictness applies: a varint that is truncated, overlong
// or overflows is a problem, and whatever decodes without error encodes
// back to the same bytes.

// AppendVarint appends v as a zig-zag varint.
func AppendVarint(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// AppendUvarint appends v as a varint.
func AppendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendVarBytes appends len(v) as a varint and the bytes of v.
func AppendVarBytes[T ~string | ~[]byte](b []byte, v T) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// AppendVarTime appends t as a varint of Unix microseconds, 0 for the zero
// time (so a time at the Unix epoch itself cannot be told from it).
func AppendVarTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixMicro())
}

// Varint reads what AppendVarint wrote.
func (d *Reader) Varint() int64 {
	if d.err != "" {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || len(binary.AppendVarint(nil, v)) != n {
		d.Fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Uvarint reads what AppendUvarint wrote.
func (d *Reader) Uvarint() uint64 {
	if d.err != "" {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || len(binary.AppendUvarint(nil, v)) != n {
		d.Fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// VarBytes reads what AppendVarBytes wrote, aliasing the input.
func (d *Reader) VarBytes() []byte {
	n := d.Uvarint()
	return d.Take(n)
}

// VarTime reads what AppendVarTime wrote.
func (d *Reader) VarTime() time.Time {
	v := d.Varint()
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
