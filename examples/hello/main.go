// Command hello is a small web application that uses Keycard sessions: a
// login form, the current session with its deadlines, a counter kept in the
// session, the user's other sessions with "sign out everywhere else", and
// logout, and a "Remember me" box that keeps a user signed in for 30 days
// unless unused for a week. It keeps sessions in memory.
//
//	go run ./examples/hello
//
// then open http://localhost:8080. Browsers treat localhost as a secure
// context, so the default __Host- cookie with Secure works without TLS there.
// There are no passwords: any name logs in. Do not deploy it.
package main

import (
	"flag"
	"html/template"
	"log"
	"net/http"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storage"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Keycard hello</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>Keycard hello</h1>
{{if .Info.Subject}}
<p>Signed in as <b id="subject">{{.Info.Subject}}</b>.</p>
<table>
<tr><td>Session ID</td><td><code id="sid">{{.Info.ID}}</code></td></tr>
<tr><td>Created</td><td>{{.Info.CreatedAt.Format "15:04:05"}}</td></tr>
<tr><td>Idle deadline</td><td>{{.Info.IdleExpiresAt.Format "Jan 2 15:04:05"}}</td></tr>
<tr><td>Absolute deadline</td><td>{{.Info.ExpiresAt.Format "Jan 2 15:04:05"}}</td></tr>
</table>
<p>Counter: <b id="counter">{{.Counter}}</b></p>
<form method="post" action="/count"><button>Count</button></form>
<h2>Your sessions</h2>
<ul>{{range .Devices}}<li><code>{{.ID}}</code> {{.UserAgent}} since {{.CreatedAt.Format "15:04:05"}}</li>{{end}}</ul>
<form method="post" action="/revoke-others"><button>Sign out everywhere else</button></form>
<form method="post" action="/logout"><button id="logout">Log out</button></form>
{{else}}
<form method="post" action="/login">
<label>Name <input name="username" autocomplete="username"></label>
<label><input type="checkbox" name="remember" value="1"> Remember me</label>
<button id="login">Log in</button>
</form>
{{end}}
</body></html>`))

func main() {
	addr := flag.String("addr", "localhost:8080", "listen address")
	flag.Parse()

	store := memstore.New(nil)
	defer store.Close()
	handler, err := newApp(store)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("Keycard hello: open http://%s", *addr)
	log.Fatal(srv.ListenAndServe())
}

// options are the session settings of the example: the secure defaults,
// plus what "Remember me" means here. Without RememberMe, SetRememberMe(true)
// fails: a remembered session needs limits the application chose.
var options = &keycard.Options{
	RememberMe: keycard.RememberMe{
		IdleTimeout:     7 * 24 * time.Hour,  // signed out after a week unused
		AbsoluteTimeout: 30 * 24 * time.Hour, // and 30 days after signing in, at the latest
	},
}

// newApp returns the application's handler, with its sessions in store.
func newApp(store storage.Store) (http.Handler, error) {
	sessions, err := keycard.New(store, options)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		data := struct {
			Info    keycard.Info
			Counter int64
			Devices []keycard.Info
		}{Counter: s.GetInt("counter")}
		data.Info, _ = s.Info()
		if data.Info.Subject != "" {
			data.Devices, _ = sessions.List(r.Context(), data.Info.Subject)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, data); err != nil {
			log.Print(err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := r.PostFormValue("username")
		if name == "" || len(name) > 64 {
			http.Error(w, "a name of 1 to 64 bytes, please", http.StatusBadRequest)
			return
		}
		s := keycard.FromContext(r.Context())
		if err := s.Login(name); err != nil {
			http.Error(w, "login failed: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if r.PostFormValue("remember") == "1" {
			if err := s.SetRememberMe(true); err != nil {
				http.Error(w, "login failed: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /count", func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		if err := s.Put("counter", s.GetInt("counter")+1); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /revoke-others", func(w http.ResponseWriter, r *http.Request) {
		s := keycard.FromContext(r.Context())
		if info, ok := s.Info(); ok && info.Subject != "" {
			if _, err := sessions.RevokeAll(r.Context(), info.Subject, info.ID); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := keycard.Logout(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})

	// Cross-origin form posts are refused (Sec-Fetch-Site / Origin checks).
	return http.NewCrossOriginProtection().Handler(sessions.Handler(mux)), nil
}
