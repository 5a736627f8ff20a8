package jwt_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/keycard-go/keycard/jwt"
)

func Example() {
	// The Keycard side: a signing key (in production from GenerateKey or
	// ParseSigningKey) and an Issuer.
	key, err := jwt.NewSigningKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		panic(err)
	}
	iss, err := jwt.NewIssuer("https://keycard.example", key, nil)
	if err != nil {
		panic(err)
	}
	session := jwt.Session{Subject: "alice", ID: "s-123", AuthTime: time.Now().Add(-time.Hour)}
	tok, _, err := iss.Mint(session, "https://api.example")
	if err != nil {
		panic(err)
	}

	// The resource server: it trusts the issuer's JWKS (fetched with
	// NewRemoteKeySet in production) for its own audience only.
	doc, _ := iss.JWKS()
	keys, err := jwt.ParseJWKS(doc)
	if err != nil {
		panic(err)
	}
	v, err := jwt.NewVerifier("https://keycard.example", "https://api.example", keys, nil)
	if err != nil {
		panic(err)
	}
	c, err := v.Verify(context.Background(), tok)
	fmt.Println(c.Subject, c.SessionID, err)
	fmt.Println("valid for", c.ExpiresAt.Sub(c.IssuedAt))

	// Another service's verifier refuses the same token.
	other, _ := jwt.NewVerifier("https://keycard.example", "https://billing.example", keys, nil)
	_, err = other.Verify(context.Background(), tok)
	fmt.Println(errors.Is(err, jwt.ErrInvalidToken))
	// Output:
	// alice s-123 <nil>
	// valid for 1m0s
	// true
}

func ExampleIssuer_JWKS() {
	key, _ := jwt.NewSigningKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))
	iss, _ := jwt.NewIssuer("https://keycard.example", key, nil)
	doc, _ := iss.JWKS()
	fmt.Println(string(doc))
	// Output:
	// {"keys":[{"kty":"OKP","crv":"Ed25519","x":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w","kid":"UDDReOZl1ipXAfp9wYsm13sDBMK5og--QWdBjzuf6o4","alg":"EdDSA","use":"sig"}]}
}

func ExampleIssuer_Rotate() {
	oldKey, _ := jwt.GenerateKey(jwt.EdDSA)
	newKey, _ := jwt.GenerateKey(jwt.EdDSA)
	iss, _ := jwt.NewIssuer("https://keycard.example", oldKey, nil)
	v, _ := jwt.NewVerifier("https://keycard.example", "https://api.example", iss, nil)
	session := jwt.Session{Subject: "alice", ID: "s-123", AuthTime: time.Now()}

	before, _, _ := iss.Mint(session, "https://api.example")
	_ = iss.Rotate(newKey) // the new key signs; the old one stays published
	after, _, _ := iss.Mint(session, "https://api.example")

	_, err1 := v.Verify(context.Background(), before)
	_, err2 := v.Verify(context.Background(), after)
	fmt.Println(err1, err2)
	// Output: <nil> <nil>
}

func ExampleVerifierOptions_revocation() {
	ended := map[string]bool{"s-123": true} // in production: the session store
	opts := &jwt.VerifierOptions{
		Revocation: jwt.RevocationFunc(func(ctx context.Context, c *jwt.Claims) (bool, error) {
			return ended[c.SessionID], nil
		}),
	}
	key, _ := jwt.GenerateKey(jwt.EdDSA)
	iss, _ := jwt.NewIssuer("https://keycard.example", key, nil)
	v, _ := jwt.NewVerifier("https://keycard.example", "https://api.example", iss, opts)
	tok, _, _ := iss.Mint(jwt.Session{Subject: "alice", ID: "s-123", AuthTime: time.Now()}, "https://api.example")
	_, err := v.Verify(context.Background(), tok)
	fmt.Println(err)
	// Output: jwt: invalid access token
}

// A resource server that trusts a Keycard deployment's published keys.
func ExampleNewRemoteKeySet() {
	ctx := context.Background() // cancel it to stop the background refresh
	keys, err := jwt.NewRemoteKeySet(ctx, "https://keycard.example/.well-known/jwks.json", nil)
	if err != nil {
		panic(err)
	}
	v, err := jwt.NewVerifier("https://keycard.example", "https://api.example", keys, &jwt.VerifierOptions{Leeway: 5 * time.Second})
	if err != nil {
		panic(err)
	}
	_ = v // use v.Verify(r.Context(), bearerToken) in a handler
}
