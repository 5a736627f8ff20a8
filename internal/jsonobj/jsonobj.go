// Package jsonobj reads and writes the JSON objects Keycard keeps session
// values in, member by member, without decoding a whole object into a map:
// reading one value from a session should not cost a map of every value.
// Its scanner understands the objects Keycard writes (unescaped keys,
// members sorted by key) and reports anything else so that the caller falls
// back to encoding/json, which decides.
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
	i := skipSpace(data, 0)
	if i >= len(data) {
		return true
	}
	if data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for i < len(data) {
		if data[i] != '"' {
			return false
		}
		end := i + 1
		for end < len(data) && data[end] != '"' {
			if data[end] == '\\' || data[end] < ' ' {
				return false // escaped key: let encoding/json decide
			}
			end++
		}
		if end >= len(data) {
			return false
		}
		k := data[i+1 : end]
		if !utf8.Valid(k) {
			return false // encoding/json would replace the bad bytes
		}
		i = skipSpace(data, end+1)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		vend := skipValue(data, i)
		if vend < 0 {
			return false
		}
		if !fn(k, data[i:vend]) {
			return true
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
	return false
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

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just after the JSON value starting at i, or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipValue(b, j)
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
