package binrec

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 24, 13, 0, 0, 123456000, time.UTC)
	b := AppendTime(nil, at)
	b = AppendTime(b, time.Time{})
	b = AppendString(b, "a\x00é")
	b = AppendBytes(b, nil)
	b = AppendBytes(b, []byte{})
	b = AppendBytes(b, []byte("xy"))
	b = AppendBool(b, true)
	d := NewReader(b)
	if got := d.Time(); !got.Equal(at) {
		t.Errorf("Time = %v, want %v", got, at)
	}
	if got := d.Time(); !got.IsZero() {
		t.Errorf("zero Time = %v", got)
	}
	if got := d.Str(); got != "a\x00é" {
		t.Errorf("Str = %q", got)
	}
	if got := d.Bytes(); got != nil {
		t.Errorf("nil Bytes = %q", got)
	}
	if got := d.Bytes(); got == nil || len(got) != 0 {
		t.Errorf("empty Bytes = %#v, want non-nil empty", got)
	}
	if got := d.Bytes(); !bytes.Equal(got, []byte("xy")) {
		t.Errorf("Bytes = %q", got)
	}
	if !d.Flag() || d.Err() != "" || d.Len() != 0 {
		t.Errorf("Flag, Err %q, Len %d", d.Err(), d.Len())
	}
}

func TestStrict(t *testing.T) {
	// The zero time in Unix microseconds: it must come as ZeroTime, or a
	// decoded record would encode back to other bytes.
	var yearOne = uint64(time.Time{}.UnixMicro()) //nolint:gosec // bit pattern
	for name, b := range map[string][]byte{
		"truncated length": {0, 0},
		"length beyond":    {0, 0, 0, 9, 'a'},
		"bad flag":         {2},
		"year one":         binary.BigEndian.AppendUint64(nil, yearOne),
	} {
		d := NewReader(b)
		switch name {
		case "bad flag":
			d.Flag()
		case "year one":
			d.Time()
		default:
			d.Str()
		}
		if d.Err() == "" {
			t.Errorf("%s: no error", name)
		}
		if d.U64() != 0 || d.Str() != "" || d.Bytes() != nil {
			t.Errorf("%s: reads after an error returned values", name)
		}
	}
}
