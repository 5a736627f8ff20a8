package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
)

var (
	errDuplicateKey = errors.New("duplicate JSON object member")
	errNotObject    = errors.New("not a JSON object")
	errTrailing     = errors.New("data after the JSON object")
	errNotNumber    = errors.New("date claim is not a JSON number")
)

// dateClaims are the members that RFC 7519 defines as NumericDate: a JSON
// number. encoding/json would also accept a string holding digits.
var dateClaims = []string{"exp", "iat", "nbf", "auth_time"}

// checkJSON reports whether b is one JSON object with no duplicate member
// names at any depth. encoding/json keeps the last of two equal names and
// matches struct fields case-insensitively, so {"aud":"a","AUD":"b"} would
// be read differently by different parsers (RFC 7515 section 5.2 asks
// recipients to reject duplicates or use the last; Keycard rejects). Names
// are compared after Unicode simple case folding, the way encoding/json
// matches them.
//
// When numbers is not nil, the top-level members named in it must be JSON
// numbers.
func checkJSON(b []byte, numbers []string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errNotObject
	}
	if err := checkObject(dec, numbers); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailing
	}
	return nil
}

// checkObject consumes the members of an object whose '{' was read.
func checkObject(dec *json.Decoder, numbers []string) error {
	var seen []string // objects here are small: a slice beats a map
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, ok := tok.(string)
		if !ok {
			return errNotObject
		}
		f := fold(name)
		for _, s := range seen {
			if s == f {
				return errDuplicateKey
			}
		}
		seen = append(seen, f)
		if slices.Contains(numbers, name) {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if _, ok := tok.(json.Number); !ok {
				return errNotNumber
			}
			continue
		}
		if err := checkValue(dec); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// checkValue consumes one value.
func checkValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return checkObject(dec, nil)
	case json.Delim('['):
		for dec.More() {
			if err := checkValue(dec); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
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
