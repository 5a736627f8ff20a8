package gateway_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the configurations in docs/gateway.md from testdata/")

// docParams are the addresses docs/gateway.md shows.
var docParams = configParams{Listen: "80", Site: "app.example.com", Keycard: "127.0.0.1:8080", App: "127.0.0.1:3000"}

// TestDocsShowTestedConfigs: the nginx and Caddy configurations of
// docs/gateway.md are the tested templates of testdata/, filled with
// docParams, each in the code block after its <!-- gateway/testdata/… -->
// marker (go test ./gateway -run Docs -update-docs rewrites them).
func TestDocsShowTestedConfigs(t *testing.T) {
	const path = "../docs/gateway.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, name := range []string{"nginx.conf", "keycard-auth.conf", "keycard-identity.conf", "Caddyfile"} {
		block := regexp.MustCompile("(<!-- gateway/testdata/" + regexp.QuoteMeta(name) + "\\.tmpl -->\n```[a-z]*\n)((?s:.*?))(```)")
		m := block.FindStringSubmatchIndex(doc)
		if m == nil {
			t.Errorf("%s: no code block after <!-- gateway/testdata/%s.tmpl -->", path, name)
			continue
		}
		want := render(t, name, docParams)
		if got := doc[m[4]:m[5]]; got != want {
			if *updateDocs {
				doc = doc[:m[4]] + want + doc[m[5]:]
				continue
			}
			t.Errorf("%s shows another %s than the tested testdata/%s.tmpl (go test ./gateway -run Docs -update-docs):\n%s", path, name, name, diffLine(got, want))
		}
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// diffLine names the first line where got and want differ.
func diffLine(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d: doc %q, tested %q", i+1, gl, wl)
		}
	}
	return ""
}
