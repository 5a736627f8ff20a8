package csrf

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzDecodeToken checks the token decoder against encoding/base64 and the
// validator's invariant: a string validates for a secret only if it is the
// canonical encoding of some pad followed by pad XOR secret.
func FuzzDecodeToken(f *testing.F) {
	secret := bytes.Repeat([]byte{0x5a}, SecretLen)
	f.Add(maskToken(secret))
	f.Add(maskToken(NewSecret()))
	f.Add("")
	f.Add("A")
	f.Add(string(bytes.Repeat([]byte("A"), TokenLen)))
	f.Add(string(bytes.Repeat([]byte("_"), TokenLen)))
	f.Add(string(bytes.Repeat([]byte("="), TokenLen)))
	f.Add(maskToken(secret)[:TokenLen-1] + "B")
	f.Fuzz(func(t *testing.T, s string) {
		var raw [2 * SecretLen]byte
		ok := decodeToken(s, &raw)

		// encoding/base64 skips CR and LF; a token never contains them.
		ref, err := base64.RawURLEncoding.Strict().DecodeString(s)
		refOK := err == nil && len(ref) == 2*SecretLen && !strings.ContainsAny(s, "\r\n")
		if ok != refOK {
			t.Fatalf("decodeToken(%q) ok=%v, encoding/base64 ok=%v", s, ok, refOK)
		}
		if ok && !bytes.Equal(raw[:], ref) {
			t.Fatalf("decodeToken(%q) = %x, encoding/base64 = %x", s, raw, ref)
		}
		if ok && base64.RawURLEncoding.EncodeToString(raw[:]) != s {
			t.Fatalf("decodeToken(%q) accepted a non-canonical spelling", s)
		}

		valid := validToken(s, secret, nil)
		var want bool
		if ok {
			want = true
			for i := range SecretLen {
				if raw[i]^raw[SecretLen+i] != secret[i] {
					want = false
				}
			}
		}
		if valid != want {
			t.Fatalf("validToken(%q) = %v, want %v", s, valid, want)
		}
	})
}

// FuzzMutatedToken: changing, dropping or inserting any one character of a
// valid token never yields a valid token.
func FuzzMutatedToken(f *testing.F) {
	f.Add(uint8(0), byte('A'), uint8(0))
	f.Add(uint8(85), byte('B'), uint8(1))
	f.Add(uint8(42), byte('-'), uint8(2))
	f.Add(uint8(43), byte(0), uint8(0))
	f.Fuzz(func(t *testing.T, pos uint8, c byte, op uint8) {
		secret := NewSecret()
		tok := maskToken(secret)
		if !validToken(tok, secret, nil) {
			t.Fatal("a fresh token does not validate")
		}
		i := int(pos) % TokenLen
		var m string
		switch op % 3 {
		case 0: // replace
			if tok[i] == c {
				return
			}
			m = tok[:i] + string([]byte{c}) + tok[i+1:]
		case 1: // delete
			m = tok[:i] + tok[i+1:]
		case 2: // insert
			m = tok[:i] + string([]byte{c}) + tok[i:]
		}
		if validToken(m, secret, nil) {
			t.Fatalf("mutated token (op %d at %d) validates", op%3, i)
		}
	})
}
