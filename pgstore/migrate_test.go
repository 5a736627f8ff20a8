package pgstore_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// v1 writes a schema the way the version 1 migration and code did, so that
// the migration to version 2 can be checked against what was written.
type v1 struct {
	t      *testing.T
	pool   *pgxpool.Pool
	schema string
}

func newV1(t *testing.T, pool *pgxpool.Pool, schema string) *v1 {
	t.Helper()
	body, err := os.ReadFile("migrations/0001_sessions.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE SCHEMA ` + schema,
		`CREATE TABLE ` + schema + `.keycard_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
		strings.ReplaceAll(string(body), "{{schema}}", schema),
		`INSERT INTO ` + schema + `.keycard_schema_version VALUES (1, '2026-01-01T00:00:00Z')`,
	} {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	return &v1{t, pool, schema}
}

func v1Time(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()} }

func v1Bytes(s string) []byte { return append([]byte{}, s...) }

// Create inserts the live record r as version 1 did, with r.Version.
func (w *v1) Create(r *storage.Record) {
	w.t.Helper()
	_, err := w.pool.Exec(context.Background(), `INSERT INTO `+w.schema+`.keycard_sessions (hash, id, subject,
		kind, state, created_at, authenticated_at, renewed_at, last_seen_at, idle_expires_at, expires_at,
		idle_timeout, persistent, ip, user_agent, fingerprint, data, meta, version, successor, grace_until, deadline)
		VALUES ($1,$2,$3,$4,0,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,NULL,NULL,$19)`,
		r.Hash[:], v1Bytes(r.ID), v1Bytes(r.Subject), int16(r.Kind), v1Time(r.CreatedAt),
		v1Time(r.AuthenticatedAt), v1Time(r.RenewedAt), v1Time(r.LastSeenAt), v1Time(r.IdleExpiresAt),
		v1Time(r.ExpiresAt), int64(r.IdleTimeout), r.Persistent, v1Bytes(r.IP), v1Bytes(r.UserAgent),
		v1Bytes(r.Fingerprint), r.Data, r.Meta, int64(r.Version), v1Time(r.KeepUntil()))
	if err != nil {
		w.t.Fatalf("version 1 insert: %v", err)
	}
}

// Tombstone turns the record under h into a tombstone with version 1's UPDATE.
func (w *v1) Tombstone(h storage.Hash, state storage.State, succ []byte, grace time.Time) {
	w.t.Helper()
	tag, err := w.pool.Exec(context.Background(), `UPDATE `+w.schema+`.keycard_sessions SET state = $1,
		version = version + 1, successor = $2, grace_until = $3,
		created_at = NULL, authenticated_at = NULL, renewed_at = NULL, last_seen_at = NULL,
		idle_expires_at = NULL, idle_timeout = 0, persistent = false, ip = '', user_agent = '',
		fingerprint = '', data = NULL, meta = NULL, deadline = expires_at WHERE hash = $4 AND state = 0`,
		int16(state), succ, v1Time(grace), h[:])
	if err != nil || tag.RowsAffected() != 1 {
		w.t.Fatalf("version 1 tombstone: %d rows, %v", tag.RowsAffected(), err)
	}
}

// tableState is what a migration may change: the versions recorded, the
// table's columns and its indexes.
func tableState(t *testing.T, pool *pgxpool.Pool, schema string) (versions, columns, indexes []string) {
	t.Helper()
	ctx := context.Background()
	for q, dst := range map[string]*[]string{
		`SELECT version::text FROM ` + schema + `.keycard_schema_version ORDER BY version`: &versions,
		`SELECT column_name || ' ' || data_type FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = 'keycard_sessions' ORDER BY ordinal_position`: &columns,
		`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'keycard_sessions' ORDER BY indexname`: &indexes,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, schema)
		}
		rows, err := pool.Query(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		*dst, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
	}
	return versions, columns, indexes
}

// wantColumns are the columns of keycard_sessions in the newest schema
// version, as tableState lists them.
const wantColumns = "hash bytea,id bytea,subject bytea,kind smallint,state smallint," +
	"expires_at timestamp with time zone,data bytea,version bigint,successor bytea," +
	"grace_until timestamp with time zone,deadline timestamp with time zone,live bytea," +
	"pending_keys ARRAY,pending_values ARRAY"

// migrationVersions returns the versions of the embedded migrations, in
// order: what a schema New migrated lists.
func migrationVersions(t *testing.T) []string {
	t.Helper()
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, f := range files {
		v, _, _ := strings.Cut(f.Name(), "_")
		vs = append(vs, strings.TrimLeft(v, "0"))
	}
	return vs
}

// checkMigratedSchema checks a schema that New has just migrated: it
// records every migration's version, its table has exactly the newest
// version's columns and the indexes it had before, and a second New
// changes nothing and returns a Store on which every record of want reads
// back as written and DeleteExpired drops the fixture's one expired record.
func checkMigratedSchema(t *testing.T, pool *pgxpool.Pool, schema string, want []*storage.Record, indexesBefore []string) *pgstore.Store {
	t.Helper()
	versions, columns, indexes := tableState(t, pool, schema)
	if got, want := strings.Join(versions, ","), strings.Join(migrationVersions(t), ","); got != want {
		t.Errorf("schema versions = %s, want %s", got, want)
	}
	if got := strings.Join(columns, ","); got != wantColumns {
		t.Errorf("columns after migration:\n%s\nwant\n%s", got, wantColumns)
	}
	if strings.Join(indexes, "\n") != strings.Join(indexesBefore, "\n") || len(indexes) != 4 {
		t.Errorf("indexes after migration:\n%s\nbefore:\n%s", strings.Join(indexes, "\n"), strings.Join(indexesBefore, "\n"))
	}
	s := open(t, pool, &pgstore.Options{Schema: schema})
	storetest.CheckMigrated(t, s, want)
	if v, c, i := tableState(t, pool, schema); strings.Join(v, ",") != strings.Join(versions, ",") ||
		strings.Join(c, ",") != strings.Join(columns, ",") || strings.Join(i, ",") != strings.Join(indexes, ",") {
		t.Errorf("second New changed the schema: %q %q %q", v, c, i)
	}
	if n, err := s.DeleteExpired(context.Background(), time.Now(), 100); err != nil || n != 1 {
		t.Errorf("DeleteExpired after migration = %d, %v; want the one expired record", n, err)
	}
	return s
}

// TestMigrateFromVersion1 opens a schema written by version 1: migration 2
// builds, in SQL, the live column of every live record byte for byte as
// binrec.EncodeLive does; every record and tombstone reads back as written;
// the table keeps its indexes and has exactly the newest version's columns;
// and a second New changes nothing.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, testserver.SharedPostgres(t))
	schema := newSchema("v1")
	w := newV1(t, pool, schema)
	want := storetest.MigrationFixture(w)
	_, _, indexesBefore := tableState(t, pool, schema)

	s := open(t, pool, &pgstore.Options{Schema: schema})
	storetest.CheckMigrated(t, s, want)

	for _, r := range want {
		var data, live []byte
		if err := pool.QueryRow(ctx, `SELECT data, live FROM `+s.TableName()+` WHERE hash = $1`, r.Hash[:]).Scan(&data, &live); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, r.Data) {
			t.Errorf("data column of %q = %.40q, want %.40q", r.ID, data, r.Data)
		}
		if r.State != storage.StateLive {
			if live != nil {
				t.Errorf("tombstone %q has a live column", r.ID)
			}
			continue
		}
		enc, err := binrec.EncodeLive(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(live, enc) {
			t.Errorf("live column of %q built by SQL differs from EncodeLive:\n%.200x\n%.200x", r.ID, live, enc)
		}
	}

	s = checkMigratedSchema(t, pool, schema, want, indexesBefore)
	r := want[0].Clone()
	r.Data, r.IP = []byte(`{"after":"migration"}`), "198.51.100.7"
	if err := s.Update(ctx, r); err != nil {
		t.Fatalf("Update of a migrated record: %v", err)
	}
	if got, err := s.Get(ctx, r.Hash); err != nil || storetest.Diff(got, r) != "" {
		t.Errorf("Get after Update of a migrated record = %v; %s", err, storetest.Diff(got, r))
	}
}

// v2 writes a schema the way versions 1 and 2 of the migrations and the
// version 2 code did (no pending changes), so that migration 3 can be
// checked against what was written.
type v2 struct {
	t     *testing.T
	pool  *pgxpool.Pool
	table string
}

func newV2(t *testing.T, pool *pgxpool.Pool, schema string) *v2 {
	t.Helper()
	qs := []string{
		`CREATE SCHEMA ` + schema,
		`CREATE TABLE ` + schema + `.keycard_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
	}
	for _, f := range []string{"migrations/0001_sessions.sql", "migrations/0002_live.sql"} {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, strings.ReplaceAll(string(body), "{{schema}}", schema))
	}
	qs = append(qs, `INSERT INTO `+schema+`.keycard_schema_version VALUES (1, '2026-01-01T00:00:00Z'), (2, '2026-06-01T00:00:00Z')`)
	for _, q := range qs {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	return &v2{t, pool, schema + ".keycard_sessions"}
}

// Create inserts the live record r as version 2 did, with r.Version.
func (w *v2) Create(r *storage.Record) {
	w.t.Helper()
	live, err := binrec.EncodeLive(r)
	if err != nil {
		w.t.Fatal(err)
	}
	_, err = w.pool.Exec(context.Background(), `INSERT INTO `+w.table+` (hash, id, subject, kind, state,
		expires_at, version, successor, grace_until, data, live, deadline) VALUES ($1,$2,$3,$4,0,$5,$6,NULL,NULL,$7,$8,$9)`,
		r.Hash[:], v1Bytes(r.ID), v1Bytes(r.Subject), int16(r.Kind), v1Time(r.ExpiresAt), int64(r.Version),
		r.Data, live, v1Time(r.KeepUntil()))
	if err != nil {
		w.t.Fatalf("version 2 insert: %v", err)
	}
}

// Tombstone turns the record under h into a tombstone with version 2's UPDATE.
func (w *v2) Tombstone(h storage.Hash, state storage.State, succ []byte, grace time.Time) {
	w.t.Helper()
	tag, err := w.pool.Exec(context.Background(), `UPDATE `+w.table+` SET state = $1, version = version + 1,
		successor = $2, grace_until = $3, data = NULL, live = NULL, deadline = expires_at WHERE hash = $4 AND state = 0`,
		int16(state), succ, v1Time(grace), h[:])
	if err != nil || tag.RowsAffected() != 1 {
		w.t.Fatalf("version 2 tombstone: %d rows, %v", tag.RowsAffected(), err)
	}
}

// rawRow is what a row of keycard_sessions holds, column by column.
type rawRow struct {
	data, live     []byte
	keys, values   [][]byte
	deadline       time.Time
	version, state int64
}

// readRaw reads the row under h; pending says whether the table has the
// pending columns yet (schema version 3).
func readRaw(t *testing.T, pool *pgxpool.Pool, table string, h storage.Hash, pending bool) rawRow {
	t.Helper()
	var (
		r        rawRow
		deadline pgtype.Timestamptz
	)
	cols, dest := `data, live, deadline, version, state`, []any{&r.data, &r.live, &deadline, &r.version, &r.state}
	if pending {
		cols, dest = cols+`, pending_keys, pending_values`, append(dest, &r.keys, &r.values)
	}
	if err := pool.QueryRow(context.Background(), `SELECT `+cols+` FROM `+table+` WHERE hash = $1`, h[:]).Scan(dest...); err != nil {
		t.Fatal(err)
	}
	r.deadline = deadline.Time.UTC()
	return r
}

// TestMigrateFromVersion2 opens a schema written by version 2: migration 3
// adds the pending columns, NULL in every row, and leaves every other
// column byte for byte as it was; every record and tombstone reads back as
// written; the table keeps its indexes and has exactly the newest
// version's columns; migrated records merge, update and expire like new
// ones; and a second New changes nothing.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, testserver.SharedPostgres(t))
	schema := newSchema("v2")
	w := newV2(t, pool, schema)
	want := storetest.MigrationFixture(w)
	before := map[storage.Hash]rawRow{}
	for _, r := range want {
		before[r.Hash] = readRaw(t, pool, w.table, r.Hash, false)
	}
	_, _, indexesBefore := tableState(t, pool, schema)

	s := open(t, pool, &pgstore.Options{Schema: schema})
	storetest.CheckMigrated(t, s, want)
	for _, r := range want {
		got, was := readRaw(t, pool, s.TableName(), r.Hash, true), before[r.Hash]
		if got.keys != nil || got.values != nil {
			t.Errorf("%q: pending columns after migration = %q, %q; want NULL", r.ID, got.keys, got.values)
		}
		if !bytes.Equal(got.data, was.data) || (got.data == nil) != (was.data == nil) || !bytes.Equal(got.live, was.live) ||
			!got.deadline.Equal(was.deadline) || got.version != was.version || got.state != was.state {
			t.Errorf("%q: migration changed the row:\n%+v\nwas\n%+v", r.ID, got, was)
		}
	}
	s = checkMigratedSchema(t, pool, schema, want, indexesBefore)
	for _, r := range want {
		if r.State != storage.StateLive || !r.IdleExpiresAt.After(time.Now()) {
			continue
		}
		m := &storage.Merge{Kind: r.Kind, Now: storetest.Now(), IdleTimeout: time.Hour,
			Changes: []storage.Change{change("after", `"migration"`)}}
		merged := applied(t, r, m)
		got, err := s.Merge(ctx, r.Hash, m)
		if err != nil {
			t.Fatalf("Merge into migrated %q: %v", r.ID, err)
		}
		if d := storetest.Diff(got, merged); d != "" {
			t.Errorf("Merge into migrated %q:%s", r.ID, d)
		}
		if err := s.Update(ctx, got); err != nil {
			t.Fatalf("Update of migrated and merged %q: %v", r.ID, err)
		}
		merged.Version++
		if got, err := s.Get(ctx, r.Hash); err != nil || storetest.Diff(got, merged) != "" {
			t.Errorf("Get after Merge and Update of migrated %q = %v;%s", r.ID, err, storetest.Diff(got, merged))
		}
	}
}

// TestMigrateConcurrently starts several stores on one fresh schema at once:
// the advisory lock lets exactly one migrate, and all of them work.
func TestMigrateConcurrently(t *testing.T) {
	pool := newPool(t, testserver.SharedPostgres(t))
	const n = 6
	schema := newSchema("concurrent")
	stores := make([]*pgstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = pgstore.New(context.Background(), pool, &pgstore.Options{Schema: schema}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("New %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	var versions int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM `+schema+`.keycard_schema_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if want := len(migrationVersions(t)); versions != want {
		t.Errorf("schema_version has %d rows, want %d (every migration, once each)", versions, want)
	}
	r := storetest.NewRecord("alice")
	if err := stores[0].Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[n-1].Get(context.Background(), r.Hash); err != nil {
		t.Errorf("a record created through one store is not visible through another: %v", err)
	}
}

// TestUnprivilegedRole runs New as a role that owns its schema but may not
// create schemas in the database, as an application role usually is.
func TestUnprivilegedRole(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	admin := newPool(t, pg)
	role := newSchema("app")
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`REVOKE CREATE ON DATABASE keycard FROM PUBLIC`,
		`CREATE SCHEMA ` + role + ` AUTHORIZATION ` + role,
	} {
		if _, err := admin.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	url := strings.Replace(pg.URL(""), "keycard@", role+"@", 1)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := open(t, pool, &pgstore.Options{Schema: role})
	if err := s.Create(context.Background(), storetest.NewRecord("alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.New(context.Background(), pool, &pgstore.Options{Schema: "keycard_elsewhere"}); err == nil {
		t.Error("New in a schema the role may not create succeeded")
	}
}

// TestOpen checks Open with a URL and its errors.
func TestOpen(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	s, err := pgstore.Open(context.Background(), pg.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Create(context.Background(), storetest.NewRecord("alice")); err != nil {
		t.Fatal(err)
	}
	_, err = pgstore.Open(context.Background(), "postgres://keycard:s3cret@127.0.0.1:1/keycard?connect_timeout=1&sslmode=disable")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open error %q repeats the password", err)
	}
}
