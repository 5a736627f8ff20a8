package jwt

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// The floors: raw Ed25519 over a message the size of an access token's
// signing input. Targets: Mint ≤ 1.2× sign, Verify ≤ 1.2× verify.
func BenchmarkRawEd25519Sign(b *testing.B) {
	key := edKey(b, 1)
	fx := newFixture(b, key, nil)
	tok := fx.mint(b)
	msg := []byte(tok[:len(tok)-87])
	priv := key.priv.(ed25519.PrivateKey)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

func BenchmarkRawEd25519Verify(b *testing.B) {
	key := edKey(b, 1)
	fx := newFixture(b, key, nil)
	tok := fx.mint(b)
	msg := []byte(tok[:len(tok)-87])
	sig, _ := b64.DecodeString(tok[len(tok)-86:])
	pub := key.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkMint(b *testing.B) {
	fx := newFixture(b, edKey(b, 1), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := fx.iss.Mint(testSession, testAud); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	fx := newFixture(b, edKey(b, 1), nil)
	tok := fx.mint(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fx.ver.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanJSON: the duplicate-member and date-claim scan of a token's
// payload, which Verify runs before golang-jwt decodes it.
func BenchmarkScanJSON(b *testing.B) {
	payload := []byte(mustJSON(baseClaims()))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := scanJSON(payload, dateClaims, nil); err != nil {
			b.Fatal(err)
		}
	}
}
