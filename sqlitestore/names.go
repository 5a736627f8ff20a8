package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The names of a Store's tables and indexes are Options.TablePrefix
// followed by these. Every SQL text of the package writes them as
// {{prefix}}sessions and so on; names.sql puts the prefix in.
const (
	tableSessions = "sessions"
	tableVersions = "schema_version"
	tableOld      = "sessions_0001" // migration 2's copy of the version 1 table

	// Migration 3: the revocation state of sealed sessions.
	tableDenied      = "sessions_denied"
	tableGenerations = "sessions_generations"
	tableLog         = "sessions_revocation_log"

	// Migration 4: the local users of keycard serve.
	tableUsers = "sessions_users"
)

// indexNames are the Store's indexes and the tables they belong to.
var indexNames = map[string]string{
	"sessions_live_id":           tableSessions,
	"sessions_subject":           tableSessions,
	"sessions_deadline":          tableSessions,
	"sessions_denied_until":      tableDenied,
	"sessions_generations_until": tableGenerations,
}

// laterColumns are the columns of the tables of migrations 3 and 4.
var laterColumns = map[string][]string{
	tableDenied:      {"id", "until"},
	tableGenerations: {"subject", "n", "except_id", "until"},
	tableLog:         {"seq", "at", "kind", "key", "origin"},
	tableUsers:       {"name", "password_hash", "disabled", "created_at", "updated_at", "version"},
}

// The columns of the sessions table in each schema version, and of the
// schema_version table: what tells Keycard's tables from another program's.
var (
	sessionColumns = [][]string{
		1: {"hash", "id", "subject", "kind", "state", "created_at", "authenticated_at", "renewed_at",
			"last_seen_at", "idle_expires_at", "expires_at", "idle_timeout", "persistent", "ip",
			"user_agent", "fingerprint", "data", "meta", "version", "successor", "grace_until", "deadline"},
		2: {"hash", "id", "subject", "kind", "state", "expires_at", "version", "successor", "grace_until",
			"deadline", "data", "live"},
	}
	versionColumns = []string{"version", "applied_at"}
)

// maxPrefix bounds Options.TablePrefix.
const maxPrefix = 64

// names are the names of one Store's tables and indexes.
type names struct{ prefix string }

// newNames checks a TablePrefix: ASCII letters, digits and underscores, not
// starting with a digit (the names are written into SQL unquoted), and not
// starting with "sqlite_" (SQLite reserves those names).
func newNames(prefix string) (names, error) {
	bad := len(prefix) > maxPrefix || strings.HasPrefix(strings.ToLower(prefix), "sqlite_") ||
		(prefix != "" && '0' <= prefix[0] && prefix[0] <= '9')
	for _, c := range []byte(prefix) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			bad = true
		}
	}
	if bad {
		return names{}, fmt.Errorf("sqlitestore: TablePrefix %q: want at most %d ASCII letters, digits and underscores, "+
			"not starting with a digit or sqlite_", prefix, maxPrefix)
	}
	return names{prefix}, nil
}

// sql returns q with the prefix in place of every {{prefix}}.
func (n names) sql(q string) string { return strings.ReplaceAll(q, "{{prefix}}", n.prefix) }

// checkForeign looks at the database db, before anything is written to it,
// for a table or index with one of the Store's names that is not the
// Store's (another program's sessions table, say), and refuses it with an
// error that names it and points to Options.TablePrefix. Keycard's tables
// are told by their columns: the sessions table has those of a schema
// version Keycard wrote and a schema_version table beside it, which has
// Keycard's two columns and records versions only when the sessions table
// exists.
func (n names) checkForeign(ctx context.Context, db *sql.DB) error {
	objects, err := schemaObjects(ctx, db)
	if err != nil {
		return err
	}
	foreign := func(o object, why string) error {
		return fmt.Errorf("sqlitestore: the database already has a %s %q that is not Keycard's (%s); "+
			"set Options.TablePrefix (for example \"keycard_\") to give Keycard's tables names of their own",
			o.typ, o.name, why)
	}
	// keycards refuses o unless it is a table with one of the column lists wants.
	keycards := func(o object, wants ...[]string) error {
		if o.typ != "table" {
			return foreign(o, "Keycard's is a table")
		}
		cols, err := columnsOf(ctx, db, o.name)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(wants, func(w []string) bool { return slices.Equal(cols, w) }) {
			return foreign(o, "its columns are "+strings.Join(cols, ", "))
		}
		return nil
	}
	sessions, haveSessions := objects[strings.ToLower(n.prefix+tableSessions)]
	versions, haveVersions := objects[strings.ToLower(n.prefix+tableVersions)]
	if haveVersions {
		if err := keycards(versions, versionColumns); err != nil {
			return err
		}
	}
	switch {
	case haveSessions && sessions.typ != "table":
		return foreign(sessions, "Keycard's is a table")
	case haveSessions && !haveVersions:
		return foreign(sessions, "there is no "+n.prefix+tableVersions+" table beside it")
	case haveSessions:
		if err := keycards(sessions, sessionColumns[1], sessionColumns[2]); err != nil {
			return err
		}
	case haveVersions:
		var recorded int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+versions.name).Scan(&recorded); err != nil {
			return fmt.Errorf("sqlitestore: %w", err)
		}
		if recorded > 0 {
			return foreign(versions, "it records schema versions, but there is no "+n.prefix+tableSessions+" table")
		}
	}
	for _, table := range slices.Sorted(maps.Keys(laterColumns)) {
		if o, ok := objects[strings.ToLower(n.prefix+table)]; ok {
			if err := keycards(o, laterColumns[table]); err != nil {
				return err
			}
		}
	}
	for _, index := range slices.Sorted(maps.Keys(indexNames)) {
		table := indexNames[index]
		o, ok := objects[strings.ToLower(n.prefix+index)]
		if ok && (o.typ != "index" || !strings.EqualFold(o.table, n.prefix+table)) {
			return foreign(o, "it is not an index of Keycard's "+n.prefix+table+" table")
		}
	}
	if o, ok := objects[strings.ToLower(n.prefix+tableOld)]; ok {
		return foreign(o, "Keycard makes it only inside a migration")
	}
	return nil
}

// An object is an entry of sqlite_schema: a table, index, view or trigger.
type object struct{ typ, name, table string }

// schemaObjects returns the objects of db's schema by their names in lower
// case: SQLite compares names without regard to ASCII case.
func schemaObjects(ctx context.Context, db *sql.DB) (map[string]object, error) {
	rows, err := db.QueryContext(ctx, `SELECT type, name, tbl_name FROM sqlite_schema`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	defer rows.Close()
	objects := map[string]object{}
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.typ, &o.name, &o.table); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		objects[strings.ToLower(o.name)] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return objects, nil
}

// columnsOf returns the names of table's columns in lower case, in order.
func columnsOf(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		cols = append(cols, strings.ToLower(c))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return cols, nil
}
