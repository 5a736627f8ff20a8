// Package wycheproof holds the Project Wycheproof test vectors that the seal
// and jwt tests run: copies of the upstream files in testdata/, embedded in
// the package, so the tests need no network and no module cache. Only tests
// import it. testdata/README.md names the upstream version and license.
package wycheproof

import (
	"embed"
	"testing"
)

//go:embed testdata/*.json
var vectors embed.FS

// Read returns the contents of the vector file name, such as
// "ed25519_test.json" (the name it has in Wycheproof's testvectors_v1),
// failing t when the file is not one of those kept in testdata/.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := vectors.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("wycheproof: %v (the vectors kept are in internal/wycheproof/testdata)", err)
	}
	return b
}
