package jsonobj

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// members reads the object at b[i] with Object and ValueEnd.
func members(b []byte, i int) (names, values [][]byte, end int) {
	end = Object(b, i, func(name []byte, v int) int {
		vend := ValueEnd(b, v)
		if vend >= 0 {
			names, values = append(names, name), append(values, b[v:vend])
		}
		return vend
	})
	return names, values, end
}

// walk reads the value at b[i] with Object and Array all the way down and
// returns the index after it, as a scanner built on the tokenizer does.
func walk(b []byte, i int) int {
	if i < len(b) {
		switch b[i] {
		case '{':
			return Object(b, i, func(_ []byte, v int) int { return walk(b, v) })
		case '[':
			return Array(b, i, func(v int) int { return walk(b, v) })
		}
	}
	return ValueEnd(b, i)
}

func TestTokenizer(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		at    int
		value int // ValueEnd
		str   int // StringEnd
		obj   int // Object, with ValueEnd for the values
		arr   int // Array, with ValueEnd for the elements
	}{
		{"string", `"ab" `, 0, 4, 4, -1, -1},
		{"escaped quote", `"a\"b"`, 0, 6, 6, -1, -1},
		{"escaped backslash", `"a\\"b"`, 0, 5, 5, -1, -1},
		{"number", `-1.5e3,`, 0, 6, -1, -1, -1},
		{"literal", `true}`, 0, 4, -1, -1, -1},
		{"empty object", `{ } `, 0, 3, -1, 3, -1},
		{"object", `{"a" : 1 , "b":[1,"]"]}x`, 0, 23, -1, 23, -1},
		{"nested", `{"a":{"b":{}}}`, 0, 14, -1, 14, -1},
		{"empty array", `[ ]`, 0, 3, -1, -1, 3},
		{"array", `[1, "x" ,{"a":[]}]`, 0, 18, -1, -1, 18},
		{"at an offset", `xx{"a":1}`, 2, 9, -1, 9, -1},

		{"hostile: empty", ``, 0, -1, -1, -1, -1},
		{"hostile: index past the end", `{}`, 5, -1, -1, -1, -1},
		{"hostile: negative index", `{}`, -1, -1, -1, -1, -1},
		{"hostile: unterminated string", `"abc\"`, 0, -1, -1, -1, -1},
		{"hostile: lone backslash at the end", `"\`, 0, -1, -1, -1, -1},
		{"hostile: unclosed object", `{"a":1`, 0, -1, -1, -1, -1},
		{"hostile: trailing comma", `{"a":1,}`, 0, 8, -1, -1, -1},
		{"hostile: leading comma", `{,"a":1}`, 0, 8, -1, -1, -1},
		{"hostile: missing comma", `{"a":1 "b":2}`, 0, 13, -1, -1, -1},
		{"hostile: missing colon", `{"a" 1}`, 0, 7, -1, -1, -1},
		{"hostile: missing value", `{"a":}`, 0, 6, -1, -1, -1},
		{"hostile: name not a string", `{a:1}`, 0, 5, -1, -1, -1},
		{"hostile: array trailing comma", `[1,]`, 0, 4, -1, -1, -1},
		{"hostile: array double comma", `[1,,2]`, 0, 6, -1, -1, -1},
		{"hostile: array unclosed", `[1,2`, 0, -1, -1, -1, -1},
		{"hostile: delimiter as value", `]`, 0, -1, -1, -1, -1},
		{"hostile: brace in a string", `{"}":"{"}`, 0, 9, -1, 9, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			if got := ValueEnd(b, tt.at); got != tt.value {
				t.Errorf("ValueEnd: got %d, want %d", got, tt.value)
			}
			if got := StringEnd(b, tt.at); got != tt.str {
				t.Errorf("StringEnd: got %d, want %d", got, tt.str)
			}
			if _, _, got := members(b, tt.at); got != tt.obj {
				t.Errorf("Object: got %d, want %d", got, tt.obj)
			}
			if got := Array(b, tt.at, func(v int) int { return ValueEnd(b, v) }); got != tt.arr {
				t.Errorf("Array: got %d, want %d", got, tt.arr)
			}
		})
	}
}

// TestObjectStops: a member function that returns -1, or an index that does
// not move past the value, ends the object with -1.
func TestObjectStops(t *testing.T) {
	b := []byte(`{"a":1,"b":2}`)
	calls := 0
	if got := Object(b, 0, func([]byte, int) int { calls++; return -1 }); got != -1 || calls != 1 {
		t.Fatalf("stopped: got %d after %d calls, want -1 after 1", got, calls)
	}
	if got := Object(b, 0, func(_ []byte, v int) int { return v }); got != -1 {
		t.Fatalf("no progress: got %d, want -1", got)
	}
	if got := Object(b, 0, func([]byte, int) int { return len(b) + 1 }); got != -1 {
		t.Fatalf("past the end: got %d, want -1", got)
	}
	if got := Array([]byte(`[1]`), 0, func(v int) int { return v }); got != -1 {
		t.Fatalf("array, no progress: got %d, want -1", got)
	}
}

func TestMembers(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		keys  []string
		valid bool
	}{
		{"empty input", ``, nil, true},
		{"spaces", ` `, nil, true},
		{"empty object", ` {} `, nil, true},
		{"members", `{"a":1,"b":{"c":[2]}}`, []string{"a", "b"}, true},
		{"duplicates kept", `{"a":1,"a":2}`, []string{"a", "a"}, true},
		{"hostile: escaped key", `{"a":1,"\u0062":2}`, []string{"a"}, false},
		{"hostile: control character in key", "{\"a\tb\":1}", nil, false},
		{"hostile: invalid UTF-8 key", "{\"\xff\":1}", nil, false},
		{"hostile: trailing bytes", `{"a":1}x`, []string{"a"}, false},
		{"hostile: not an object", `[1]`, nil, false},
		{"hostile: null", `null`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var keys []string
			valid := Members([]byte(tt.in), func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
			if valid != tt.valid || !slices.Equal(keys, tt.keys) {
				t.Fatalf("got %q %v, want %q %v", keys, valid, tt.keys, tt.valid)
			}
		})
	}
	// fn returning false stops the scan, and the object counts as read.
	n := 0
	if !Members([]byte(`{"a":1,"b":2,"c"}`), func(_, _ []byte) bool { n++; return n < 2 }) || n != 2 {
		t.Fatalf("stopped after %d members, want 2 and valid", n)
	}
}

// FuzzTokenizer checks the tokenizer, the member scanner and the codec
// against encoding/json. On any input nothing panics and every index
// returned is -1 or moves forward within the input. On valid JSON a value
// ends where encoding/json's does, objects and arrays read member by member
// (all the way down) end there too, their names and values are
// encoding/json's in order, Decode and Lookup find what json.Unmarshal
// finds, Members refuses only objects with a key it does not read plainly,
// and Encode writes an object that decodes to the same members.
func FuzzTokenizer(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":"b"}`, ` { "a" : 1 , "b" : [1,{"c":"}"}] , "d":null } `,
		`{"k":"v\"","k":"w"}`, `{"\u0041":1}`, `{"a":tru}`, `{"a":"x`, `[1]`, ``, `{"a":1}x`,
		`{"<>&":true,"é":"ü"}`, `{"a":{"b":{"c":[[[]]]}}}`, `"s"`, `[1,[2,{"x":[]}]]`, `{"a":1,}`, `[,]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		at := SkipSpace(b, 0)
		for _, got := range []int{ValueEnd(b, at), StringEnd(b, at), walk(b, at)} {
			if got != -1 && (got <= at || got > len(b)) {
				t.Fatalf("%q: index %d from %d", b, got, at)
			}
		}
		names, values, objEnd := members(b, at)
		arrEnd := Array(b, at, func(v int) int { return ValueEnd(b, v) })
		decoded := Decode(b)

		if !json.Valid(b) {
			return
		}
		end := ValueEnd(b, at)
		if end < 0 || SkipSpace(b, end) != len(b) {
			t.Fatalf("%q: ValueEnd = %d, want the end of the value", b, end)
		}
		if w := walk(b, at); w != end {
			t.Fatalf("%q: walked to %d, ValueEnd %d", b, w, end)
		}
		switch b[at] {
		case '"':
			if got := StringEnd(b, at); got != end {
				t.Fatalf("%q: StringEnd = %d, want %d", b, got, end)
			}
		case '[':
			var want []json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			var got [][]byte
			Array(b, at, func(v int) int { e := ValueEnd(b, v); got = append(got, b[v:e]); return e })
			if arrEnd != end || len(got) != len(want) {
				t.Fatalf("%q: Array = %d with %d elements, want %d with %d", b, arrEnd, len(got), end, len(want))
			}
			for i := range want {
				if !sameJSON(got[i], want[i]) {
					t.Fatalf("%q: element %d = %s, encoding/json says %s", b, i, got[i], want[i])
				}
			}
		case '{':
			checkObject(t, b, names, values, objEnd, end, decoded)
		}
	})
}

// checkObject is FuzzTokenizer for a valid JSON object b.
func checkObject(t *testing.T, b []byte, names, values [][]byte, objEnd, end int, decoded map[string]json.RawMessage) {
	t.Helper()
	// encoding/json's members, in order.
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var raws []json.RawMessage
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		keys, raws = append(keys, k.(string)), append(raws, raw)
	}
	if objEnd != end || len(names) != len(keys) {
		t.Fatalf("%q: Object = %d with %d members, want %d with %d", b, objEnd, len(names), end, len(keys))
	}
	plain := true
	for i := range keys {
		var name string
		if err := json.Unmarshal(names[i], &name); err != nil || name != keys[i] {
			t.Fatalf("%q: name %d = %s, encoding/json says %q", b, i, names[i], keys[i])
		}
		if !sameJSON(values[i], raws[i]) {
			t.Fatalf("%q: value of %q = %s, encoding/json says %s", b, keys[i], values[i], raws[i])
		}
		plain = plain && plainKey(names[i][1:len(names[i])-1])
	}
	if got := Members(b, func(_, _ []byte) bool { return true }); got != plain {
		t.Fatalf("%q: Members = %v, want %v (plain keys)", b, got, plain)
	}

	var want map[string]json.RawMessage
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(decoded) != len(want) {
		t.Fatalf("%q: Decode found %d members, encoding/json %d", b, len(decoded), len(want))
	}
	for k, w := range want {
		if !sameJSON(decoded[k], w) {
			t.Fatalf("%q: Decode: member %q = %s, encoding/json says %s", b, k, decoded[k], w)
		}
		if v, ok, valid := Lookup(b, k); valid && (!ok || !sameJSON(v, w)) {
			t.Fatalf("%q: Lookup(%q) = %s, %v; want %s", b, k, v, ok, w)
		}
	}
	var back map[string]json.RawMessage
	enc := Encode(decoded)
	if len(decoded) > 0 && json.Unmarshal(enc, &back) != nil {
		t.Fatalf("Encode wrote invalid JSON %q", enc)
	}
	for k, w := range want {
		if !sameJSON(back[k], w) {
			t.Fatalf("round trip of %q lost member %q", b, k)
		}
	}
}

func sameJSON(a, b []byte) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}
