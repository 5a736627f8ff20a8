package seal_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/keycard-go/keycard/seal"
)

func Example() {
	// In production the secret comes from a secret manager, 32+ random bytes.
	secret := bytes.Repeat([]byte{7}, 32)

	ring, err := seal.NewKeyRing(secret)
	if err != nil {
		panic(err)
	}
	s, err := seal.New(ring, nil)
	if err != nil {
		panic(err)
	}
	v, err := s.Seal("__Host-keycard", "session", []byte(`{"sub":"alice"}`), time.Now().Add(time.Hour))
	if err != nil {
		panic(err)
	}
	data, err := s.Open("__Host-keycard", "session", v)
	fmt.Println(string(data), err)

	// The same value, presented as another cookie, for another purpose,
	// after its expiry, or changed in any way, gets one answer.
	_, err = s.Open("other", "session", v)
	fmt.Println(err)
	_, err = s.Open("__Host-keycard", "flash", v)
	fmt.Println(errors.Is(err, seal.ErrInvalid))
	// Output:
	// {"sub":"alice"} <nil>
	// seal: invalid sealed value
	// true
}

func ExampleNewKeyRing_rotation() {
	oldSecret := bytes.Repeat([]byte{1}, 32)
	newSecret := bytes.Repeat([]byte{2}, 32)
	exp := time.Now().Add(time.Hour)

	oldRing, _ := seal.NewKeyRing(oldSecret)
	s, _ := seal.New(oldRing, nil)
	before, _ := s.Seal("c", "p", []byte("sealed before rotation"), exp)

	// Rotate: the new secret goes first and seals; the old one still opens.
	ring, _ := seal.NewKeyRing(newSecret, oldSecret)
	_ = s.SetKeyRing(ring)
	data, err := s.Open("c", "p", before)
	fmt.Println(string(data), err)

	// Later, the old secret is dropped and its values stop opening.
	newOnly, _ := seal.NewKeyRing(newSecret)
	_ = s.SetKeyRing(newOnly)
	_, err = s.Open("c", "p", before)
	fmt.Println(err)
	// Output:
	// sealed before rotation <nil>
	// seal: invalid sealed value
}

func ExampleNonce() {
	ring, _ := seal.NewKeyRing(bytes.Repeat([]byte{3}, 32))
	s, _ := seal.New(ring, nil)
	v, _ := s.Seal("__Host-keycard", "session", nil, time.Now().Add(time.Hour))
	if _, err := s.Open("__Host-keycard", "session", v); err != nil {
		panic(err)
	}
	token, _ := seal.Nonce(v) // only after Open accepted v
	fmt.Println(len(token))
	// Output: 32
}
