package seal_test

import (
	"bytes"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keycard-go/keycard/seal"
)

// TestExpiryUnderSynctest is how an application tests expiry without a
// clock option: in a synctest bubble, time.Now is the bubble's clock, and
// sleeping moves it at once.
func TestExpiryUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ring, err := seal.NewKeyRing(bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		s, err := seal.New(ring, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.Seal("c", "p", []byte("x"), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour - time.Second)
		if _, err := s.Open("c", "p", v); err != nil {
			t.Fatalf("a second before the expiry: %v", err)
		}
		time.Sleep(time.Second)
		if _, err := s.Open("c", "p", v); !errors.Is(err, seal.ErrInvalid) {
			t.Fatalf("at the expiry: got %v, want ErrInvalid", err)
		}
	})
}
