package memstore

import (
	"encoding/base64"
	"testing"
)

// FuzzParseID checks that parseID accepts exactly the canonical unpadded
// base64url encodings of 16 bytes, and that what it accepts round-trips.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "_____________________w",
		"AAAAAAAAAA\nAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA+/", "AAAAAAAAAAAAAAAAAAAAAA==", "", "\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := parseID(s)
		dec, err := base64.RawURLEncoding.DecodeString(s)
		want := err == nil && len(dec) == 16 && base64.RawURLEncoding.EncodeToString(dec) == s
		if ok != want {
			t.Fatalf("parseID(%q) ok = %v, want %v", s, ok, want)
		}
		if ok {
			if e := (entry{id: b}); e.canonicalID() != s {
				t.Fatalf("parseID(%q) round-trips to %q", s, e.canonicalID())
			}
		}
	})
}
