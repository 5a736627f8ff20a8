package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteKeyFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.json")
	kf, err := newKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeKeyFile(path, kf, false); err != nil {
		t.Fatal(err)
	}
	// Creating it again does not replace it.
	other, _ := newKeyFile()
	if err := writeKeyFile(path, other, false); !os.IsExist(err) {
		t.Errorf("creating over an existing file: %v, want it to exist", err)
	}
	if got, _ := readKeyFile(path); !bytes.Equal(got.FingerprintKey, kf.FingerprintKey) {
		t.Errorf("the existing file was replaced")
	}
	if err := writeKeyFile(path, other, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := readKeyFile(path); !bytes.Equal(got.FingerprintKey, other.FingerprintKey) {
		t.Errorf("the file was not replaced")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left in the directory: %v", entries)
	}
	if err := writeKeyFile(filepath.Join(dir, "missing", "k.json"), kf, true); err == nil {
		t.Errorf("writing into a missing directory succeeded")
	}
}
