package seal

import (
	"crypto/rand"
	"testing"
	"time"
)

// The floors: the raw AEAD on 100 bytes, with no format, encoding or
// randomness. seal's target is at most 1.5x these.
func BenchmarkRawAEADSeal100(b *testing.B) {
	a, _ := newAEAD(make([]byte, 32))
	nonce := make([]byte, nonceLen)
	pt := make([]byte, 100)
	dst := make([]byte, 0, 200)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		dst = a.Seal(dst[:0], nonce, pt, nil)
	}
}

func BenchmarkRawAEADOpen100(b *testing.B) {
	a, _ := newAEAD(make([]byte, 32))
	nonce := make([]byte, nonceLen)
	ct := a.Seal(nil, nonce, make([]byte, 100), nil)
	dst := make([]byte, 0, 200)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = a.Open(dst[:0], nonce, ct, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSealer(b *testing.B) *Sealer {
	secret := make([]byte, 32)
	rand.Read(secret)
	r, _ := NewKeyRing(secret)
	s, _ := New(r, nil)
	s.now = func() time.Time { return t0 }
	return s
}

func BenchmarkSeal100(b *testing.B) {
	s := benchSealer(b)
	data := make([]byte, 100)
	exp := t0.Add(time.Hour)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal("__Host-keycard", "session", data, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen100(b *testing.B) {
	s := benchSealer(b)
	v, _ := s.Seal("__Host-keycard", "session", make([]byte, 100), t0.Add(time.Hour))
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open("__Host-keycard", "session", v); err != nil {
			b.Fatal(err)
		}
	}
}

// The floor of any cookie format with a random nonce and text encoding:
// the raw AEAD plus crypto/rand for the nonce and base64url for the text,
// with no header, expiry or additional data.
func BenchmarkRawAEADSeal100RandBase64(b *testing.B) {
	a, _ := newAEAD(make([]byte, 32))
	nonce := make([]byte, nonceLen)
	pt := make([]byte, 100)
	dst := make([]byte, 0, 200)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		rand.Read(nonce)
		dst = a.Seal(dst[:0], nonce, pt, nil)
		_ = enc.EncodeToString(dst)
	}
}

func BenchmarkRawAEADOpen100Base64(b *testing.B) {
	a, _ := newAEAD(make([]byte, 32))
	nonce := make([]byte, nonceLen)
	text := enc.EncodeToString(a.Seal(nil, nonce, make([]byte, 100), nil))
	dst := make([]byte, 0, 200)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		ct, err := enc.DecodeString(text)
		if err != nil {
			b.Fatal(err)
		}
		if dst, err = a.Open(dst[:0], nonce, ct, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The raw AEAD on what format v1 actually seals for 100 bytes of data: the
// 8-byte expiry in front of the data and the 58 bytes of additional data
// (header, cookie name and purpose) of BenchmarkSeal100. The difference
// from BenchmarkRawAEADSeal100 is the format's own AEAD work, which no
// implementation of v1 can avoid.
func BenchmarkRawAEADSeal100Format(b *testing.B) {
	a, _ := newAEAD(make([]byte, 32))
	nonce := make([]byte, nonceLen)
	pt := make([]byte, expiryLen+100)
	ad := make([]byte, adLen("__Host-keycard", "session"))
	dst := make([]byte, 0, 200)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		dst = a.Seal(dst[:0], nonce, pt, ad)
	}
}

func BenchmarkRawAEADOpen100Format(b *testing.B) {
	a, _ := newAEAD(make([]byte, 32))
	nonce := make([]byte, nonceLen)
	ad := make([]byte, adLen("__Host-keycard", "session"))
	ct := a.Seal(nil, nonce, make([]byte, expiryLen+100), ad)
	dst := make([]byte, 0, 200)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = a.Open(dst[:0], nonce, ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}
