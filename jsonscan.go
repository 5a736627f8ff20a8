package keycard

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// lookupRaw returns the raw JSON value of key in the JSON object data
// without decoding the whole object: reading one value from a session should
// not cost a map of every value. ok is false when the key is absent; valid is
// false when data is not an object this scanner understands (escaped keys,
// malformed input), and the caller then falls back to encoding/json.
func lookupRaw(data []byte, key string) (v json.RawMessage, ok, valid bool) {
	valid = scanObject(data, func(k, val []byte) bool {
		if string(k) == key {
			v, ok = val, true // the last duplicate wins, as in encoding/json
		}
		return true
	})
	return v, ok, valid
}

// scanObject calls fn for each member of the JSON object data, in order,
// until fn returns false. Keys are passed without quotes, values as raw
// JSON; both alias data. It reports false when data is not an object it
// understands (escaped keys, malformed input); fn may have been called for
// some members by then. Empty data is an empty object.
func scanObject(data []byte, fn func(k, v []byte) bool) bool {
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

// appendObject appends the JSON object of vals, keys sorted, to b. Values
// are valid JSON already (they come from json.Marshal or a stored object).
func appendObject(b []byte, vals map[string]json.RawMessage) []byte {
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
		b = appendKey(b, k)
		b = append(b, ':')
		b = append(b, vals[k]...)
	}
	return append(b, '}')
}

// A Change is one data key a request set (Value, valid JSON) or deleted
// (Value nil).
type Change struct {
	Key   string
	Value json.RawMessage
}

// changes are a request's writes, at most one per key. A slice, not a map:
// requests touch a handful of keys, and a map costs allocations on every write.
type changes []Change

// get returns the change of key, if any.
func (c changes) get(key string) (json.RawMessage, bool) {
	for _, ch := range c {
		if ch.Key == key {
			return ch.Value, true
		}
	}
	return nil, false
}

// with returns a new list: c with key set to val, replacing an earlier change
// of key. c itself is left as it was, so a caller may keep it to undo.
func (c changes) with(key string, val json.RawMessage) changes {
	out := make(changes, 0, len(c)+1)
	for _, ch := range c {
		if ch.Key != key {
			out = append(out, ch)
		}
	}
	return append(out, Change{key, val})
}

// applyTo applies the changes to a decoded object.
func (c changes) applyTo(vals map[string]json.RawMessage) {
	for _, ch := range c {
		if ch.Value == nil {
			delete(vals, ch.Key)
		} else {
			vals[ch.Key] = ch.Value
		}
	}
}

// MergeData returns the JSON object data with the changes cs applied in
// order (a nil Value deletes its key; a later change of a key wins), its
// members sorted by key, or nil for an empty object. It never modifies
// data. Since the result depends only on the members, merging changes one
// request at a time or all at once gives the same bytes. It is how the
// Manager merges a request's writes into stored data, and how a Merger
// that keeps changes apart from the data must fold them in.
func MergeData(data []byte, cs []Change) []byte {
	var c changes = cs
	if hasRepeatedKey(cs) {
		// Keep the last change of each key.
		c = nil
		for _, ch := range cs {
			c = c.with(ch.Key, ch.Value)
		}
	}
	return mergeValues(data, c)
}

// hasRepeatedKey reports whether two changes of cs have one key. Change
// lists are short (a request's writes), so the quadratic scan is cheaper
// than a map.
func hasRepeatedKey(cs []Change) bool {
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			if cs[i].Key == cs[j].Key {
				return true
			}
		}
	}
	return false
}

// mergeValues is MergeData for changes with at most one change per key.
// Members of data sorted by key (as everything Keycard writes is) merge in
// one pass with the sorted changes; other data is decoded with encoding/json
// and written sorted.
func mergeValues(data []byte, c changes) []byte {
	size := len(data) + 2
	for _, ch := range c {
		size += len(ch.Key) + len(ch.Value) + 4
	}
	sorted := c
	if len(c) > 1 {
		sorted = slices.Clone(c)
		slices.SortFunc(sorted, func(a, b Change) int { return cmp.Compare(a.Key, b.Key) })
	}
	out := make([]byte, 1, size)
	out[0] = '{'
	next := 0 // the first change not written yet
	emit := func(ch Change) {
		if ch.Value == nil {
			return
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendKey(out, ch.Key)
		out = append(out, ':')
		out = append(out, ch.Value...)
	}
	var prev []byte
	inOrder := true
	ok := scanObject(data, func(k, v []byte) bool {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			inOrder = false
			return false
		}
		prev = k
		for next < len(sorted) && sorted[next].Key < string(k) {
			emit(sorted[next])
			next++
		}
		if next < len(sorted) && sorted[next].Key == string(k) {
			emit(sorted[next]) // replaced or deleted
			next++
			return true
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, k...)
		out = append(out, '"', ':')
		out = append(out, v...)
		return true
	})
	if !ok || !inOrder {
		vals := decodeData(&Record{Data: data})
		c.applyTo(vals)
		return encodeValues(vals)
	}
	for ; next < len(sorted); next++ {
		emit(sorted[next])
	}
	if len(out) == 1 {
		return nil
	}
	return append(out, '}')
}

// appendKey appends k as a JSON string.
func appendKey(b []byte, k string) []byte {
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
