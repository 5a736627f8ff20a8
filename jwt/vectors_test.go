package jwt

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/keycard-go/keycard/internal/wycheproof"
)

// RFC 8037 Appendix A: the Ed25519 key (A.1), its thumbprint (A.3) and the
// JWS of "Example of Ed25519 signing" (A.4).
const (
	rfc8037D          = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	rfc8037JWS        = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc." +
		"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

func TestRFC8037(t *testing.T) {
	d, _ := b64.DecodeString(rfc8037D)
	key, err := NewSigningKey(ed25519.NewKeyFromSeed(d))
	if err != nil {
		t.Fatal(err)
	}
	// A.2: the public key.
	if got := b64.EncodeToString(key.Public().(ed25519.PublicKey)); got != rfc8037X {
		t.Errorf("public key x = %s, want %s", got, rfc8037X)
	}
	// A.3: the JWK thumbprint, which Keycard uses as the kid.
	if got := key.KeyID(); got != rfc8037Thumbprint {
		t.Errorf("kid (RFC 7638 thumbprint) = %s, want %s", got, rfc8037Thumbprint)
	}
	// A.4: signing is deterministic, so both directions can be checked
	// with the same primitive the Issuer and Verifier use.
	parts := strings.Split(rfc8037JWS, ".")
	input := parts[0] + "." + parts[1]
	sig, err := gojwt.SigningMethodEdDSA.Sign(input, key.priv)
	if err != nil {
		t.Fatal(err)
	}
	if got := b64.EncodeToString(sig); got != parts[2] {
		t.Errorf("signature = %s, want %s", got, parts[2])
	}
	// Verify with the key parsed from its public JWK, as a Verifier would.
	ks, err := ParseJWKS([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":"` + rfc8037Thumbprint + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ks.PublicKey(context.Background(), rfc8037Thumbprint)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := b64.DecodeString(parts[2])
	if err := gojwt.SigningMethodEdDSA.Verify(input, want, pub); err != nil {
		t.Errorf("RFC 8037 A.4 JWS does not verify: %v", err)
	}
	if algFor(pub) != EdDSA {
		t.Errorf("alg pinned to the RFC key = %q, want EdDSA", algFor(pub))
	}
	want[0] ^= 1
	if err := gojwt.SigningMethodEdDSA.Verify(input, want, pub); err == nil {
		t.Error("a modified RFC 8037 signature verifies")
	}
	// The example is a JWS, not an access token: the Verifier refuses it
	// (no typ, no kid, a payload that is not JSON).
	v, _ := NewVerifier(testIss, testAud, ks, nil)
	if _, err := v.Verify(context.Background(), rfc8037JWS); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(RFC 8037 JWS) = %v, want ErrInvalidToken", err)
	}
}

// TestWycheproofEd25519 runs Wycheproof's Ed25519 vectors through the
// verification primitive the Verifier calls (golang-jwt's EdDSA method),
// with each public key parsed from its JWK as a JWKS would carry it.
func TestWycheproofEd25519(t *testing.T) {
	b := wycheproof.Read(t, "ed25519_test.json")
	var f struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			PublicKeyJwk jwk `json:"publicKeyJwk"`
			PublicKey    struct {
				PK string `json:"pk"`
			} `json:"publicKey"`
			Tests []struct {
				TcID    int      `json:"tcId"`
				Comment string   `json:"comment"`
				Msg     string   `json:"msg"`
				Sig     string   `json:"sig"`
				Result  string   `json:"result"`
				Flags   []string `json:"flags"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	n, valid := 0, 0
	for _, g := range f.TestGroups {
		g.PublicKeyJwk.Kid = ""
		pub, err := parseJWK(g.PublicKeyJwk)
		if err != nil {
			t.Fatalf("public key JWK: %v", err)
		}
		if got := hex.EncodeToString(pub.(ed25519.PublicKey)); got != g.PublicKey.PK {
			t.Fatalf("JWK x = %s, want %s", got, g.PublicKey.PK)
		}
		for _, tc := range g.Tests {
			n++
			msg, err1 := hex.DecodeString(tc.Msg)
			sig, err2 := hex.DecodeString(tc.Sig)
			if err1 != nil || err2 != nil {
				t.Fatalf("tc %d: bad hex", tc.TcID)
			}
			err := gojwt.SigningMethodEdDSA.Verify(string(msg), sig, pub)
			switch tc.Result {
			case "valid":
				valid++
				if err != nil {
					t.Errorf("tc %d (%s): valid signature refused: %v", tc.TcID, tc.Comment, err)
				}
			case "invalid":
				if err == nil {
					t.Errorf("tc %d (%s %v): invalid signature accepted", tc.TcID, tc.Comment, tc.Flags)
				}
			default:
				t.Errorf("tc %d: unexpected result %q", tc.TcID, tc.Result)
			}
		}
	}
	if n != f.NumberOfTests || valid == 0 {
		t.Errorf("ran %d vectors (%d valid), file declares %d", n, valid, f.NumberOfTests)
	}
}
