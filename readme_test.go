package keycard_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmePrograms keeps the README's programs honest: each Go block must
// be the program in its examples/ directory, which `go vet ./...` compiles.
func TestReadmePrograms(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for rest := string(readme); ; {
		_, after, ok := strings.Cut(rest, "```go\n")
		if !ok {
			break
		}
		block, tail, ok := strings.Cut(after, "```")
		if !ok {
			t.Fatal("README has an unterminated Go code block")
		}
		blocks = append(blocks, block)
		rest = tail
	}
	want := []struct {
		file     string
		maxLines int
	}{
		{"examples/quickstart/main.go", 30},
		{"examples/realapp/main.go", 120},
	}
	if len(blocks) != len(want) {
		t.Fatalf("README has %d Go code blocks, want %d (quick start, a real app)", len(blocks), len(want))
	}
	for i, w := range want {
		prog, err := os.ReadFile(w.file)
		if err != nil {
			t.Fatal(err)
		}
		if blocks[i] != string(prog) {
			t.Errorf("README's Go block %d differs from %s", i+1, w.file)
		}
		if n := strings.Count(blocks[i], "\n"); n > w.maxLines {
			t.Errorf("%s is %d lines; keep it under %d", w.file, n, w.maxLines)
		}
		if strings.Contains(blocks[i], ", _ :=") || strings.Contains(blocks[i], "_ = ") {
			t.Errorf("%s ignores an error", w.file)
		}
	}
}
