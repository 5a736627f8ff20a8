// Package keycard is secure-by-default HTTP session management.
package keycard
