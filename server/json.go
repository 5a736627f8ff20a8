package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxBody is the largest request body the API reads: every request it
// takes is a few fields, and a client that sends more is refused before it
// costs memory.
const maxBody = 64 << 10

// decodeJSON reads r's body into v strictly: the content type must be
// application/json, the body at most maxBody bytes, one JSON object with
// no unknown fields and nothing after it. Each failure is a 4xx of its own
// (415, 413, 400 invalid_json) so that a client learns what to fix; none
// is ever a 500.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errUnsupportedMediaType
	}
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		if err == nil {
			return invalidJSON("the body has data after its JSON object")
		}
		return jsonError(err)
	}
	return nil
}

// jsonError turns a decoding error into the API error the client gets. The
// messages name the field or position, never echo the input.
func jsonError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errBodyTooLarge
	}
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return invalidJSON(fmt.Sprintf("field %q has the wrong type: want %s", e.Field, e.Type))
	}
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return invalidJSON(fmt.Sprintf("malformed JSON at byte %d", e.Offset))
	}
	switch {
	case errors.Is(err, io.EOF):
		return invalidJSON("the body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidJSON("the JSON body ends early")
	}
	// DisallowUnknownFields reports `json: unknown field "x"`; the field
	// name is the client's own, quoted by %q, and useful to it.
	if msg, ok := unknownField(err); ok {
		return invalidJSON(msg)
	}
	return invalidJSON("the body is not a JSON object of the expected form")
}

func unknownField(err error) (string, bool) {
	var name string
	if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &name); scanErr != nil {
		return "", false
	}
	return fmt.Sprintf("unknown field %q", name), true
}
