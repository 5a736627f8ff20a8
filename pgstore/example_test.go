package pgstore_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard/pgstore"
)

// Open connects, migrates and returns a Store that owns its pool.
func ExampleOpen() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, "postgres://keycard@localhost:5432/app?sslmode=disable")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	_ = store // keycard.New(store, nil)
}

// New uses a pool the application already has, with Keycard's tables in a
// schema of their own.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@localhost:5432/app?sslmode=disable")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool, &pgstore.Options{Schema: "keycard"})
	if err != nil {
		log.Fatal(err)
	}
	_ = store
}
