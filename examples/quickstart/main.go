package main

import (
	"fmt"
	"net/http"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
)

func main() {
	sessions, _ := keycard.New(memstore.New(nil), nil) // nil: secure defaults
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		keycard.Login(r.Context(), "alice") // after checking the password; replaces the token
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello", keycard.FromContext(r.Context()).Subject())
	})
	http.ListenAndServe("localhost:8080", sessions.Handler(mux))
}
