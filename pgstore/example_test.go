package pgstore_test

import (
	"context"
	"log"
	"net/http"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/pgstore"
)

// Example keeps sessions in PostgreSQL; Open applies the embedded migrations.
// It needs a server, so it is compiled but not run.
func Example() {
	store, err := pgstore.Open(context.Background(), "postgres://keycard@127.0.0.1:5432/app?sslmode=disable")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	sessions, err := keycard.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("localhost:8080", sessions.Handler(http.NotFoundHandler())))
}
