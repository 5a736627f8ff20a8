package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// adminKeyPrefix starts every admin API key, so that secret scanners can
// recognise a leaked one (the way Vault's "hvs." tokens are found).
const adminKeyPrefix = "kcadm_"

// adminHashPrefix starts the stored form of an admin key: its SHA-256. A
// plain hash is enough: the key is 256 random bits, not a password.
const adminHashPrefix = "sha256:"

// NewAdminKey returns a new admin API key, to be shown once, and the hash
// (HashAdminKey) under which the server keeps it.
func NewAdminKey() (key, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	key = adminKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return key, HashAdminKey(key), nil
}

// HashAdminKey returns the stored form of an admin API key: "sha256:" and
// the hex SHA-256 of the key.
func HashAdminKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return adminHashPrefix + hex.EncodeToString(sum[:])
}

// ParseAdminKey accepts either an admin key ("kcadm_…") or its stored hash
// ("sha256:…", as `keycard keys admin` writes it) and returns the hash, so
// that a flag, an environment variable or a file can give either. The
// error never repeats the input.
func ParseAdminKey(s string) (hash string, err error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, adminHashPrefix):
		h := strings.TrimPrefix(s, adminHashPrefix)
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			return "", errors.New("server: an admin key hash is \"sha256:\" and 64 hex digits")
		}
		return adminHashPrefix + strings.ToLower(h), nil
	case strings.HasPrefix(s, adminKeyPrefix) && len(s) == len(adminKeyPrefix)+43:
		return HashAdminKey(s), nil
	}
	return "", errors.New("server: not an admin key (kcadm_…) nor its hash (sha256:…); make one with `keycard keys admin`")
}

// adminKeys checks presented admin keys against the configured hashes.
type adminKeys [][sha256.Size]byte

func newAdminKeys(hashes []string) (adminKeys, error) {
	var ks adminKeys
	for _, h := range hashes {
		h, err := ParseAdminKey(h)
		if err != nil {
			return nil, err
		}
		b, _ := hex.DecodeString(strings.TrimPrefix(h, adminHashPrefix))
		ks = append(ks, [sha256.Size]byte(b))
	}
	return ks, nil
}

// match reports whether key is one of the admin keys. It compares the
// key's hash with every configured hash in constant time and looks at all
// of them, so the time taken tells nothing about which one (if any) matched.
func (ks adminKeys) match(key string) bool {
	sum := sha256.Sum256([]byte(key))
	ok := 0
	for i := range ks {
		ok |= subtle.ConstantTimeCompare(sum[:], ks[i][:])
	}
	return ok == 1
}
