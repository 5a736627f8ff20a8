package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storetest"
)

// TestMigrateConcurrently starts several stores on one fresh schema at once:
// the advisory lock lets exactly one migrate, and all of them work.
func TestMigrateConcurrently(t *testing.T) {
	pool := newPool(t, testserver.SharedPostgres(t))
	const n = 6
	schema := fmt.Sprintf("keycard_concurrent_%d", schemaSeq.Add(1))
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
	}
	var versions int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM `+schema+`.keycard_schema_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != 1 {
		t.Errorf("schema_version has %d rows, want 1", versions)
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
	role := fmt.Sprintf("keycard_app_%d", schemaSeq.Add(1))
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
	defer pool.Close()
	s, err := pgstore.New(context.Background(), pool, &pgstore.Options{Schema: role})
	if err != nil {
		t.Fatalf("New as an unprivileged role: %v", err)
	}
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
