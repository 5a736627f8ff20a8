// Package api holds the contract of Keycard's HTTP API: the OpenAPI 3.1
// document of the endpoints that `keycard serve` answers (see the server
// package), embedded so that the server can publish it at /openapi.yaml and
// its tests can check their answers against it.
//
// The document describes every endpoint, request body, answer and error
// code; the error codes of the Keycard library are those of
// keycard.ErrorStatus.
package api

import _ "embed"

// Spec is the OpenAPI 3.1 document (YAML) of Keycard's HTTP API, the
// contents of openapi.yaml. It is shared: callers must not modify it.
//
//go:embed openapi.yaml
var Spec []byte
