package keycard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
)

// Example is the README's quick start, run against an in-process server.
func Example() {
	store := memstore.New(nil)
	defer store.Close()
	sessions, err := keycard.New(store, nil) // nil: secure defaults
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... verify the password, then bind the user; the token is replaced.
		if err := keycard.Login(r.Context(), "alice"); err != nil {
			http.Error(w, "login failed, try again", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello ", keycard.FromContext(r.Context()).Subject())
	})
	srv := httptest.NewTLSServer(sessions.Handler(mux))
	defer srv.Close()

	client := srv.Client()
	res, _ := client.Post(srv.URL+"/login", "", nil)
	cookie := res.Header.Get("Set-Cookie")
	fmt.Println(strings.Join(strings.Split(cookie, "; ")[1:], "; "))

	r, _ := http.NewRequest("GET", srv.URL+"/", nil)
	r.Header.Set("Cookie", strings.Split(cookie, ";")[0])
	res, _ = client.Do(r)
	b, _ := io.ReadAll(res.Body)
	fmt.Println(string(b))
	// Output:
	// Path=/; Secure; HttpOnly; SameSite=Lax
	// hello alice
}

// ExampleSession_Put stores typed values and reads them back.
func ExampleSession_Put() {
	store := memstore.New(nil)
	defer store.Close()
	sessions, _ := keycard.New(store, nil)
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		s.Put("theme", "dark")
		s.Put("visits", 3)
		s.Put("cart", []string{"apple", "pear"})
		cart, _, _ := keycard.Get[[]string](s, "cart")
		fmt.Println(s.GetString("theme"), s.GetInt("visits"), cart)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output: dark 3 [apple pear]
}
