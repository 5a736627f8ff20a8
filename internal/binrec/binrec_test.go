package binrec

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
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
	if got := d.RawBytes(); got != nil {
		t.Errorf("nil Bytes = %q", got)
	}
	if got := d.RawBytes(); got == nil || len(got) != 0 {
		t.Errorf("empty Bytes = %#v, want non-nil empty", got)
	}
	if got := d.RawBytes(); !bytes.Equal(got, []byte("xy")) {
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
		if d.U64() != 0 || d.Str() != "" || d.RawBytes() != nil {
			t.Errorf("%s: reads after an error returned values", name)
		}
	}
}

func TestSetStrings(t *testing.T) {
	var r storage.Record
	src := [][]byte{[]byte("id-1"), []byte("alice\x00"), nil, []byte("Mozilla/5.0"), []byte("fp")}
	SetStrings(&r, src[0], src[1], src[2], src[3], src[4])
	got := []string{r.ID, r.Subject, r.IP, r.UserAgent, r.Fingerprint}
	for i, want := range []string{"id-1", "alice\x00", "", "Mozilla/5.0", "fp"} {
		if got[i] != want {
			t.Errorf("field %d = %q, want %q", i, got[i], want)
		}
	}
	src[1][0] = 'X' // the strings are copies
	if r.Subject != "alice\x00" {
		t.Errorf("Subject changed with its source: %q", r.Subject)
	}
}

func TestSetDataMeta(t *testing.T) {
	tests := []struct {
		name       string
		data, meta []byte
	}{
		{"both", []byte(`{"a":1}`), []byte(`{"m":2}`)},
		{"nil data", nil, []byte("m")},
		{"empty data", []byte{}, nil},
		{"both nil", nil, nil},
		{"both empty", []byte{}, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := storage.Record{Data: []byte("old"), Meta: []byte("old")}
			SetDataMeta(&r, tt.data, tt.meta)
			if (r.Data == nil) != (tt.data == nil) || !bytes.Equal(r.Data, tt.data) {
				t.Errorf("Data = %#v, want %#v", r.Data, tt.data)
			}
			if (r.Meta == nil) != (tt.meta == nil) || !bytes.Equal(r.Meta, tt.meta) {
				t.Errorf("Meta = %#v, want %#v", r.Meta, tt.meta)
			}
			if r.Data != nil && r.Meta != nil {
				r.Data = append(r.Data, 'Z') // must not write into Meta
				if !bytes.Equal(r.Meta, tt.meta) {
					t.Errorf("appending to Data changed Meta to %q", r.Meta)
				}
			}
		})
	}
}
