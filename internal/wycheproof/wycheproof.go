// Package wycheproof reads the test vectors of the Wycheproof project (Go
// module github.com/c2sp/wycheproof, a test-only requirement of Keycard's
// module) from the module cache, for the seal and jwt tests.
package wycheproof

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/c2sp/wycheproof"

// Read returns the contents of the vector file name in testvectors_v1, such
// as "ed25519_test.json", failing t when it cannot.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatalf("module %s is not in the module cache; run go mod download %s", module, module)
	}
	b, err := os.ReadFile(filepath.Join(dir, "testvectors_v1", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
