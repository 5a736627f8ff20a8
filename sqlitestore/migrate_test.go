package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// v1 writes a database the way the version 1 schema and code did, so that
// the migration to version 2 can be checked against what was written.
type v1 struct {
	t      *testing.T
	db     *sql.DB
	prefix string // the TablePrefix of the Store that will open it
}

func newV1(t *testing.T, path, prefix string) *v1 {
	t.Helper()
	schema, err := os.ReadFile("migrations/0001_sessions.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE ` + prefix + `schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		strings.ReplaceAll(string(schema), "{{prefix}}", prefix),
		`INSERT INTO ` + prefix + `schema_version VALUES (1, 1700000000)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return &v1{t, db, prefix}
}

func v1Micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func v1Bytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// Create inserts the live record r as version 1 did, with r.Version.
func (w *v1) Create(r *storage.Record) {
	w.t.Helper()
	blob := func(s string) []byte { return append([]byte{}, s...) }
	_, err := w.db.Exec(`INSERT INTO `+w.prefix+`sessions (hash, id, subject, kind, state, created_at, authenticated_at,
		renewed_at, last_seen_at, idle_expires_at, expires_at, idle_timeout, persistent, ip, user_agent,
		fingerprint, data, meta, version, successor, grace_until, deadline)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.Hash[:], blob(r.ID), blob(r.Subject), int64(r.Kind), int64(storage.StateLive),
		v1Micros(r.CreatedAt), v1Micros(r.AuthenticatedAt), v1Micros(r.RenewedAt), v1Micros(r.LastSeenAt),
		v1Micros(r.IdleExpiresAt), v1Micros(r.ExpiresAt), int64(r.IdleTimeout), r.Persistent,
		blob(r.IP), blob(r.UserAgent), blob(r.Fingerprint), v1Bytes(r.Data), v1Bytes(r.Meta),
		int64(r.Version), nil, nil, v1Micros(r.KeepUntil()))
	if err != nil {
		w.t.Fatalf("version 1 insert: %v", err)
	}
}

// Tombstone turns the record under h into a tombstone with version 1's UPDATE.
func (w *v1) Tombstone(h storage.Hash, state storage.State, succ []byte, grace time.Time) {
	w.t.Helper()
	res, err := w.db.Exec(`UPDATE `+w.prefix+`sessions SET state = ?, version = version + 1, successor = ?, grace_until = ?,
		created_at = NULL, authenticated_at = NULL, renewed_at = NULL, last_seen_at = NULL,
		idle_expires_at = NULL, idle_timeout = 0, persistent = 0, ip = x'', user_agent = x'',
		fingerprint = x'', data = NULL, meta = NULL, deadline = expires_at WHERE hash = ? AND state = 0`,
		int64(state), v1Bytes(succ), v1Micros(grace), h[:])
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		w.t.Fatalf("version 1 tombstone: %d rows, %v", n, err)
	}
}

// migrations returns the number of embedded migrations.
func migrations(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	return len(files)
}

// migrationFixture writes a version 1 database with storetest's migration
// fixture and returns what each record must read back as.
func migrationFixture(t *testing.T, path, prefix string) []*storage.Record {
	w := newV1(t, path, prefix)
	defer w.db.Close()
	return storetest.MigrationFixture(w)
}

type schemaState struct {
	versions []string // version:applied_at
	objects  []string // type:name:sql of the schema
}

// readSchema returns the versions the schema_version table (of TablePrefix
// prefix) records and the objects of the schema, after checking the file's
// integrity.
func readSchema(t *testing.T, path, prefix string) schemaState {
	t.Helper()
	return schemaState{
		versions: query(t, path, `SELECT version || ':' || applied_at FROM `+prefix+`schema_version ORDER BY version`),
		objects:  objectsOf(t, path),
	}
}

// objectsOf returns the objects of the schema of the database at path, as
// type:name:sql, after checking the file's integrity.
func objectsOf(t *testing.T, path string) []string {
	t.Helper()
	if check := query(t, path, `PRAGMA integrity_check`); len(check) != 1 || check[0] != "ok" {
		t.Errorf("integrity_check = %q", check)
	}
	return query(t, path, `SELECT type || ':' || name || ':' || ifnull(sql, '') FROM sqlite_schema ORDER BY type, name`)
}

// query returns the one column of every row of q on the database at path.
func query(t *testing.T, path, q string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrateFromVersion1 opens a database written by the version 1 schema:
// every live record and tombstone reads back as written, the tombstones keep
// their columns and a second Open changes nothing.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	want := migrationFixture(t, path, "")

	s, err := sqlitestore.Open(path, nil)
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	storetest.CheckMigrated(t, s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	first := readSchema(t, path, "")
	if len(first.versions) != migrations(t) || !strings.HasPrefix(first.versions[0], "1:1700000000") || !strings.HasPrefix(first.versions[1], "2:") {
		t.Errorf("schema_version = %q, want versions 1 (as it was), 2 and every later one", first.versions)
	}
	names := strings.Join(first.objects, "\n")
	for _, name := range []string{":sessions_live_id:", ":sessions_subject:", ":sessions_deadline:", "table:sessions:"} {
		if !strings.Contains(names, name) {
			t.Errorf("schema has no %s:\n%s", name, names)
		}
	}
	if strings.Contains(names, "sessions_0001") {
		t.Errorf("the version 1 table is still there:\n%s", names)
	}

	// The columns people and SQL read are plain columns; tombstones have
	// neither data nor live.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		var data, live []byte
		var liveNull bool
		if err := db.QueryRow(`SELECT data, live, live IS NULL FROM sessions WHERE hash = ?`, w.Hash[:]).Scan(&data, &live, &liveNull); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, w.Data) {
			t.Errorf("data column of %q = %.40q, want %.40q", w.ID, data, w.Data)
		}
		if liveNull != (w.State != storage.StateLive) {
			t.Errorf("live column of %q (state %d) NULL = %v", w.ID, w.State, liveNull)
		}
	}
	db.Close()

	// A second Open is a no-op: the same schema, versions and records.
	s = open(t, path, nil)
	storetest.CheckMigrated(t, s, want)
	if n, err := s.DeleteExpired(context.Background(), time.Now(), 100); err != nil || n != 1 {
		t.Errorf("DeleteExpired after migration = %d, %v; want the one expired record", n, err)
	}
	s.Close()
	second := readSchema(t, path, "")
	if strings.Join(second.versions, ",") != strings.Join(first.versions, ",") ||
		strings.Join(second.objects, "\n") != strings.Join(first.objects, "\n") {
		t.Errorf("second Open changed the schema:\n%q\n%q\nwant\n%q\n%q", second.versions, second.objects, first.versions, first.objects)
	}
}

// TestMigrateConcurrentOpens opens one version 1 file from two Stores at
// once, as two processes would: both succeed and the migration runs once.
func TestMigrateConcurrentOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	want := migrationFixture(t, path, "")
	var wg sync.WaitGroup
	stores := make([]*sqlitestore.Store, 2)
	errs := make([]error, 2)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = sqlitestore.Open(path, nil) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		storetest.CheckMigrated(t, s, want)
		s.Close()
	}
	if v := readSchema(t, path, "").versions; len(v) != migrations(t) {
		t.Errorf("schema_version = %q, want every version once", v)
	}
}

// TestMigrateFailureChangesNothing: a version 1 row that cannot be converted
// fails Open, and the file is left as version 1 wrote it.
func TestMigrateFailureChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keycard.db")
	migrationFixture(t, path, "")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE sessions SET persistent = 'not a bool'
		WHERE hash = (SELECT hash FROM sessions WHERE state = 0 ORDER BY hash DESC LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := readSchema(t, path, "")

	if s, err := sqlitestore.Open(path, nil); err == nil {
		s.Close()
		t.Fatal("Open with an unconvertible row succeeded")
	} else {
		t.Logf("Open: %v", err)
	}
	after := readSchema(t, path, "")
	if strings.Join(after.versions, ",") != strings.Join(before.versions, ",") ||
		strings.Join(after.objects, "\n") != strings.Join(before.objects, "\n") {
		t.Errorf("failed migration changed the schema:\n%q\n%q\nwant\n%q\n%q", after.versions, after.objects, before.versions, before.objects)
	}
}
