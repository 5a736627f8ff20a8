package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// appDB writes a database file as another program would, with the
// statements stmts, in the default rollback-journal mode.
func appDB(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// dirState is every file of a directory and its bytes.
func dirState(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// Another library's session table, as an application's database holds it.
const appSessions = `CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL)`
const appRow = `INSERT INTO sessions VALUES ('app-token', x'00ff', 1700000000.5)`

// keycardVersions is the schema_version table of every Keycard so far.
const keycardVersions = `CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`

// TestForeignTableRefused: a file that holds a table or index with one of
// the Store's names that is not Keycard's is refused with an error that
// names it and TablePrefix, and the file is left byte for byte as it was,
// with no file beside it.
func TestForeignTableRefused(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		stmts  []string
		named  string // what the error must name
	}{
		{"another library's sessions table", "", []string{appSessions, appRow}, `table "sessions"`},
		{"sessions table and the schema_version an older Keycard left beside it", "",
			[]string{appSessions, appRow, keycardVersions}, `table "sessions"`},
		{"sessions table with Keycard's columns but no schema_version", "",
			[]string{strings.ReplaceAll(migration(t, 2), "{{prefix}}", "")}, `table "sessions"`},
		{"sessions table in upper case", "", []string{`CREATE TABLE SESSIONS (id TEXT)`}, `table "SESSIONS"`},
		{"a view named sessions", "", []string{`CREATE TABLE t (x)`, `CREATE VIEW sessions AS SELECT x FROM t`}, `view "sessions"`},
		{"another tool's schema_version", "", []string{`CREATE TABLE schema_version (version INTEGER, dirty INTEGER)`},
			`table "schema_version"`},
		{"schema_version with versions and no sessions table", "",
			[]string{keycardVersions, `INSERT INTO schema_version VALUES (7, 1700000000)`}, `table "schema_version"`},
		{"an index with the name of Keycard's", "",
			[]string{`CREATE TABLE logins (subject TEXT)`, `CREATE INDEX sessions_subject ON logins (subject)`}, `index "sessions_subject"`},
		{"a table with the name of migration 2's copy", "", []string{`CREATE TABLE sessions_0001 (x)`}, `table "sessions_0001"`},
		{"a table with the name of a revocation table", "", []string{`CREATE TABLE sessions_denied (id TEXT, why TEXT)`},
			`table "sessions_denied"`},
		{"a view with the name of the revocation log", "", []string{`CREATE TABLE t (x)`,
			`CREATE VIEW sessions_revocation_log AS SELECT x FROM t`}, `view "sessions_revocation_log"`},
		{"an index with the name of a revocation index", "", []string{`CREATE TABLE subjects (until INTEGER)`,
			`CREATE INDEX sessions_generations_until ON subjects (until)`}, `index "sessions_generations_until"`},
		{"the prefixed name taken", "keycard_", []string{`CREATE TABLE keycard_sessions (id TEXT)`, keycardVersions},
			`table "keycard_sessions"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.db")
			appDB(t, path, tt.stmts...)
			before, objects := dirState(t, dir), objectsOf(t, path)

			s, err := sqlitestore.Open(path, &sqlitestore.Options{TablePrefix: tt.prefix})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.named) || !strings.Contains(msg, "TablePrefix") {
				t.Errorf("Open: %q, want an error that names the %s and TablePrefix", msg, tt.named)
			}
			if storetest.IsSentinel(err) {
				t.Errorf("Open: %v, want no keycard sentinel", err)
			}
			after := dirState(t, dir)
			for name, b := range after {
				if want, ok := before[name]; !ok {
					t.Errorf("Open left a file %s behind", name)
				} else if !bytes.Equal(b, want) {
					t.Errorf("Open changed %s", name)
				}
			}
			if got := objectsOf(t, path); !slices.Equal(got, objects) {
				t.Errorf("schema after the refused Open:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(objects, "\n"))
			}
		})
	}
}

// migration returns the text of the embedded migration file of version v.
func migration(t *testing.T, v int) string {
	t.Helper()
	names := map[int]string{1: "migrations/0001_sessions.sql", 2: "migrations/0002_sessions.sql"}
	b, err := os.ReadFile(names[v])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestForeignTableWhileTheApplicationRuns: the application has its file
// open in WAL mode while Keycard is pointed at it; the refusal changes
// neither the database file nor its schema.
func TestForeignTableWhileTheApplicationRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	app, err := sql.Open("sqlite", path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	app.SetMaxOpenConns(1)
	for _, q := range []string{appSessions, appRow} {
		if _, err := app.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	before, objects := dirState(t, filepath.Dir(path))["app.db"], objectsOf(t, path)
	if s, err := sqlitestore.Open(path, nil); err == nil {
		s.Close()
		t.Fatal("Open succeeded")
	} else if !strings.Contains(err.Error(), `table "sessions"`) {
		t.Errorf("Open: %v", err)
	}
	if got := dirState(t, filepath.Dir(path))["app.db"]; !bytes.Equal(got, before) {
		t.Error("the refused Open changed the database file")
	}
	if got := objectsOf(t, path); !slices.Equal(got, objects) {
		t.Errorf("schema after the refused Open:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(objects, "\n"))
	}
	var n int
	if err := app.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the application's table: %d rows, %v", n, err)
	}
}

// TestTablePrefix: with a prefix, a Store shares a file with another
// library's sessions table. Every statement of the Store uses its own
// tables (the application's table has other columns, so a statement that
// used it would fail), the application's table and row are left alone, and
// Stores with two prefixes on one file do not see each other.
func TestTablePrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	appDB(t, path, appSessions, appRow, `CREATE INDEX sessions_expiry ON sessions (expiry)`)
	ctx := context.Background()
	s := open(t, path, &sqlitestore.Options{TablePrefix: "keycard_", SweepInterval: -1})
	other := open(t, path, &sqlitestore.Options{TablePrefix: "other_", SweepInterval: -1})

	storetest.TwoNodes(t, s, open(t, path, &sqlitestore.Options{TablePrefix: "keycard_"}))
	r := storetest.NewRecord("alice")
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetByID(ctx, r.ID); err != nil || got.Hash != r.Hash {
		t.Fatalf("GetByID = %v, %v", got, err)
	}
	if l, err := s.List(ctx, "alice"); err != nil || len(l) != 1 {
		t.Fatalf("List = %d records, %v; want 1", len(l), err)
	}
	r.Data = []byte(`{"v":2}`)
	if err := s.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	stale := r.Clone()
	stale.Version--
	if err := s.Update(ctx, stale); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("stale Update: %v, want ErrConflict", err)
	}
	next := storetest.NewRecord("alice")
	next.ID = r.ID
	if err := s.Rotate(ctx, r, next, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteByID(ctx, next.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteSubject(ctx, "alice", ""); err != nil || n != 0 {
		t.Errorf("DeleteSubject = %d, %v; want 0", n, err)
	}
	gone := storetest.NewRecord("bob")
	if err := s.Create(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, gone.Hash); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpired(ctx, time.Now().Add(24*time.Hour), 100); err != nil || n < 3 {
		t.Errorf("DeleteExpired = %d, %v; want the tombstones dropped", n, err)
	}

	if err := other.Create(ctx, r.Clone()); err != nil {
		t.Errorf("Create of the same record under another prefix: %v", err)
	}
	if _, err := s.Get(ctx, r.Hash); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a record of the other prefix is seen: %v", err)
	}

	objects := strings.Join(objectsOf(t, path), "\n")
	for _, name := range []string{"table:keycard_sessions:", "table:keycard_schema_version:", "index:keycard_sessions_live_id:",
		"index:keycard_sessions_subject:", "index:keycard_sessions_deadline:", "table:other_sessions:", "index:sessions_expiry:"} {
		if !strings.Contains(objects, name) {
			t.Errorf("schema has no %s:\n%s", name, objects)
		}
	}
	for _, name := range []string{"table:schema_version:", "sessions_live_id:"} {
		if strings.Contains(objects, "\n"+name) || strings.HasPrefix(objects, name) {
			t.Errorf("schema has an unprefixed %s:\n%s", name, objects)
		}
	}
	if rows := query(t, path, `SELECT token || ':' || hex(data) || ':' || expiry FROM sessions`); !slices.Equal(rows, []string{"app-token:00FF:1700000000.5"}) {
		t.Errorf("the application's table holds %q", rows)
	}
}

// TestTablePrefixMigrates: a version 1 file with prefixed tables migrates
// to version 2 like an unprefixed one.
func TestTablePrefixMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	want := migrationFixture(t, path, "kc_")
	s := open(t, path, &sqlitestore.Options{TablePrefix: "kc_"})
	storetest.CheckMigrated(t, s, want)
	if v := readSchema(t, path, "kc_").versions; len(v) != migrations(t) {
		t.Errorf("kc_schema_version = %q, want every version", v)
	}
	if objects := strings.Join(objectsOf(t, path), "\n"); strings.Contains(objects, "kc_sessions_0001") {
		t.Errorf("the version 1 table is still there:\n%s", objects)
	}
}

// TestTablePrefixRejects: a prefix that is not a plain SQL name is refused
// before any file is made.
func TestTablePrefixRejects(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"keycard_", true},
		{"_", true},
		{"App2_", true},
		{strings.Repeat("k", 64), true},
		{strings.Repeat("k", 65), false},
		{"a-b", false},
		{"a b", false},
		{"x; DROP TABLE sessions; --", false},
		{`k"`, false},
		{"k'", false},
		{"k\x00", false},
		{"k.", false},
		{"1k_", false},
		{"sqlite_", false},
		{"SQLite_k", false},
		{"é_", false},
		{"k\n", false},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "keycard.db")
		s, err := sqlitestore.Open(path, &sqlitestore.Options{TablePrefix: tt.prefix})
		if err == nil {
			s.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("Open with TablePrefix %q: %v, want ok %v", tt.prefix, err, tt.ok)
		}
		if _, statErr := os.Stat(path); !tt.ok && statErr == nil {
			t.Errorf("Open with TablePrefix %q made the file", tt.prefix)
		}
	}
}
