// Package jsonobj reads and writes the JSON objects Keycard keeps session
// values in, member by member, without decoding a whole object into a map:
// reading one value from a session should not cost a map of every value.
// Its scanner understands the objects Keycard writes (unescaped keys,
// members sorted by key) and reports anything else so that the caller falls
// back to encoding/json, which decides. Its tokenizer (SkipSpace, StringEnd,
// ValueEnd, Object, Array) is the one Keycard's other JSON scanners are built
// on: package jwt's duplicate-member check reads tokens with it.
package jsonobj

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Lookup returns the raw JSON value of key in the JSON object data
// without decoding the whole object: reading one value from a session should
// not cost a map of every value. ok is false when the key is absent; valid is
// false when data is not an object this scanner understands (escaped keys,
// malformed input), and the caller then falls back to encoding/json.
func Lookup(data []byte, key string) (v json.RawMessage, ok, valid bool) {
	valid = Members(data, func(k, val []byte) bool {
		if string(k) == key {
			v, ok = val, true // the last duplicate wins, as in encoding/json
		}
		return true
	})
	return v, ok, valid
}

// Members calls fn for each member of the JSON object data, in order,
// until fn returns false. Keys are passed without quotes, values as raw
// JSON; both alias data. It reports false when data is not an object it
// understands (escaped keys, malformed input); fn may have been called for
// some members by then. Empty data is an empty object.
func Members(data []byte, fn func(k, v []byte) bool) bool {
	i := SkipSpace(data, 0)
	if i >= len(data) {
		return true
	}
	stopped := false
	end := Object(data, i, func(name []byte, v int) int {
		k := name[1 : len(name)-1]
		if !plainKey(k) {
			return -1 // let encoding/json decide
		}
		vend := ValueEnd(data, v)
		if vend < 0 {
			return -1
		}
		if !fn(k, data[v:vend]) {
			stopped = true
			return -1
		}
		return vend
	})
	return stopped || (end >= 0 && SkipSpace(data, end) == len(data))
}

// plainKey reports whether the key k (without quotes) reads the same to
// the scanner and to encoding/json: no escape, no control character, valid
// UTF-8 (encoding/json would replace the bad bytes).
func plainKey(k []byte) bool {
	for _, c := range k {
		if c == '\\' || c < ' ' {
			return false
		}
	}
	return utf8.Valid(k)
}

// AppendObject appends the JSON object of vals, keys sorted, to b. Values
// are valid JSON already (they come from json.Marshal or a stored object).
func AppendObject(b []byte, vals map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = append(b, vals[k]...)
	}
	return append(b, '}')
}

// Decode returns the members of the JSON object data, decoded with the
// scanner when it understands data and with encoding/json otherwise. Data
// that is not an object is treated as empty: Keycard writes only objects.
func Decode(data []byte) map[string]json.RawMessage {
	v := map[string]json.RawMessage{}
	if len(data) == 0 {
		return v
	}
	if Members(data, func(k, val []byte) bool { v[string(k)] = val; return true }) {
		return v
	}
	clear(v)
	if json.Unmarshal(data, &v) != nil || v == nil { // "null" decodes to a nil map
		v = map[string]json.RawMessage{}
	}
	return v
}

// Encode returns the JSON object of vals with its keys sorted, or nil when
// vals is empty.
func Encode(vals map[string]json.RawMessage) []byte {
	if len(vals) == 0 {
		return nil
	}
	return AppendObject(nil, vals)
}

// AppendString appends k as a JSON string.
func AppendString(b []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < ' ' || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(k) // rare: let encoding/json escape it
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"')
}

// The tokenizer below is shared by the scanners of Keycard's JSON: Members
// here and the duplicate-member check of package jwt. It finds where things
// end; it validates only what it must to find that, and a caller that needs
// valid JSON checks it first (json.Valid) or decodes with encoding/json
// afterwards. Every function takes the input and an index into it and
// returns the index after what it read, or -1; none panics on any input or
// index, and every call on a well-formed value moves forward.

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space, or len(b).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// StringEnd returns the index just after the JSON string that starts at
// b[i], or -1 when b[i] is not '"' or the string does not end. Escapes are
// skipped, not checked.
func StringEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// ValueEnd returns the index just after the JSON value that starts at b[i],
// or -1 when there is none: a string ends at its closing quote, an object or
// an array at its matching bracket (strings inside are skipped, nothing
// else is checked), and anything else at the next delimiter or white space.
func ValueEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return StringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := StringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// Object reads the JSON object that starts at b[i] ('{'), calling member for
// each member in order with its name as raw JSON (quotes and escapes
// included, aliasing b) and the index where its value starts, which is
// within b. member returns the index just after the value (ValueEnd, or its
// own reading of the value), or -1 to stop. Object returns the index just
// after the object, or -1 when b[i] is not '{', the object is malformed (a
// name that is not a string, a missing colon or comma, a trailing comma,
// no closing brace), or member stopped or returned an index that does not
// move past the value's start.
func Object(b []byte, i int, member func(name []byte, v int) int) int {
	return list(b, i, '{', '}', func(i int) int {
		nend := StringEnd(b, i)
		if nend < 0 {
			return -1
		}
		colon := SkipSpace(b, nend)
		if colon >= len(b) || b[colon] != ':' {
			return -1
		}
		v := SkipSpace(b, colon+1)
		if v >= len(b) {
			return -1
		}
		if end := member(b[i:nend], v); end > v {
			return end
		}
		return -1
	})
}

// Array reads the JSON array that starts at b[i] ('['), calling elem with
// the index where each element starts, which is within b. elem returns the
// index just after the element, or -1 to stop. Array returns the index just
// after the array, or -1 as Object does.
func Array(b []byte, i int, elem func(v int) int) int {
	return list(b, i, '[', ']', elem)
}

// list reads the object or array that starts at b[i] with open, calling
// item at the start of each member or element, and returns the index after
// close, or -1.
func list(b []byte, i int, open, close byte, item func(i int) int) int {
	if i < 0 || i >= len(b) || b[i] != open {
		return -1
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == close {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] == close {
			return -1 // a trailing comma, or the end
		}
		end := item(i)
		if end <= i || end > len(b) {
			return -1
		}
		i = SkipSpace(b, end)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case close:
			return i + 1
		default:
			return -1
		}
	}
}
