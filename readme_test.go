package keycard_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeQuickStart keeps the README's quick start honest: it must be the
// program in examples/quickstart, which `go vet ./...` compiles.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile("examples/quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```go\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("README has no Go code block")
	}
	if block != string(prog) {
		t.Fatal("README's quick start differs from examples/quickstart/main.go")
	}
	if n := strings.Count(block, "\n"); n > 25 {
		t.Fatalf("quick start is %d lines; keep it short", n)
	}
}
