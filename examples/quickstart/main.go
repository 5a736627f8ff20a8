package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
)

func main() {
	sessions, err := keycard.New(memstore.New(nil), nil) // nil: secure defaults
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password first; Login then replaces the token.
		if err := keycard.Login(r.Context(), "alice"); err != nil {
			http.Error(w, "login failed, try again", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello", keycard.FromContext(r.Context()).Subject())
	})
	log.Fatal(http.ListenAndServe("localhost:8080", sessions.Handler(mux)))
}
