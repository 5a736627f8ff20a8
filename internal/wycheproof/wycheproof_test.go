package wycheproof

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilesMatchREADME checks every file in testdata/ against the SHA-256
// its README records, so the copies stay the unmodified upstream files the
// README says they are, and no file is kept without being listed.
func TestFilesMatchREADME(t *testing.T) {
	readme, err := os.ReadFile("testdata/README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // file name -> SHA-256 from the README table
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		unquote := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		want[unquote(cells[1])] = unquote(cells[3])
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got, w := hex.EncodeToString(sum[:]), want[e.Name()]; got != w {
			t.Errorf("%s: SHA-256 %s, README records %q", e.Name(), got, w)
		}
		seen++
	}
	if seen != len(want) {
		t.Errorf("testdata holds %d files besides the README, README lists %d", seen, len(want))
	}
}

// TestRead checks that every embedded vector file is readable by name.
func TestRead(t *testing.T) {
	names, err := fs.Glob(vectors, "testdata/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded vectors: %v, %v", names, err)
	}
	for _, n := range names {
		if b := Read(t, filepath.Base(n)); len(b) == 0 {
			t.Errorf("Read(%s) is empty", n)
		}
	}
}
