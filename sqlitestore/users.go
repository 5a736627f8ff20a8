package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/keycard-go/keycard/storage"
)

var _ storage.Users = (*Store)(nil)

// userSQL are the statements of the users table (migration 4).
type userSQL struct {
	create, get, update, exists, list string
}

// userColumns are the columns a read of a user selects, in the order
// scanUser reads them.
const userColumns = `name, password_hash, disabled, created_at, updated_at, version`

func newUserSQL(n names) userSQL {
	return userSQL{
		create: n.sql(`INSERT INTO {{prefix}}sessions_users (` + userColumns + `) VALUES (?, ?, ?, ?, ?, 1)`),
		get:    n.sql(`SELECT ` + userColumns + ` FROM {{prefix}}sessions_users WHERE name = ?`),
		update: n.sql(`UPDATE {{prefix}}sessions_users SET password_hash = ?, disabled = ?, created_at = ?, updated_at = ?,
			version = version + 1 WHERE name = ? AND version = ?`),
		exists: n.sql(`SELECT EXISTS (SELECT 1 FROM {{prefix}}sessions_users WHERE name = ?)`),
		list:   n.sql(`SELECT ` + userColumns + ` FROM {{prefix}}sessions_users ORDER BY name`),
	}
}

// CreateUser is one INSERT on the write connection; the primary key on
// name turns a taken name into ErrExists.
func (s *Store) CreateUser(ctx context.Context, u *storage.User) error {
	_, err := s.w.ExecContext(ctx, s.users.create, blob(u.Name), blob(u.PasswordHash), u.Disabled,
		micros(u.CreatedAt), micros(u.UpdatedAt))
	if err != nil {
		return translate(err)
	}
	u.Version = 1
	return nil
}

// GetUser is one primary-key SELECT on a read connection.
func (s *Store) GetUser(ctx context.Context, name string) (*storage.User, error) {
	var u *storage.User
	err := s.withReader(ctx, func(rd *reader) error {
		var err error
		u, err = scanUser(rd.conn.QueryRowContext(ctx, s.users.get, blob(name)))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	return u, nil
}

// UpdateUser is one UPDATE ... WHERE name = ? AND version = ?; only when it
// changes no row does a SELECT on the write connection tell ErrNotFound
// from ErrConflict (users are never deleted, so a row that is there now
// was there for the UPDATE).
func (s *Store) UpdateUser(ctx context.Context, u *storage.User) error {
	n, err := exec(ctx, s.w, s.users.update, blob(u.PasswordHash), u.Disabled, micros(u.CreatedAt),
		micros(u.UpdatedAt), blob(u.Name), u.Version)
	if err != nil {
		return err
	}
	if n != 1 {
		var exists bool
		if err := s.w.QueryRowContext(ctx, s.users.exists, blob(u.Name)).Scan(&exists); err != nil {
			return translate(err)
		}
		if !exists {
			return storage.ErrNotFound
		}
		return storage.ErrConflict
	}
	u.Version++
	return nil
}

// ListUsers is one SELECT in primary-key order (byte order of the names)
// on a read connection.
func (s *Store) ListUsers(ctx context.Context) ([]*storage.User, error) {
	out := []*storage.User{}
	err := s.withReader(ctx, func(rd *reader) error {
		rows, err := rd.conn.QueryContext(ctx, s.users.list)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// scanUser reads one row of userColumns.
func scanUser(row interface{ Scan(...any) error }) (*storage.User, error) {
	var (
		u                storage.User
		name, hash       []byte
		created, updated sql.NullInt64
	)
	if err := row.Scan(&name, &hash, &u.Disabled, &created, &updated, &u.Version); err != nil {
		return nil, err
	}
	u.Name, u.PasswordHash = string(name), string(hash)
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &u, nil
}
