package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/keycard-go/keycard/storage"
)

// Merge implements storage.Merger in one write transaction (BEGIN
// IMMEDIATE on the write connection, so that no other writer, in this
// process or another, comes between): it reads the row, applies m with
// storage.Merge.Apply, the definition of a merge, and writes the result
// back with Update's compare-and-swap statement. SQLite is in process, so
// this is one call into the store that is atomic, the Merger's promise; it
// saves the Manager its separate read, and a request its second trip
// through the writer queue.
func (s *Store) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	var (
		vals [ncolumns]any // database/sql copies the bytes it scans into an *any
		dest [ncolumns]any
		row  [ncolumns]driver.Value
	)
	for i := range vals {
		dest[i] = &vals[i]
	}
	err = tx.StmtContext(ctx, s.mergeGetStmt).QueryRowContext(ctx, h[:]).Scan(dest[:]...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	for i, v := range vals {
		row[i] = v
	}
	r, err := recordOf(row[:])
	if err != nil {
		return nil, err
	}
	if !m.Apply(r) {
		return nil, storage.ErrNotFound
	}
	n, err := s.update(ctx, tx.StmtContext(ctx, s.updateStmt), r)
	if err != nil {
		return nil, err
	}
	if n != 1 { // cannot happen: the transaction holds the write lock since the read
		return nil, errors.New("sqlitestore: merge: the row changed under the write lock")
	}
	if err := tx.Commit(); err != nil {
		return nil, translate(err)
	}
	r.Version++
	return r, nil
}
