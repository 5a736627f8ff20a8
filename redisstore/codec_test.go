package redisstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/keycard-go/keycard"
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
		r    *keycard.Record
	}{
		{"full", full},
		{"empty", &keycard.Record{}},
		{"empty data", func() *keycard.Record { r := full.Clone(); r.Data = []byte{}; return r }()},
		{"epoch", &keycard.Record{ExpiresAt: time.Unix(0, 0).UTC(), CreatedAt: time.UnixMicro(-1).UTC()}},
		{"tombstone", full.Tombstone(keycard.StateRotated, storetest.NewHash(), time.Now().UTC().Truncate(time.Microsecond))},
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
	live := encode(r, keycard.StateLive, r.Version)
	head := 19 + 4 + len(r.ID) + 4 + len(r.Subject)
	lua := append([]byte{live[0], byte(keycard.StateRotated)}, encode(r, 0, r.Version+1)[2:10]...)
	lua = append(lua, live[10:head]...)
	lua = append(lua, tombstoneTail(succ, grace)...)
	want := r.Tombstone(keycard.StateRotated, succ, grace)
	if goEnc := encode(want, want.State, r.Version+1); !bytes.Equal(lua, goEnc) {
		t.Errorf("script tombstone\n%x\ndiffers from Go's\n%x", lua, goEnc)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(storetest.NewRecord("alice"), keycard.StateLive, 1))
	f.Add(encode(&keycard.Record{}, keycard.StateDestroyed, 2))
	f.Add([]byte{format})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decode(keycard.Hash{1}, b)
		if err != nil {
			return
		}
		// Whatever decodes encodes back to the same bytes.
		if got := encode(r, r.State, r.Version); !bytes.Equal(got, b) {
			t.Errorf("decode then encode changed the bytes:\n%x\n%x", b, got)
		}
	})
}
