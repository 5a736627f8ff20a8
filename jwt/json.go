package jwt

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keycard-go/keycard/internal/jsonobj"
)

var (
	errInvalidJSON  = errors.New("invalid JSON")
	errDuplicateKey = errors.New("duplicate JSON object member")
	errNotObject    = errors.New("not a JSON object")
	errNotNumber    = errors.New("date claim is not a JSON number")
	errBadName      = errors.New("member name is not valid UTF-8")
)

// dateClaims are the members that RFC 7519 defines as NumericDate: a JSON
// number. encoding/json would also accept a string holding digits.
var dateClaims = []string{"exp", "iat", "nbf", "auth_time"}

// checkJSON reports whether b is one JSON object with no duplicate member
// names at any depth. encoding/json keeps the last of two equal names and
// matches struct fields case-insensitively, so {"aud":"a","AUD":"b"} would
// be read differently by different parsers (RFC 7515 section 5.2 lets a
// recipient reject duplicates; Keycard does). Names are compared after
// Unicode case folding, the way encoding/json matches them, and a name that
// is not valid UTF-8 is refused (encoding/json would turn it into U+FFFD).
//
// The top-level members named in numbers must be JSON numbers. If top is
// not nil, the top-level member names are appended to it.
func checkJSON(b []byte, numbers []string, top *[]string) error {
	if !json.Valid(b) {
		return errInvalidJSON
	}
	return scanJSON(b, numbers, top)
}

// scanJSON is checkJSON without the validity check, for input that is
// decoded with encoding/json afterwards (which refuses invalid JSON): on
// valid JSON it gives checkJSON's answer; on anything else it returns an
// error or nil, never panics, and always terminates.
func scanJSON(b []byte, numbers []string, top *[]string) error {
	i := jsonobj.SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	_, err := scanObject(b, i, numbers, top)
	return err
}

// scanObject scans the object at b[i] ('{') and returns the index after it.
func scanObject(b []byte, i int, numbers []string, top *[]string) (int, error) {
	var seenBuf [16][]byte
	seen := seenBuf[:0]
	var err error
	end := jsonobj.Object(b, i, func(q []byte, v int) int {
		var name []byte
		if name, err = memberName(q); err != nil {
			return -1
		}
		if slices.ContainsFunc(seen, func(s []byte) bool { return string(s) == string(name) }) {
			err = errDuplicateKey
			return -1
		}
		seen = append(seen, name)
		if top != nil {
			*top = append(*top, string(name))
		}
		if numbers != nil && slices.Contains(numbers, string(name)) && b[v] != '-' && (b[v] < '0' || b[v] > '9') {
			err = errNotNumber
			return -1
		}
		var vend int
		vend, err = scanValue(b, v)
		return vend
	})
	return scanned(end, err)
}

// scanValue scans the value at b[i] and returns the index after it, which
// is always greater than i.
func scanValue(b []byte, i int) (int, error) {
	if i < len(b) {
		switch b[i] {
		case '{':
			return scanObject(b, i, nil, nil)
		case '[':
			var err error
			end := jsonobj.Array(b, i, func(v int) int {
				var vend int
				vend, err = scanValue(b, v)
				return vend
			})
			return scanned(end, err)
		}
	}
	// A string or a scalar: encoding/json or json.Valid checks it.
	return scanned(jsonobj.ValueEnd(b, i), nil)
}

// scanned turns the index a jsonobj reading returned, and the error its
// callback met, into a scan result: the callback's error first, else
// errInvalidJSON for a reading that failed.
func scanned(end int, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	if end < 0 {
		return 0, errInvalidJSON
	}
	return end, nil
}

// memberName decodes a quoted member name and folds its case. Plain
// lower-case ASCII names, the usual case, are returned as a subslice of q
// without allocating.
func memberName(q []byte) ([]byte, error) {
	raw := q[1 : len(q)-1]
	plain := true
	for _, c := range raw {
		if c >= 0x80 || c == '\\' || ('A' <= c && c <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return raw, nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return nil, errInvalidJSON
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return nil, errBadName
	}
	return []byte(fold(s)), nil
}

// fold maps names that encoding/json would treat as equal to one string.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(strings.ToUpper(s))
		}
	}
	return s
}
