package guard_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/keycard-go/keycard/guard"
)

func Example() {
	key := bytes.Repeat([]byte{42}, 32) // in production: 32 random bytes from configuration
	g, err := guard.New(key, &guard.Options{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		panic(err)
	}

	// At login: record the fingerprint with the session.
	login := httptest.NewRequest("POST", "/login", nil)
	login.RemoteAddr = "10.0.0.1:5000" // the load balancer
	login.Header.Set("X-Forwarded-For", "198.51.100.7")
	login.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
	login.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	stored := g.Fingerprint(login)
	fmt.Println("client:", g.ClientIP(login))

	// Later: the same token from another network and another browser.
	later := login.Clone(login.Context())
	later.Header.Set("X-Forwarded-For", "203.0.113.9")
	later.Header.Set("User-Agent", "curl/8.5.0")
	v := g.Check(stored, later)
	fmt.Println("changed:", v.Changed, "action:", v.Action)
	// Output:
	// client: 198.51.100.7
	// changed: [browser network] action: reauth
}

func ExampleGuard_Limit() {
	g, _ := guard.New(bytes.Repeat([]byte{42}, 32), &guard.Options{InvalidPerMinute: 2, InvalidBurst: 2})
	sessions := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Invalid(r) // the store found no such token
		http.Error(w, "no session", http.StatusUnauthorized)
	})
	h := g.Limit(sessions)
	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "198.51.100.7:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%d Retry-After=%q\n", w.Code, w.Header().Get("Retry-After"))
	}
	// Output:
	// 401 Retry-After=""
	// 401 Retry-After=""
	// 429 Retry-After="30"
}
