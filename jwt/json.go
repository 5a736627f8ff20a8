package jwt

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"
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
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	_, err := scanObject(b, i, numbers, top)
	return err
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index after the string that starts at b[i] ('"').
func endOfString(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, errInvalidJSON
	}
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errInvalidJSON
}

// scanObject scans the object at b[i] ('{') and returns the index after it.
func scanObject(b []byte, i int, numbers []string, top *[]string) (int, error) {
	var seenBuf [16][]byte
	seen := seenBuf[:0]
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errInvalidJSON
		}
		switch b[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = skipWS(b, i+1)
		}
		j, err := endOfString(b, i)
		if err != nil {
			return 0, err
		}
		name, err := memberName(b[i:j])
		if err != nil {
			return 0, err
		}
		if slices.ContainsFunc(seen, func(s []byte) bool { return string(s) == string(name) }) {
			return 0, errDuplicateKey
		}
		seen = append(seen, name)
		if top != nil {
			*top = append(*top, string(name))
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return 0, errInvalidJSON
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return 0, errInvalidJSON
		}
		if numbers != nil && slices.Contains(numbers, string(name)) && b[i] != '-' && (b[i] < '0' || b[i] > '9') {
			return 0, errNotNumber
		}
		if i, err = scanValue(b, i); err != nil {
			return 0, err
		}
	}
}

// scanValue scans the value at b[i] and returns the index after it, which
// is always greater than i.
func scanValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errInvalidJSON
	}
	switch b[i] {
	case '{':
		return scanObject(b, i, nil, nil)
	case '[':
		i++
		for {
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, errInvalidJSON
			}
			switch b[i] {
			case ']':
				return i + 1, nil
			case ',':
				i = skipWS(b, i+1)
			}
			var err error
			if i, err = scanValue(b, i); err != nil {
				return 0, err
			}
		}
	case '"':
		return endOfString(b, i)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	if j == i {
		return 0, errInvalidJSON
	}
	return j, nil
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
