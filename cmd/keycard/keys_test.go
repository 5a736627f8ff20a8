package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keycard-go/keycard/server"
)

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, keyFileName)
	keys := func(args ...string) result {
		t.Helper()
		// The default key file sits next to the sqlite database.
		return run(t, append([]string{"keys"}, append(args, "--store", "sqlite:"+filepath.Join(dir, "keycard.db"))...))
	}

	if got := keys("list"); got.code != exitError || !strings.Contains(got.stderr, "no key file at "+path) {
		t.Errorf("keys list without a file: %+v", got)
	}
	if got := keys("rotate"); got.code != exitError {
		t.Errorf("keys rotate without a file: %+v", got)
	}
	if got := keys("generate"); got.code != exitOK || got.stdout != "created "+path+"\n" {
		t.Fatalf("keys generate: %+v", got)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	first, _ := os.ReadFile(path)
	if got := keys("generate"); got.code != exitOK || !strings.Contains(got.stdout, "left unchanged") {
		t.Errorf("keys generate again: %+v", got)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(first, again) {
		t.Errorf("keys generate changed an existing file")
	}

	// keys admin prints a key once and stores only its hash.
	got := keys("admin")
	key := strings.TrimSpace(got.stdout)
	if got.code != exitOK || !strings.HasPrefix(key, "kcadm_") || !strings.Contains(got.stderr, "only once") {
		t.Fatalf("keys admin: %+v", got)
	}
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte(key)) {
		t.Errorf("the key file holds the admin key itself")
	}
	kf, err := readKeyFile(path)
	if err != nil || len(kf.AdminKeyHashes) != 1 || kf.AdminKeyHashes[0] != server.HashAdminKey(key) {
		t.Fatalf("admin hashes %q, %v", kf.AdminKeyHashes, err)
	}
	// serve accepts it.
	m, _, _ := startServe(t, []string{"--store", "memory:", "--keys-file", path})
	if hs, err := m.runner.(*serve).f.adminKeyHashes(kf); err != nil || len(hs) != 1 {
		t.Errorf("serve's admin keys: %q, %v", hs, err)
	}
	m.Close()

	// keys rotate adds keys and keeps the newest maxKeys.
	firstKID := kf.signers[0].KeyID()
	for i := 2; i <= maxKeys+1; i++ {
		if got := keys("rotate"); got.code != exitOK || !strings.Contains(got.stdout, "added signing key") {
			t.Fatalf("keys rotate: %+v", got)
		}
		kf, err = readKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(i, maxKeys); len(kf.SigningKeys) != want || len(kf.SealSecrets) != want {
			t.Errorf("after %d rotations: %d signing keys, %d seal secrets, want %d", i-1, len(kf.SigningKeys), len(kf.SealSecrets), want)
		}
	}
	if kf.signers[0].KeyID() == firstKID {
		t.Errorf("the oldest signing key was not dropped")
	}
	if len(kf.AdminKeyHashes) != 1 || !bytes.Equal(kf.FingerprintKey, mustRead(t, first).FingerprintKey) {
		t.Errorf("keys rotate changed the admin hashes or the fingerprint key")
	}

	got = keys("list")
	if got.code != exitOK {
		t.Fatalf("keys list: %+v", got)
	}
	for _, s := range kf.signers {
		if !strings.Contains(got.stdout, s.KeyID()) {
			t.Errorf("keys list lacks signing key %s", s.KeyID())
		}
	}
	if !strings.Contains(got.stdout, short(kf.AdminKeyHashes[0])) {
		t.Errorf("keys list lacks the admin key hash:\n%s", got.stdout)
	}
	// No secret is printed.
	for _, secret := range append(kf.SealSecrets, kf.FingerprintKey, kf.AuditSalt) {
		if strings.Contains(got.stdout, base64.StdEncoding.EncodeToString(secret)) || strings.Contains(got.stdout, "PRIVATE KEY") {
			t.Errorf("keys list prints a secret")
		}
	}
}

func mustRead(t *testing.T, b []byte) *keyFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.json")
	os.WriteFile(path, b, 0o600)
	kf, err := readKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return kf
}

func TestKeysUsage(t *testing.T) {
	dir := t.TempDir()
	testExits(t, []exitTest{
		{name: "group alone", args: []string{"keys"}, code: exitUsage, stderr: "keys needs a subcommand"},
		{name: "argument", args: []string{"keys", "rotate", "now"}, code: exitUsage, stderr: "takes no arguments"},
		{name: "no key file", args: []string{"keys", "list", "--keys-file", dir + "/none.json"}, code: exitError, stderr: "keycard keys generate"},
	})
}

func TestKeysNeedAFile(t *testing.T) {
	for _, store := range []string{"memory:", "redis://127.0.0.1:1", "postgresql://db/keycard"} {
		if got := run(t, []string{"keys", "generate", "--store", store}); got.code != exitUsage || !strings.Contains(got.stderr, "--keys-file") {
			t.Errorf("keys generate --store %s: %+v", store, got)
		}
	}
	path := filepath.Join(t.TempDir(), "k.json")
	got := run(t, []string{"keys", "admin"}, withEnv(map[string]string{"KEYCARD_KEYS_FILE": path, "KEYCARD_STORE": "redis://127.0.0.1:1"}))
	if got.code != exitOK {
		t.Fatalf("keys admin with KEYCARD_KEYS_FILE: %+v", got)
	}
	if _, err := readKeyFile(path); err != nil {
		t.Errorf("keys admin did not create the file: %v", err)
	}
}

func TestKeysRefuseLooseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	run(t, []string{"keys", "generate", "--keys-file", path})
	os.Chmod(path, 0o644)
	for _, op := range []string{"list", "rotate", "admin", "generate"} {
		got := run(t, []string{"keys", op, "--keys-file", path})
		if got.code != exitError || !strings.Contains(got.stderr, "chmod 600 "+path) {
			t.Errorf("keys %s on a loose file: %+v", op, got)
		}
	}
}
