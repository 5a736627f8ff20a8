package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"

	"github.com/keycard-go/keycard/server"
	"github.com/keycard-go/keycard/storage"
)

// demoUser is the local user `keycard demo` signs in.
const demoUser = "demo"

// setDemoUser creates the demo user, or resets its password and enables it,
// with a new random password, which it returns.
func setDemoUser(ctx context.Context, store storage.Store) (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	password := base64.RawURLEncoding.EncodeToString(b)
	err := server.AddUser(ctx, store, demoUser, password)
	if errors.Is(err, server.ErrUserExists) {
		if _, err = server.SetPassword(ctx, store, demoUser, password); err == nil {
			_, err = server.SetDisabled(ctx, store, demoUser, false)
		}
	}
	if err != nil {
		return "", err
	}
	return password, nil
}
