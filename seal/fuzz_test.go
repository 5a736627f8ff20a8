package seal

import (
	"bytes"
	"testing"
	"time"

	"github.com/keycard-go/keycard/internal/testclock"
)

// FuzzRoundTrip checks Open(Seal(x)) == x for any data, cookie name and purpose.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(""), "__Host-keycard", "session")
	f.Add([]byte(`{"sub":"alice"}`), "c", "flash")
	f.Add([]byte{0, 0xff, '\n'}, "", "")
	s := newSealer(f, testclock.New(t0), secretA, secretB)
	f.Fuzz(func(t *testing.T, data []byte, name, purpose string) {
		v, err := s.Seal(name, purpose, data, t0.Add(time.Minute))
		if err != nil {
			if len(name)+1+enc.EncodedLen(overhead+len(data)) <= MaxCookieLen {
				t.Fatalf("Seal(%d bytes, name %d bytes) = %v", len(data), len(name), err)
			}
			return
		}
		got, err := s.Open(name, purpose, v)
		if err != nil {
			t.Fatalf("Open(Seal(x)) = %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("Open(Seal(x)) = %x, want %x", got, data)
		}
		if name != "" {
			if _, err := s.Open(name[1:], purpose, v); err == nil {
				t.Fatal("value opened under a shorter cookie name")
			}
		}
		if _, err := s.Open(name, purpose+"x", v); err == nil {
			t.Fatal("value opened for another purpose")
		}
	})
}

// FuzzOpenMutated checks that Open never panics and that no input other than
// the values this test sealed ever opens: a mutation of a sealed value never
// opens. The seed corpus is in testdata/fuzz/FuzzOpenMutated.
func FuzzOpenMutated(f *testing.F) {
	c := testclock.New(t0)
	s := newSealer(f, c, secretA)
	fixed := bytes.Repeat([]byte{0x5a}, nonceLen)
	s.nonce = func(b []byte) { copy(b, fixed) }
	sealed := map[string]bool{}
	for _, d := range []string{"", "payload", `{"sub":"alice","sid":"s1"}`} {
		v, err := s.Seal("a", "p", []byte(d), t0.Add(time.Hour))
		if err != nil {
			f.Fatal(err)
		}
		sealed[v] = true
		f.Add(v)
	}
	s.nonce = randNonce
	f.Fuzz(func(t *testing.T, value string) {
		got, err := s.Open("a", "p", value)
		if err == nil && !sealed[value] {
			t.Fatalf("Open accepted a value that was never sealed: %q -> %q", value, got)
		}
		if err != nil && (err != ErrInvalid || got != nil) {
			t.Fatalf("Open = %q, %v; want nil, ErrInvalid", got, err)
		}
		_, _ = Nonce(value)
	})
}
