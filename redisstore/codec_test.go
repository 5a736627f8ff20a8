package redisstore

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

func TestCodecRoundTrip(t *testing.T) {
	full := storetest.NewRecord("alice")
	full.Meta = []byte(`{}`)
	full.IP, full.UserAgent, full.Fingerprint = "2001:db8::1", "ua\x00\xff", "fp"
	full.Persistent = true
	full.IdleTimeout = 45*time.Minute + time.Nanosecond
	tests := []struct {
		name string
		r    *storage.Record
	}{
		{"full", full},
		{"empty", &storage.Record{}},
		{"empty data", func() *storage.Record { r := full.Clone(); r.Data = []byte{}; return r }()},
		{"epoch", &storage.Record{ExpiresAt: time.Unix(0, 0).UTC(), CreatedAt: time.UnixMicro(-1).UTC()}},
		{"tombstone", full.Tombstone(storage.StateRotated, storetest.NewHash(), time.Now().UTC().Truncate(time.Microsecond))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encode(tt.r, tt.r.State, 7)
			got, err := decode(tt.r.Hash, b)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.r.Clone()
			want.Version = 7
			if d := storetest.Diff(got, want); d != "" {
				t.Errorf("round trip differs:%s", d)
			}
			if (got.Data == nil) != (tt.r.Data == nil) {
				t.Errorf("Data nil = %v, want %v", got.Data == nil, tt.r.Data == nil)
			}
			// Data and Meta are slices of b (decode takes it over): an
			// append to Data must not write into Meta or the rest.
			stored := bytes.Clone(b)
			got.Data = append(got.Data, 'X')
			if !bytes.Equal(b, stored) {
				t.Error("an append to Data wrote into the bytes it was decoded from")
			}
			want.Data = got.Data
			if d := storetest.Diff(got, want); d != "" {
				t.Errorf("an append to Data changed the record:%s", d)
			}
		})
	}
}

// TestTombstoneTailMatchesGo checks that the tombstone the Lua scripts
// assemble (head of the record, new state and version, Go's tail) is byte
// for byte the encoding of Record.Tombstone.
func TestTombstoneTailMatchesGo(t *testing.T) {
	r := storetest.NewRecord("alice\x00{}")
	r.Version = 4
	succ, grace := storetest.NewHash(), time.Now().UTC().Truncate(time.Microsecond)
	live := encode(r, storage.StateLive, r.Version)
	head := 19 + 4 + len(r.ID) + 4 + len(r.Subject)
	lua := append([]byte{live[0], byte(storage.StateRotated)}, encode(r, 0, r.Version+1)[2:10]...)
	lua = append(lua, live[10:head]...)
	lua = append(lua, tombstoneTail(succ, grace)...)
	want := r.Tombstone(storage.StateRotated, succ, grace)
	if goEnc := encode(want, want.State, r.Version+1); !bytes.Equal(lua, goEnc) {
		t.Errorf("script tombstone\n%x\ndiffers from Go's\n%x", lua, goEnc)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(storetest.NewRecord("alice"), storage.StateLive, 1))
	f.Add(encode(&storage.Record{}, storage.StateDestroyed, 2))
	f.Add([]byte{format})
	f.Add(withChanges(encode(storetest.NewRecord("alice"), storage.StateLive, 1), storage.Change{Key: "a", Value: []byte("1")}, storage.Change{Key: "k"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decode(storage.Hash{1}, b)
		if err != nil {
			return
		}
		// Whatever decodes encodes back to the same bytes; a record with
		// merged changes encodes to format 1 with the changes folded in.
		got := encode(r, r.State, r.Version)
		if b[0] == format && !bytes.Equal(got, b) {
			t.Errorf("decode then encode changed the bytes:\n%x\n%x", b, got)
		}
		again, err := decode(storage.Hash{1}, got)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if d := storetest.Diff(again, r); d != "" {
			t.Errorf("re-encoded record differs:%s", d)
		}
	})
}

// withChanges turns a format 1 record into the format 2 record the merge
// script would write for cs.
func withChanges(b []byte, cs ...storage.Change) []byte {
	out := append([]byte{formatChanges}, b[1:]...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(cs)))
	for _, c := range cs {
		out = binrec.AppendString(out, c.Key)
		out = binrec.AppendBytes(out, c.Value)
	}
	return out
}

func TestCodecChanges(t *testing.T) {
	r := storetest.NewRecord("alice")
	r.Data = []byte(`{"a":1,"k":"v"}`)
	cs := []storage.Change{{Key: "k"}, {Key: "z\x00\"", Value: []byte(`"x"`)}, {Key: "a", Value: []byte(`[2]`)}}
	b := withChanges(encode(r, storage.StateLive, 3), cs...)
	got, err := decode(r.Hash, b)
	if err != nil {
		t.Fatal(err)
	}
	want := r.Clone()
	want.Version = 3
	want.Data = storage.MergeData(r.Data, cs)
	if d := storetest.Diff(got, want); d != "" {
		t.Errorf("decoded record differs:%s", d)
	}
	if string(got.Data) != `{"a":[2],"z\u0000\"":"x"}` {
		t.Errorf("Data = %s", got.Data)
	}
	// Every truncation, a count beyond the bytes, a bad flag and trailing
	// bytes are corrupt records, never a panic or a partial record.
	for n := len(b) - 1; n > len(b)-30; n-- {
		if _, err := decode(r.Hash, b[:n]); err == nil {
			t.Errorf("record truncated to %d of %d bytes decoded", n, len(b))
		}
	}
	base := encode(r, storage.StateLive, 3)
	for name, bad := range map[string][]byte{
		"huge count":     append(append([]byte{formatChanges}, base[1:]...), 0xff, 0xff, 0xff, 0xff),
		"bad flag":       append(append([]byte{formatChanges}, base[1:]...), 0, 0, 0, 1, 0, 0, 0, 1, 'k', 2),
		"trailing bytes": append(withChanges(base, cs...), 0),
		"no count":       append([]byte{formatChanges}, base[1:]...),
	} {
		if _, err := decode(r.Hash, bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
