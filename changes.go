package keycard

import (
	"encoding/json"

	"github.com/keycard-go/keycard/storage"
)

// changes are a request's writes, at most one per key. A slice, not a map:
// requests touch a handful of keys, and a map costs allocations on every write.
type changes []storage.Change

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
	return append(out, storage.Change{Key: key, Value: val})
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
