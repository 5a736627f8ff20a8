package server

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id at OWASP's parameters", h)
	}
	if !checkPassword(h, testPassword) || checkPassword(h, testPassword+"x") || checkPassword(h, "") {
		t.Fatal("checkPassword is wrong")
	}
	h2, _ := hashPassword(testPassword)
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if checkPassword(dummyHash(), "keycard dummy password, never matched") != true {
		t.Fatal("the dummy hash is not a working hash")
	}
}

func TestParsePHCRefusesHostileParameters(t *testing.T) {
	h, _ := hashPassword(testPassword)
	parts := strings.Split(h, "$")
	for _, params := range []string{"m=99999999,t=2,p=1", "m=19456,t=99,p=1", "m=19456,t=2,p=0", "m=19456,t=2,p=300", "m=19456,t=2", "x=1,t=2,p=1", "m=-1,t=2,p=1"} {
		bad := strings.Join([]string{"", parts[1], parts[2], params, parts[4], parts[5]}, "$")
		if _, err := parsePHC(bad); err == nil {
			t.Errorf("parsePHC accepted %q", params)
		}
		if checkPassword(bad, testPassword) {
			t.Errorf("checkPassword accepted %q", params)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "plain", h + "$"} {
		if _, err := parsePHC(bad); err == nil {
			t.Errorf("parsePHC accepted %q", bad)
		}
	}
}

func TestAdminKeys(t *testing.T) {
	key, hash, err := NewAdminKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "kcadm_") || HashAdminKey(key) != hash {
		t.Fatalf("key %q hash %q", key, hash)
	}
	for _, s := range []string{key, hash, " " + hash + "\n", "sha256:" + strings.ToUpper(hash[7:])} {
		if got, err := ParseAdminKey(s); err != nil || got != hash {
			t.Errorf("ParseAdminKey(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "kcadm_short", "sha256:abc", "sha256:" + strings.Repeat("z", 64), "hunter2"} {
		if _, err := ParseAdminKey(s); err == nil {
			t.Errorf("ParseAdminKey(%q) accepted", s)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("the error repeats the input: %v", err)
		}
	}
	key2, hash2, _ := NewAdminKey()
	ks, err := newAdminKeys([]string{hash, hash2})
	if err != nil {
		t.Fatal(err)
	}
	if !ks.match(key) || !ks.match(key2) || ks.match(key+"x") || ks.match("") || ks.match(hash) {
		t.Fatal("match is wrong")
	}
}
