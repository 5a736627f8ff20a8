package keycard

import (
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
	for _, r := range recs {
		got := decodeSealed(encodeSealed(r))
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

// FuzzSealedCodec: decoding never panics, and whatever decodes survives a
// re-encoding unchanged. (Bytes may differ: varints have overlong forms, and
// only Keycard writes sealed payloads, which are authenticated.)
func FuzzSealedCodec(f *testing.F) {
	f.Add(encodeSealed(&storage.Record{ID: "a", Subject: "b", Data: []byte(`{}`), ExpiresAt: time.Unix(5, 0)}))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := decodeSealed(b)
		if r == nil {
			return
		}
		if again := decodeSealed(encodeSealed(r)); !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoding %x changed the record:\n got %+v\nwant %+v", b, again, r)
		}
	})
}
