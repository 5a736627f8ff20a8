// Command realapp is the README's "a real app": sessions in SQLite, CSRF
// protection, login, logout and "sign out everywhere", behind a reverse
// proxy. Run it with DEMO_PASSWORD and FINGERPRINT_KEY (32+ bytes) set.
package main

import (
	"crypto/subtle"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/csrf"
	"github.com/keycard-go/keycard/guard"
	"github.com/keycard-go/keycard/sqlitestore"
)

var page = template.Must(template.New("").Parse(`<!doctype html><title>app</title>
{{if .User}}<p>Hello {{.User}}</p>
<form method="post" action="/logout">{{.CSRF}}<button>Log out</button></form>
<form method="post" action="/logout-everywhere">{{.CSRF}}<button>Sign out everywhere</button></form>
{{else}}<form method="post" action="/login">{{.CSRF}}
<input name="username"> <input name="password" type="password"> <button>Log in</button></form>{{end}}`))

func main() {
	store, err := sqlitestore.Open("app.db", nil) // sessions survive restarts
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	// Behind a proxy: believe its X-Forwarded-For, and no one else's.
	g, err := guard.New([]byte(os.Getenv("FINGERPRINT_KEY")), &guard.Options{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := keycard.New(store, &keycard.Options{Guard: g.Keycard()})
	if err != nil {
		log.Fatal(err)
	}
	protect, err := csrf.New(&csrf.Options{Secrets: sessions.CSRFSecrets()})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		if err := page.Execute(w, map[string]any{"User": s.Subject(), "CSRF": csrf.TemplateField(r)}); err != nil {
			log.Print(err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("username")
		if !checkPassword(user, r.PostFormValue("password")) {
			http.Error(w, "wrong user name or password", http.StatusUnauthorized)
			return
		}
		if err := keycard.Login(r.Context(), user); err != nil { // a new token
			http.Error(w, "please try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.Logout(r.Context()); err != nil {
			http.Error(w, "please try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		info, ok := keycard.FromContext(r.Context()).Info()
		if !ok || info.Subject == "" {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		if _, err := sessions.RevokeAll(r.Context(), info.Subject, info.ID); err != nil {
			http.Error(w, "please try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})

	srv := &http.Server{
		Addr:              "127.0.0.1:8080", // the proxy terminates TLS and forwards here
		Handler:           sessions.Handler(protect.Handler(mux)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Fatal(srv.ListenAndServe())
}

// checkPassword stands in for your user store: compare a password hash
// (argon2id, bcrypt) there. This one knows one user, "alice".
func checkPassword(user, password string) bool {
	want := os.Getenv("DEMO_PASSWORD")
	ok := subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1
	return user == "alice" && want != "" && ok
}
