package jwt_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keycard-go/keycard/jwt"
)

// TestExpiryUnderSynctest is how an application tests expiry without a
// clock option: in a synctest bubble, time.Now is the bubble's clock for
// the Issuer and the Verifier, and sleeping moves it at once.
func TestExpiryUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key, err := jwt.GenerateKey(jwt.EdDSA)
		if err != nil {
			t.Fatal(err)
		}
		iss, err := jwt.NewIssuer("https://keycard.example", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jwt.NewVerifier("https://keycard.example", "https://api.example", iss, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, exp, err := iss.Mint(jwt.Session{Subject: "alice", ID: "s-1", AuthTime: time.Now()}, "https://api.example")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(exp) - time.Second)
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("a second before the expiry: %v", err)
		}
		time.Sleep(time.Second)
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jwt.ErrInvalidToken) {
			t.Fatalf("at the expiry: got %v, want ErrInvalidToken", err)
		}
	})
}
