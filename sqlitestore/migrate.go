package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// goSteps are the migrations that need Go as well as SQL: the step runs in
// the migration's transaction instead of its file and executes the file's
// SQL itself, where it belongs.
var goSteps = map[int]func(ctx context.Context, tx *sql.Tx, n names, schema string) error{
	2: migrateLive,
}

// migrate applies the embedded migrations that the schema_version table does
// not list yet, each in its own write transaction, which also creates the
// schema_version table when it is missing: a migration that fails leaves
// nothing behind. The transaction begins with BEGIN IMMEDIATE (the write
// connection's _txlock), so that when two processes open one file at once
// the second waits for the first and then finds the version recorded: every
// migration runs once.
func migrate(db *sql.DB, n names) error {
	ctx := context.Background()
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	known := 0
	for _, name := range files {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(base[:strings.IndexByte(base, '_')])
		if err != nil {
			return fmt.Errorf("sqlitestore: migration %s: bad name", base)
		}
		known = max(known, v)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, n.sql(`CREATE TABLE IF NOT EXISTS {{prefix}}schema_version
			(version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		var have int
		if err := tx.QueryRowContext(ctx, n.sql(`SELECT count(*) FROM {{prefix}}schema_version WHERE version = ?`), v).Scan(&have); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlitestore: migrate: %w", err)
		}
		if have > 0 {
			tx.Rollback()
			continue
		}
		body, _ := migrations.ReadFile(name)
		if step := goSteps[v]; step != nil {
			err = step(ctx, tx, n, n.sql(string(body)))
		} else {
			_, err = tx.ExecContext(ctx, n.sql(string(body)))
		}
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlitestore: migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, n.sql(`INSERT INTO {{prefix}}schema_version (version, applied_at) VALUES (?, ?)`), v, time.Now().Unix()); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlitestore: migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", base, err)
		}
	}
	var newest sql.NullInt64
	if err := db.QueryRowContext(ctx, n.sql(`SELECT max(version) FROM {{prefix}}schema_version`)).Scan(&newest); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if int(newest.Int64) > known {
		return fmt.Errorf("sqlitestore: database schema version %d is newer than this Keycard knows (%d)", newest.Int64, known)
	}
	return nil
}

// migrateLive is migration 2: it moves the eleven columns that only a live
// record fills into the live BLOB. The version 1 table is renamed, the
// version 2 table created under the old name, and every row copied: the
// columns both versions share by SQL (byte for byte, NULLs and types
// included), the live column encoded in Go from the version 1 columns.
// Tombstones keep live NULL. Then the version 1 table is dropped.
func migrateLive(ctx context.Context, tx *sql.Tx, n names, schema string) error {
	// Index names are global to the database: drop the old ones before
	// the new table's are created.
	if _, err := tx.ExecContext(ctx, n.sql(`ALTER TABLE {{prefix}}sessions RENAME TO {{prefix}}sessions_0001;
		DROP INDEX {{prefix}}sessions_live_id; DROP INDEX {{prefix}}sessions_subject; DROP INDEX {{prefix}}sessions_deadline;`)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return err
	}
	const shared = `hash, id, subject, kind, state, expires_at, version, successor, grace_until, deadline, data`
	if _, err := tx.ExecContext(ctx, n.sql(`INSERT INTO {{prefix}}sessions (`+shared+`, live)
		SELECT `+shared+`, NULL FROM {{prefix}}sessions_0001 WHERE state <> 0`)); err != nil {
		return err
	}
	ins, err := tx.PrepareContext(ctx, n.sql(`INSERT INTO {{prefix}}sessions (`+shared+`, live)
		SELECT `+shared+`, ? FROM {{prefix}}sessions_0001 WHERE hash = ?`))
	if err != nil {
		return err
	}
	defer ins.Close()
	rows, err := tx.QueryContext(ctx, n.sql(`SELECT hash, created_at, authenticated_at, renewed_at, last_seen_at,
		idle_expires_at, idle_timeout, persistent, ip, user_agent, fingerprint, meta, meta IS NOT NULL
		FROM {{prefix}}sessions_0001 WHERE state = 0`))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                                    storage.Record
			hash, meta                           []byte
			created, authed, renewed, seen, idle sql.NullInt64
			hasMeta                              bool
		)
		if err := rows.Scan(&hash, &created, &authed, &renewed, &seen, &idle, &r.IdleTimeout, &r.Persistent,
			&r.IP, &r.UserAgent, &r.Fingerprint, &meta, &hasMeta); err != nil {
			return err
		}
		r.CreatedAt, r.AuthenticatedAt, r.RenewedAt = fromMicros(created), fromMicros(authed), fromMicros(renewed)
		r.LastSeenAt, r.IdleExpiresAt = fromMicros(seen), fromMicros(idle)
		if hasMeta {
			r.Meta = append([]byte{}, meta...) // the driver reads an empty BLOB as nil
		}
		live, err := binrec.EncodeLive(&r)
		if err != nil {
			return err
		}
		if _, err := ins.ExecContext(ctx, live, hash); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// No statement on the old table may be left open when it is dropped.
	rows.Close()
	if err := ins.Close(); err != nil {
		return err
	}
	var left int
	if err := tx.QueryRowContext(ctx, n.sql(`SELECT (SELECT count(*) FROM {{prefix}}sessions_0001) - (SELECT count(*) FROM {{prefix}}sessions)`)).Scan(&left); err != nil {
		return err
	}
	if left != 0 {
		return fmt.Errorf("%d rows not copied", left)
	}
	_, err = tx.ExecContext(ctx, n.sql(`DROP TABLE {{prefix}}sessions_0001`))
	return err
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}
