package client_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/keycard-go/keycard/client"
)

// A CLI keeps the cookies of a cookie-session site across runs: open the
// jar, use it, save it.
func ExampleCookieJar() {
	dir, err := os.MkdirTemp("", "jar")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keycard", "cookies.json")

	jar, err := client.OpenCookieJar(path, nil)
	if err != nil {
		panic(err)
	}
	site, _ := url.Parse("https://app.example.com/login")
	jar.SetCookieLines(site, []string{
		"sid=abc; Path=/; Max-Age=3600; Secure; HttpOnly",
		"tracker=1; Domain=com", // refused: com is a public suffix
		"tmp=1",                 // a session cookie: not saved by default
	})
	if err := jar.Save(); err != nil {
		panic(err)
	}

	next, err := client.OpenCookieJar(path, nil) // a later run
	if err != nil {
		panic(err)
	}
	home, _ := url.Parse("https://app.example.com/home")
	fmt.Println(next.CookieHeader(home))
	// Output: sid=abc
}
