package pgstore

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard/internal/testserver"
)

// TestMigrateFillsGaps: a migration numbered below the newest one applied
// (released later, as migrations of different tables of two changes made at
// once may be) is applied when it shows up, and the others are not run
// again.
func TestMigrateFillsGaps(t *testing.T) {
	defer func(m fs.FS) { migrations = m }(migrations)
	pg := testserver.SharedPostgres(t)
	schema := fmt.Sprintf("keycard_gaps_%d", time.Now().UnixNano())
	pool, err := pgxpool.New(context.Background(), pg.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	files := fstest.MapFS{}
	names, err := fs.Glob(embedded, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, _ := fs.ReadFile(embedded, n)
		files[n] = &fstest.MapFile{Data: b}
	}
	last := names[len(names)-1]
	var newest int
	fmt.Sscanf(strings.TrimPrefix(last, "migrations/"), "%d", &newest)
	gap := fmt.Sprintf("migrations/%04d_gap.sql", newest+5)
	files[fmt.Sprintf("migrations/%04d_later.sql", newest+9)] = &fstest.MapFile{Data: []byte(`CREATE TABLE {{schema}}.later (x int)`)}
	migrations = files
	ctx := context.Background()
	s, err := New(ctx, pool, &Options{Schema: schema, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	files[gap] = &fstest.MapFile{Data: []byte(`CREATE TABLE {{schema}}.gap (x int)`)}
	s, err = New(ctx, pool, &Options{Schema: schema, SweepInterval: -1})
	if err != nil {
		t.Fatalf("New with a migration numbered below the newest applied: %v", err)
	}
	s.Close()
	var versions []int32
	rows, err := pool.Query(ctx, `SELECT version FROM `+schema+`.keycard_schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != len(names)+2 || versions[len(versions)-2] != int32(newest+5) {
		t.Errorf("versions applied: %v, want the %d files, the gap and the later one once each", versions, len(names))
	}
	if _, err := pool.Exec(ctx, `SELECT FROM `+schema+`.gap`); err != nil {
		t.Errorf("the gap's migration did not run: %v", err)
	}
}
