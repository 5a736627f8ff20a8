package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "keycard-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keycard.db")

	// Defaults: expired sessions are swept every minute until Close.
	store, err := sqlitestore.Open(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	_, h := storetest.NewToken()
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := &storage.Record{
		Hash: h, ID: "example-session", Subject: "alice", Kind: storage.KindBrowser,
		CreatedAt: now, IdleExpiresAt: now.Add(30 * time.Minute), ExpiresAt: now.Add(12 * time.Hour),
	}
	if err := store.Create(context.Background(), r); err != nil {
		log.Fatal(err)
	}
	sessions, err := store.List(context.Background(), "alice")
	if err != nil {
		log.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(sessions), sessions[0].ID, sessions[0].Version, fi.Mode().Perm())
	// Output: 1 example-session 1 -rw-------
}
