package redisstore_test

import (
	"log"
	"net/http"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/redisstore"
)

// Example keeps sessions in Redis, shared by every node of a deployment. It
// needs a server, so it is compiled but not run.
func Example() {
	store, err := redisstore.Open("redis://127.0.0.1:6379/0") // several hosts: a Cluster
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
