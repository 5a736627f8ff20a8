package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/redisstore"
)

// Open takes a URL; several addresses make a Cluster.
func ExampleOpen() {
	store, err := redisstore.Open("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	tok, h := keycard.NewToken()
	_ = tok // goes to the client; only its hash is stored
	_, err = store.Get(context.Background(), h)
	fmt.Println(errors.Is(err, keycard.ErrNotFound))
}

// New takes a client you configured yourself: here a Cluster client, with
// context deadlines honoured and a prefix per application.
func ExampleNew() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store, err := redisstore.New(client, &redisstore.Options{Prefix: "shop:keycard:"})
	if err != nil {
		log.Fatal(err)
	}
	_ = store // keycard.New(store, nil)
}
