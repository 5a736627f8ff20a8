package storage

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/keycard-go/keycard/internal/jsonobj"
)

// FuzzScanObject checks the session-data scanner against encoding/json: on
// every valid JSON object they agree on every member, lookupRaw finds what
// encoding/json finds, and appendObject writes an object that decodes to the
// same values. On any other input it never panics.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":"b"}`, ` { "a" : 1 , "b" : [1,{"c":"}"}] , "d":null } `,
		`{"k":"v\"","k":"w"}`, `{"\u0041":1}`, `{"a":tru}`, `{"a":"x`, `[1]`, ``, `{"a":1}x`,
		`{"<>&":true,"é":"ü"}`, `{"a":{"b":{"c":[[[]]]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := jsonobj.Decode(data)
		var want map[string]json.RawMessage
		if json.Unmarshal(data, &want) != nil {
			return // not an object: decodeData must only not panic
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, encoding/json finds %d", data, len(got), len(want))
		}
		for k, w := range want {
			if !sameJSON(got[k], w) {
				t.Fatalf("%q: member %q = %s, encoding/json says %s", data, k, got[k], w)
			}
			if v, ok, valid := jsonobj.Lookup(data, k); valid && (!ok || !sameJSON(v, w)) {
				t.Fatalf("%q: jsonobj.Lookup(%q) = %s, %v; want %s", data, k, v, ok, w)
			}
		}
		var back map[string]json.RawMessage
		enc := jsonobj.Encode(got)
		if len(got) > 0 && json.Unmarshal(enc, &back) != nil {
			t.Fatalf("Encode wrote invalid JSON %q", enc)
		}
		for k, w := range want {
			if !sameJSON(back[k], w) {
				t.Fatalf("round trip of %q lost member %q", data, k)
			}
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
