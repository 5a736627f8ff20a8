package csrf_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/keycard-go/keycard/csrf"
)

var page = template.Must(template.New("form").Parse(
	`<form method="post" action="/transfer">{{.CSRF}}<button>Send</button></form>`))

func Example() {
	protect, err := csrf.Protect(&csrf.Options{
		TrustedOrigins: []string{"https://accounts.example"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /transfer", func(w http.ResponseWriter, r *http.Request) {
		// Build the template data (and so the token) before writing the body.
		page.Execute(w, map[string]any{"CSRF": csrf.TemplateField(r)})
	})
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "transferred")
	})
	h := protect(mux)

	// The form page sets the secret cookie and embeds a masked token.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://bank.example/transfer", nil))
	cookies := w.Result().Cookies()
	body := w.Body.String()
	tok := body[strings.Index(body, `value="`)+7:][:csrf.TokenLen]

	post := func(site, token string) int {
		r := httptest.NewRequest("POST", "https://bank.example/transfer",
			strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", site)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	fmt.Println("same-origin with token:", post("same-origin", tok))
	fmt.Println("same-origin without token:", post("same-origin", ""))
	fmt.Println("cross-site with token:", post("cross-site", tok))
	// Output:
	// same-origin with token: 200
	// same-origin without token: 403
	// cross-site with token: 403
}

func ExampleValidateOrigin() {
	for _, o := range []string{"https://app.example", "https://app.example/", "https://App.example", "https://app.example:443"} {
		fmt.Println(o, csrf.ValidateOrigin(o) == nil)
	}
	// Output:
	// https://app.example true
	// https://app.example/ false
	// https://App.example false
	// https://app.example:443 false
}
