package seal

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// checkBase64 compares encode64 and decode64 with encoding/base64 on src
// and on the text s (which need not be valid).
func checkBase64(t *testing.T, src []byte, s string) {
	t.Helper()
	want := enc.EncodeToString(src)
	got := make([]byte, enc.EncodedLen(len(src)))
	encode64(got, src)
	if string(got) != want {
		t.Fatalf("encode64(%x) = %q, want %q", src, got, want)
	}
	back := make([]byte, enc.DecodedLen(len(want)))
	if !decode64(back, want) || !bytes.Equal(back, src) {
		t.Fatalf("decode64(%q) = %x, want %x", want, back, src)
	}

	dst := make([]byte, enc.DecodedLen(len(s)))
	ok := decode64(dst, s)
	ref, err := strictEnc.DecodeString(s)
	// encoding/base64 skips CR and LF; seal never accepts them.
	refOK := err == nil && !bytes.ContainsAny([]byte(s), "\r\n") && len(ref) == len(dst)
	if ok != refOK {
		t.Fatalf("decode64(%q) ok = %v, encoding/base64 strict: %v", s, ok, err)
	}
	if ok && !bytes.Equal(dst, ref) {
		t.Fatalf("decode64(%q) = %x, want %x", s, dst, ref)
	}
}

func TestBase64MatchesStdlib(t *testing.T) {
	for n := range 600 {
		src := make([]byte, n)
		rand.Read(src)
		text := enc.EncodeToString(src)
		checkBase64(t, src, text)
		if n == 0 {
			continue
		}
		// Every single-character substitution at a few positions, with
		// every byte value: non-alphabet bytes, padding, CR, LF, and
		// non-canonical trailing bits at the end.
		for _, pos := range []int{0, len(text) / 2, len(text) - 1} {
			if pos < 0 || pos >= len(text) {
				continue
			}
			b := []byte(text)
			for c := range 256 {
				b[pos] = byte(c)
				checkBase64(t, nil, string(b))
			}
		}
		checkBase64(t, nil, text+"=")
		checkBase64(t, nil, text+"A")
		checkBase64(t, nil, text[:len(text)-1])
	}
}

func FuzzBase64(f *testing.F) {
	f.Add([]byte("hello, keycard"), "aGVsbG8")
	f.Add([]byte{}, "AB\nCD")
	f.Fuzz(func(t *testing.T, src []byte, s string) {
		checkBase64(t, src, s)
	})
}

func BenchmarkEncode64(b *testing.B) {
	src := make([]byte, overhead+100)
	dst := make([]byte, enc.EncodedLen(len(src)))
	for b.Loop() {
		encode64(dst, src)
	}
}

func BenchmarkStdlibEncode(b *testing.B) {
	src := make([]byte, overhead+100)
	dst := make([]byte, enc.EncodedLen(len(src)))
	for b.Loop() {
		enc.Encode(dst, src)
	}
}

func BenchmarkDecode64(b *testing.B) {
	text := enc.EncodeToString(make([]byte, overhead+100))
	dst := make([]byte, overhead+100)
	for b.Loop() {
		if !decode64(dst, text) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkStdlibDecode(b *testing.B) {
	text := enc.EncodeToString(make([]byte, overhead+100))
	dst := make([]byte, overhead+100)
	for b.Loop() {
		if _, err := strictEnc.Decode(dst, []byte(text)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCryptoRandNonce(b *testing.B) {
	n := make([]byte, nonceLen)
	for b.Loop() {
		randNonce(n)
	}
}
