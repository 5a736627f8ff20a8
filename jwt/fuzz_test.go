package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzVerify checks that Verify never panics, that it fails only with
// ErrInvalidToken, and that no token other than the one the test minted is
// ever accepted: a mutation of a valid token never verifies. The seed
// corpus is in testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	key := edKey(f, 1)
	fx := newFixture(f, key, nil)
	// A deterministic valid token (Ed25519 signatures are deterministic),
	// so that the seed corpus in testdata holds it too.
	valid := signRaw(f, key, mustJSON(baseHeader(key)), mustJSON(baseClaims()))
	parts := strings.Split(valid, ".")
	f.Add(valid)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add("eyJhbGciOiJub25lIn0." + parts[1] + ".")
	f.Add(valid + "=")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := fx.ver.Verify(context.Background(), tok)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) || c != nil {
				t.Fatalf("Verify = %v, %v; want nil, ErrInvalidToken", c, err)
			}
			return
		}
		if tok != valid {
			t.Fatalf("Verify accepted a token that was never minted: %q", tok)
		}
	})
}

// FuzzCheckJSON checks the duplicate-member scanner against encoding/json:
// whatever it accepts is a JSON object that encoding/json also parses.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":1,"A":2}`, `{"a":{"b":[1,{"c":2,"c":3}]}}`, `[]`, `{"exp":"1"}`, `{"a":1}{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		scanErr := scanJSON(b, dateClaims, nil) // never panics, never loops
		if json.Valid(b) && (scanErr == nil) != (checkJSON(b, dateClaims, nil) == nil) {
			t.Fatalf("scanJSON and checkJSON disagree on valid JSON %q", b)
		}
		if checkJSON(b, dateClaims, nil) != nil {
			return
		}
		var m map[string]any
		if err := jsonUnmarshal(b, &m); err != nil || m == nil {
			t.Fatalf("checkJSON accepted %q, encoding/json says %v", b, err)
		}
	})
}
