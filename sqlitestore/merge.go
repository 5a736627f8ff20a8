package sqlitestore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/keycard-go/keycard/storage"
)

// Merge implements storage.Merger in one write transaction (BEGIN
// IMMEDIATE on the write connection, so that no other writer, in this
// process or another, comes between): it reads the row, applies m with
// storage.Merge.Apply, the definition of a merge, and writes the result
// back with Update's compare-and-swap statement. SQLite is in process, so
// this is one call into the store that is atomic, the Merger's promise.
// Like the reads (read.go), it runs its statements, prepared once, through
// the driver, without database/sql's transaction and Scan bookkeeping.
func (s *Store) Merge(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, translate(err)
	}
	defer conn.Close()
	var r *storage.Record
	err = conn.Raw(func(dc any) error {
		st, err := s.merge.on(ctx, dc, s.sql)
		if err != nil {
			return err
		}
		tx, err := dc.(driver.ConnBeginTx).BeginTx(ctx, driver.TxOptions{})
		if err != nil {
			return err
		}
		r, err = st.apply(ctx, h, m)
		if err != nil {
			return errors.Join(err, tx.Rollback())
		}
		return tx.Commit()
	})
	if err != nil {
		return nil, translate(err)
	}
	return r, nil
}

// mergeStmts are Merge's read and Update's statement prepared on the
// driver connection dc of the write pool. Only the holder of that single
// connection uses them, so they need no lock of their own.
type mergeStmts struct {
	dc          any
	get, update queryExecStmt
}

// queryExecStmt is what Merge needs of a driver statement.
type queryExecStmt interface {
	driver.Stmt
	driver.StmtQueryContext
	driver.StmtExecContext
}

// on returns the statements prepared on dc, preparing them when dc is not
// the connection they were prepared on: at the first Merge, or after
// database/sql replaced a broken connection (whose statements are left to
// it, as closing them would touch a closed connection).
func (ms *mergeStmts) on(ctx context.Context, dc any, q statements) (*mergeStmts, error) {
	if ms.dc == dc {
		return ms, nil
	}
	p, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("driver connection %T cannot prepare with a context", dc)
	}
	var stmts [2]queryExecStmt
	for i, text := range []string{q.mergeGet, q.update} {
		st, err := p.PrepareContext(ctx, text)
		if err != nil {
			return nil, err
		}
		if stmts[i], ok = st.(queryExecStmt); !ok {
			st.Close()
			return nil, fmt.Errorf("driver statement %T cannot query and exec with a context", st)
		}
	}
	*ms = mergeStmts{dc: dc, get: stmts[0], update: stmts[1]}
	return ms, nil
}

// closeMerge closes Merge's statements, if any were prepared, on the write
// connection, so that no Merge uses it meanwhile.
func (s *Store) closeMerge() error {
	conn, err := s.w.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(any) error {
		ms := &s.merge
		if ms.dc == nil {
			return nil
		}
		err := errors.Join(ms.get.Close(), ms.update.Close())
		*ms = mergeStmts{}
		return err
	})
}

// apply runs a merge inside a write transaction: the read, Apply, the
// write. It returns storage.ErrNotFound when m does not apply.
func (ms *mergeStmts) apply(ctx context.Context, h storage.Hash, m *storage.Merge) (*storage.Record, error) {
	rows, err := ms.get.QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: h[:]}})
	if err != nil {
		return nil, err
	}
	var row [ncolumns]driver.Value
	err = rows.Next(row[:])
	var r *storage.Record
	if err == nil {
		r, err = recordOf(row[:]) // copies what it keeps out of the driver's values
	}
	if err := errors.Join(err, rows.Close()); errors.Is(err, io.EOF) {
		return nil, storage.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	if !m.Apply(r) {
		return nil, storage.ErrNotFound
	}
	args, err := updateArgs(r)
	if err != nil {
		return nil, err
	}
	var named [len(args)]driver.NamedValue
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	res, err := ms.update.ExecContext(ctx, named[:])
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// n != 1 cannot happen: the transaction holds the write lock since the read.
		return nil, errors.Join(err, fmt.Errorf("sqlitestore: merge changed %d rows", n))
	}
	r.Version++
	return r, nil
}
