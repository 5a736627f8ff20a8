package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/keycard-go/keycard/jwt"
	"github.com/keycard-go/keycard/server"
)

// The key file holds the secrets of one Keycard deployment: the JWT
// signing keys, the seal secrets, the fingerprint key, the audit salt and
// the hashes of the admin API keys. Every node of a deployment needs the same
// file; a restart that reuses it keeps sessions, refresh tokens and access
// tokens valid.

const (
	keyFileVersion = 1
	// keyFileName is the default key file's name, next to a sqlite store's
	// database.
	keyFileName = "keycard-keys.json"
	// maxKeys is how many signing keys and seal secrets `keys rotate` keeps:
	// the newest signs or seals, the older ones still verify or open.
	maxKeys = 3
	// secretLen is the length of the generated seal secrets, fingerprint
	// key and audit salt.
	secretLen = 32
)

// keyFile is the key file's JSON form.
type keyFile struct {
	Version        int          `json:"version"`
	SigningKeys    []signingKey `json:"signing_keys"`     // oldest first; the last signs
	SealSecrets    [][]byte     `json:"seal_secrets"`     // oldest first; the last seals (used with --seal)
	FingerprintKey []byte       `json:"fingerprint_key"`  // keys the guard's client fingerprints
	AuditSalt      []byte       `json:"audit_salt"`       // keys the audit log's subject hashes
	AdminKeyHashes []string     `json:"admin_key_hashes"` // "sha256:…", from `keycard keys admin`

	signers []*jwt.SigningKey // parsed SigningKeys
}

// signingKey is one JWT signing key: a PKCS #8 PEM private key.
type signingKey struct {
	PEM       string    `json:"pem"`
	CreatedAt time.Time `json:"created_at"`
}

func randomSecret() ([]byte, error) {
	b := make([]byte, secretLen)
	_, err := rand.Read(b)
	return b, err
}

// newKeyFile returns a fresh key file: one signing key, one seal secret, a
// fingerprint key and an audit salt.
func newKeyFile() (*keyFile, error) {
	kf := &keyFile{Version: keyFileVersion}
	var err error
	if kf.FingerprintKey, err = randomSecret(); err != nil {
		return nil, err
	}
	if kf.AuditSalt, err = randomSecret(); err != nil {
		return nil, err
	}
	if err := kf.rotate(); err != nil {
		return nil, err
	}
	return kf, nil
}

// rotate adds a new signing key and seal secret and drops the oldest beyond
// maxKeys.
func (kf *keyFile) rotate() error {
	k, err := jwt.GenerateKey(jwt.EdDSA)
	if err != nil {
		return err
	}
	p, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	secret, err := randomSecret()
	if err != nil {
		return err
	}
	kf.SigningKeys = append(kf.SigningKeys, signingKey{PEM: string(p), CreatedAt: time.Now().UTC().Truncate(time.Second)})
	kf.signers = append(kf.signers, k)
	kf.SealSecrets = append(kf.SealSecrets, secret)
	if n := len(kf.SigningKeys) - maxKeys; n > 0 {
		kf.SigningKeys = kf.SigningKeys[n:]
		kf.signers = kf.signers[n:]
	}
	if n := len(kf.SealSecrets) - maxKeys; n > 0 {
		kf.SealSecrets = kf.SealSecrets[n:]
	}
	return nil
}

// check validates a key file read from disk and parses its signing keys.
// Its errors name the field, never its content.
func (kf *keyFile) check() error {
	if kf.Version != keyFileVersion {
		return fmt.Errorf("version %d, this keycard reads version %d", kf.Version, keyFileVersion)
	}
	if len(kf.SigningKeys) == 0 {
		return errors.New("no signing_keys")
	}
	kf.signers = nil
	for i, sk := range kf.SigningKeys {
		k, err := jwt.ParseSigningKey([]byte(sk.PEM))
		if err != nil {
			return fmt.Errorf("signing_keys[%d]: %w", i, err)
		}
		kf.signers = append(kf.signers, k)
	}
	for i, s := range kf.SealSecrets {
		if len(s) < secretLen {
			return fmt.Errorf("seal_secrets[%d] is shorter than %d bytes", i, secretLen)
		}
	}
	if len(kf.FingerprintKey) < secretLen {
		return fmt.Errorf("fingerprint_key is shorter than %d bytes", secretLen)
	}
	if len(kf.AuditSalt) < secretLen {
		return fmt.Errorf("audit_salt is shorter than %d bytes", secretLen)
	}
	for i, h := range kf.AdminKeyHashes {
		if _, err := server.ParseAdminKey(h); err != nil {
			return fmt.Errorf("admin_key_hashes[%d]: %w", i, err)
		}
	}
	return nil
}

// errNoKeyFile means the key file does not exist.
var errNoKeyFile = errors.New("no key file")

// checkPrivate refuses a secret file that its group or others may read or
// write, the way ssh refuses a loose private key. Windows has no such mode
// bits; its ACLs are left to the operator.
func checkPrivate(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is readable or writable by others (mode %04o); it holds secrets: run `chmod 600 %s`", path, fi.Mode().Perm(), path)
	}
	return nil
}

// readKeyFile reads and checks the key file at path; errNoKeyFile when it
// does not exist.
func readKeyFile(path string) (*keyFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoKeyFile
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, fmt.Errorf("key file %w", err)
	}
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var kf keyFile
	if err := dec.Decode(&kf); err != nil {
		// A decoding error can quote part of the file; say where only.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("key file %s: malformed JSON at byte %d", path, se.Offset)
		}
		return nil, fmt.Errorf("key file %s: not a Keycard key file", path)
	}
	if err := kf.check(); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return &kf, nil
}

// loadOrCreateKeyFile reads the key file at path, creating it when it does
// not exist. created reports whether it did.
func loadOrCreateKeyFile(path string) (kf *keyFile, created bool, err error) {
	kf, err = readKeyFile(path)
	if !errors.Is(err, errNoKeyFile) {
		return kf, false, err
	}
	if kf, err = newKeyFile(); err != nil {
		return nil, false, err
	}
	err = writeKeyFile(path, kf, false)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use theirs, so that both
		// run with the same keys.
		kf, err = readKeyFile(path)
		return kf, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return kf, true, nil
}

// writeKeyFile writes kf to path atomically at mode 0600: a temporary file
// in the same directory, fsynced, then renamed over path (replace) or
// linked to it, which fails with fs.ErrExist when path exists (!replace),
// so that two processes creating the file at once do not each keep keys of
// their own.
func writeKeyFile(path string, kf *keyFile, replace bool) error {
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return writeFileAtomic(path, b, replace)
}

func writeFileAtomic(path string, data []byte, replace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600 already; say so for the reader.
	if err = f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("key file: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
		os.Remove(tmp)
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("key file: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. It is best effort: some systems
// cannot fsync a directory.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
