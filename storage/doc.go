// Package storage is the contract between Keycard's session Manager and the
// stores that keep its sessions: what a store implementer needs, apart from
// what an application uses, the way database/sql/driver sits beside
// database/sql. An application passes a store (memstore.New, sqlitestore.Open,
// redisstore.Open, pgstore.Open) to keycard.New and never needs this
// package; a store imports only this package, never the Manager's.
//
// A Store keeps Records keyed by the SHA-256 of their token (HashToken), with
// compare-and-swap versions and tombstones; its doc comment is the contract,
// and package storetest checks every store against it. A Merger applies a
// request's value changes (Merge, Change, MergeData) in one call.
//
// # Stored values
//
// Record.Data is the application's values as one JSON object whose members
// are sorted by key (MergeData keeps them so), readable from any language.
// Record.Meta is Keycard's own state, also a JSON object, opaque to stores.
package storage
