package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Password hashing: argon2id (RFC 9106) at the first of the parameter sets
// OWASP's Password Storage Cheat Sheet recommends, 19 MiB of memory, two
// passes, one lane. Hashes are kept as PHC strings, so the parameters of
// each hash travel with it and can be raised later without losing anyone.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16

	// MaxPasswordLen bounds the passwords the server hashes, so that a
	// client cannot make it hash megabytes.
	MaxPasswordLen = 1024
	// MinPasswordLen is the shortest password `keycard users add` accepts
	// (NIST SP 800-63B asks for at least 8 characters).
	MinPasswordLen = 8
)

var errBadHash = errors.New("server: not an argon2id PHC string")

// hashPassword returns the PHC string of password hashed with a fresh salt.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	sum     []byte
}

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash". It refuses
// parameters so large that checking one password would exhaust the server
// (a store someone else can write to must not become a denial of service).
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, errBadHash
	}
	var p phc
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return phc{}, errBadHash
		}
		switch k {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > 255 {
				return phc{}, errBadHash
			}
			p.threads = uint8(n)
		default:
			return phc{}, errBadHash
		}
	}
	var err error
	b64 := base64.RawStdEncoding
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return phc{}, errBadHash
	}
	if p.sum, err = b64.DecodeString(parts[5]); err != nil || len(p.sum) < 16 || len(p.sum) > 64 {
		return phc{}, errBadHash
	}
	if p.memory < 8*uint32(p.threads) || p.memory > 1<<21 || p.time < 1 || p.time > 16 || p.threads < 1 {
		return phc{}, errBadHash
	}
	return p, nil
}

// checkPassword reports whether password matches the PHC string hash, in
// time that depends only on the hash's parameters.
func checkPassword(hash, password string) bool {
	p, err := parsePHC(hash)
	if err != nil {
		return false
	}
	sum := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.sum)))
	return subtle.ConstantTimeCompare(sum, p.sum) == 1
}

// dummyHash is checked against when a login names no existing user (or a
// user whose stored hash is unusable), so that the answer takes as long as
// for a real user with a wrong password and does not tell which accounts
// exist (OWASP Authentication Cheat Sheet, "Authentication Responses").
// It is made on first use, so that a program that never checks a password
// does not pay for it.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("keycard dummy password, never matched")
	if err != nil {
		panic(err)
	}
	return h
})
