package storage

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/keycard-go/keycard/internal/jsonobj"
)

// FuzzMergeData checks MergeData against encoding/json: on every valid
// JSON object, merging changes gives the members encoding/json's map gets
// from the same changes, in sorted order, the same bytes however the
// changes are split, and nothing new when merged again. On any other input
// it never panics. The scanner it is built on is checked by
// internal/jsonobj's FuzzTokenizer.
func FuzzMergeData(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":"b"}`, ` { "a" : 1 , "b" : [1,{"c":"}"}] , "d":null } `,
		`{"k":"v\"","k":"w"}`, `{"\u0041":1}`, `{"a":tru}`, `{"a":"x`, `[1]`, ``, `{"a":1}x`,
		`{"<>&":true,"é":"ü"}`, `{"a":{"b":{"c":[[[]]]}}}`, `{"b":1,"a":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]json.RawMessage
		if json.Unmarshal(data, &want) != nil {
			MergeData(data, []Change{{"zz", json.RawMessage(`1`)}}) // must only not panic
			return
		}
		// Merging changes equals applying them to encoding/json's map: one
		// key set, one existing key deleted.
		changes := []Change{{"zz", json.RawMessage(`[1,"x"]`)}}
		for k := range want {
			changes = append(changes, Change{k, nil})
			break
		}
		if want == nil {
			want = map[string]json.RawMessage{} // the input was null
		}
		merged := MergeData(data, changes)
		var gotMerged map[string]json.RawMessage
		if merged != nil && json.Unmarshal(merged, &gotMerged) != nil {
			t.Fatalf("MergeData wrote invalid JSON %q", merged)
		}
		for _, ch := range changes {
			if ch.Value == nil {
				delete(want, ch.Key)
			} else {
				want[ch.Key] = ch.Value
			}
		}
		if len(gotMerged) != len(want) {
			t.Fatalf("merge of %q: %d members, want %d", data, len(gotMerged), len(want))
		}
		for k, w := range want {
			if !sameJSON(gotMerged[k], w) {
				t.Fatalf("merge of %q: member %q = %s, want %s", data, k, gotMerged[k], w)
			}
		}
		// The result depends only on the members: merging the changes one
		// at a time, or the same changes twice, gives the same bytes.
		stepwise := data
		for _, ch := range changes {
			stepwise = MergeData(stepwise, []Change{ch})
		}
		if !bytes.Equal(stepwise, merged) {
			t.Fatalf("merge of %q: all at once %q, one at a time %q", data, merged, stepwise)
		}
		if again := MergeData(merged, changes); !bytes.Equal(again, merged) {
			t.Fatalf("merge of %q is not idempotent: %q, then %q", data, merged, again)
		}
		var keys []string
		if jsonobj.Members(merged, func(k, _ []byte) bool { keys = append(keys, string(k)); return true }) &&
			!slices.IsSorted(keys) {
			t.Fatalf("merge of %q = %q: members not sorted by key", data, merged)
		}
	})
}

func sameJSON(a, b []byte) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}
