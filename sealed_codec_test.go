package keycard

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/keycard-go/keycard/storage"
)

func TestSealedCodecRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 123000, time.UTC)
	recs := []*storage.Record{
		{ID: "id", Kind: KindBrowser},
		{ID: "x\x00y", Subject: "o'hara\"; DROP", Kind: KindBrowser, CreatedAt: now, AuthenticatedAt: now,
			RenewedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(12 * time.Hour),
			IdleTimeout: 7 * time.Minute, Persistent: true, IP: "2001:db8::1", UserAgent: "ü\r\n",
			Fingerprint: "g1.abc", Data: []byte(`{"k":"v"}`), Meta: []byte(`{"csrf":"AA=="}`)},
	}
	for i, r := range recs {
		gen := uint64(i) << 40
		got, gotGen := decodeSealed(encodeSealed(r, gen))
		if !reflect.DeepEqual(got, r) || gotGen != gen {
			t.Fatalf("round trip:\n got %+v, generation %d\nwant %+v, generation %d", got, gotGen, r, gen)
		}
	}
	// A version 1 payload (no generation) never opens.
	v1 := encodeSealed(recs[1], 0)
	v1[0] = 1
	if got, _ := decodeSealed(v1[:len(v1)-1]); got != nil {
		t.Fatal("a version 1 payload decoded")
	}
}

// FuzzSealedCodec: decoding never panics, and whatever decodes encodes back
// to the very same bytes (binrec's reader refuses overlong varints).
func FuzzSealedCodec(f *testing.F) {
	f.Add(encodeSealed(&storage.Record{ID: "a", Subject: "b", Data: []byte(`{}`), ExpiresAt: time.Unix(5, 0)}, 7))
	f.Add([]byte{2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, gen := decodeSealed(b)
		if r == nil {
			return
		}
		if !bytes.Equal(encodeSealed(r, gen), b) {
			t.Fatalf("%x decoded but does not encode back to the same bytes", b)
		}
	})
}
