package storage

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"

	"github.com/keycard-go/keycard/internal/jsonobj"
)

// A Change is one data key a request set (Value, valid JSON) or deleted
// (Value nil).
type Change struct {
	Key   string
	Value json.RawMessage
}

// MergeData returns the JSON object data with the changes cs applied in
// order (a nil Value deletes its key; a later change of a key wins), its
// members sorted by key, or nil for an empty object. It never modifies
// data. Since the result depends only on the members, merging changes one
// request at a time or all at once gives the same bytes. It is how the
// Manager merges a request's writes into stored data, and how a Merger
// that keeps changes apart from the data must fold them in.
func MergeData(data []byte, cs []Change) []byte {
	c := cs
	if hasRepeatedKey(cs) {
		// Keep the last change of each key, in the order of their last change.
		c = make([]Change, 0, len(cs))
		for i, ch := range cs {
			if !slices.ContainsFunc(cs[i+1:], func(later Change) bool { return later.Key == ch.Key }) {
				c = append(c, ch)
			}
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
func mergeValues(data []byte, c []Change) []byte {
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
		out = jsonobj.AppendString(out, ch.Key)
		out = append(out, ':')
		out = append(out, ch.Value...)
	}
	var prev []byte
	inOrder := true
	ok := jsonobj.Members(data, func(k, v []byte) bool {
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
		vals := jsonobj.Decode(data)
		for _, ch := range c {
			if ch.Value == nil {
				delete(vals, ch.Key)
			} else {
				vals[ch.Key] = ch.Value
			}
		}
		return jsonobj.Encode(vals)
	}
	for ; next < len(sorted); next++ {
		emit(sorted[next])
	}
	if len(out) == 1 {
		return nil
	}
	return append(out, '}')
}
