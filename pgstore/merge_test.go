package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keycard-go/keycard/internal/binrec"
	"github.com/keycard-go/keycard/internal/testserver"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/storage"
	"github.com/keycard-go/keycard/storetest"
)

// applied returns what m makes of r, with the next version, as a
// conforming Merge stores it.
func applied(t *testing.T, r *storage.Record, m *storage.Merge) *storage.Record {
	t.Helper()
	want := r.Clone()
	if !m.Apply(want) {
		t.Fatalf("test bug: the merge does not apply to %q", r.ID)
	}
	want.Version++
	return want
}

func change(k, v string) storage.Change {
	c := storage.Change{Key: k}
	if v != "" {
		c.Value = []byte(v)
	}
	return c
}

// wantRow checks the columns of the row of want: data as the last whole
// write stored it, the pending changes, the live column byte for byte as
// binrec.EncodeLive encodes want, the deadline (KeepUntil) and the version.
func wantRow(t *testing.T, pool *pgxpool.Pool, table string, want *storage.Record, data string, keys, values []string) {
	t.Helper()
	got := readRaw(t, pool, table, want.Hash, true)
	if string(got.data) != data {
		t.Errorf("data column = %s, want %s", got.data, data)
	}
	if (got.keys == nil) != (keys == nil) || fmt.Sprintf("%q", got.keys) != fmt.Sprintf("%q", keys) {
		t.Errorf("pending_keys = %q, want %q", got.keys, keys)
	}
	var wantValues [][]byte
	for _, v := range values {
		if v == "" {
			wantValues = append(wantValues, nil)
		} else {
			wantValues = append(wantValues, []byte(v))
		}
	}
	if (got.values == nil) != (values == nil) || fmt.Sprintf("%#v", got.values) != fmt.Sprintf("%#v", wantValues) {
		t.Errorf("pending_values = %q, want %q", got.values, values)
	}
	live, err := binrec.EncodeLive(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.live, live) {
		t.Errorf("live column differs from EncodeLive:\n%x\n%x", got.live, live)
	}
	if !got.deadline.Equal(want.KeepUntil()) {
		t.Errorf("deadline = %v, want KeepUntil %v", got.deadline, want.KeepUntil())
	}
	if uint64(got.version) != want.Version {
		t.Errorf("version = %d, want %d", got.version, want.Version)
	}
}

// TestMergeStoredFormat: Merge leaves data as it was and appends the
// changes to the pending columns, dropping earlier pending changes of the
// keys it changes; it rewrites LastSeenAt and IdleExpiresAt in the live
// column byte for byte as EncodeLive would and moves the deadline; Update,
// Rotate and Delete write the folded data and clear the pending columns.
func TestMergeStoredFormat(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	pool := newPool(t, testserver.SharedPostgres(t))
	table := s.TableName()

	r := storetest.NewRecord("alice")
	r.IdleTimeout = 10*time.Minute + 3*time.Microsecond
	r.Data = []byte(`{"b":2,"a":1}`) // not sorted: Merge must not rewrite it, the fold sorts it
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	wantRow(t, pool, table, r, `{"b":2,"a":1}`, nil, nil)

	now := r.LastSeenAt.Add(time.Second)
	m := &storage.Merge{Kind: r.Kind, Now: now, IdleTimeout: time.Hour,
		Changes: []storage.Change{change("c", `"x"`), change("a", ""), change("c", `"y"`)}}
	want := applied(t, r, m)
	got, err := s.Merge(ctx, r.Hash, m)
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.Diff(got, want); d != "" {
		t.Errorf("Merge returned:%s", d)
	}
	if string(want.Data) != `{"b":2,"c":"y"}` {
		t.Fatalf("test bug: %s", want.Data)
	}
	wantRow(t, pool, table, want, `{"b":2,"a":1}`, []string{"c", "a", "c"}, []string{`"x"`, "", `"y"`})

	// Merging one key again and again keeps one pending change of it.
	for i := range 50 {
		m = &storage.Merge{Kind: r.Kind, Now: now.Add(time.Duration(i) * time.Microsecond), IdleTimeout: time.Hour,
			Changes: []storage.Change{change("n", fmt.Sprint(i))}}
		want = applied(t, want, m)
		if _, err := s.Merge(ctx, r.Hash, m); err != nil {
			t.Fatal(err)
		}
	}
	wantRow(t, pool, table, want, `{"b":2,"a":1}`, []string{"c", "a", "c", "n"}, []string{`"x"`, "", `"y"`, "49"})
	if got, err := s.Get(ctx, r.Hash); err != nil || storetest.Diff(got, want) != "" {
		t.Errorf("Get after merges = %v;%s", err, storetest.Diff(got, want))
	}

	// A merge without changes still records the activity, and the fold
	// still sorts the data, as Apply does.
	m = &storage.Merge{Kind: r.Kind, Now: now.Add(time.Minute), IdleTimeout: time.Hour}
	want = applied(t, want, m)
	if got, err := s.Merge(ctx, r.Hash, m); err != nil || storetest.Diff(got, want) != "" {
		t.Errorf("Merge without changes = %v;%s", err, storetest.Diff(got, want))
	}

	// Update writes the folded data whole.
	cur, err := s.Get(ctx, r.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	wantRow(t, pool, table, cur, `{"b":2,"c":"y","n":49}`, nil, nil)

	// Rotate and Delete leave tombstones without pending changes.
	if _, err := s.Merge(ctx, r.Hash, m); err != nil {
		t.Fatal(err)
	}
	cur, err = s.Get(ctx, r.Hash)
	if err != nil {
		t.Fatal(err)
	}
	next := cur.Clone()
	next.Hash = storetest.NewHash()
	if err := s.Rotate(ctx, cur, next, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, pool, table, r.Hash, true); got.keys != nil || got.values != nil || got.data != nil {
		t.Errorf("rotated tombstone keeps data %q, pending %q %q", got.data, got.keys, got.values)
	}
	wantRow(t, pool, table, next, `{"b":2,"c":"y","n":49}`, nil, nil)
	if _, err := s.Merge(ctx, next.Hash, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, next.Hash); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, pool, table, next.Hash, true); got.keys != nil || got.values != nil || got.data != nil {
		t.Errorf("destroyed tombstone keeps data %q, pending %q %q", got.data, got.keys, got.values)
	}
}

// TestMergeDeclines: Merge declines, changing nothing, a record whose own
// idle timeout is too long for exact interval arithmetic and a row whose
// live column is not one it knows; the caller then reads the record (and
// meets the corrupt row as an error).
func TestMergeDeclines(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	pool := newPool(t, testserver.SharedPostgres(t))
	long := storetest.NewRecord("alice")
	long.IdleTimeout = 290 * 365 * 24 * time.Hour
	if err := s.Create(ctx, long); err != nil {
		t.Fatal(err)
	}
	ok := storetest.NewRecord("alice")
	ok.IdleTimeout = (1<<53 - 1) * time.Microsecond // just short enough
	if err := s.Create(ctx, ok); err != nil {
		t.Fatal(err)
	}
	m := &storage.Merge{Kind: storage.KindBrowser, Now: long.LastSeenAt, IdleTimeout: time.Hour,
		Changes: []storage.Change{change("a", "1")}}
	if got, err := s.Merge(ctx, long.Hash, m); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Merge with a 290-year idle timeout = %v, %v; want ErrNotFound", got, err)
	}
	wantRow(t, pool, s.TableName(), long, string(long.Data), nil, nil)
	want := applied(t, ok, m)
	if got, err := s.Merge(ctx, ok.Hash, m); err != nil || storetest.Diff(got, want) != "" {
		t.Errorf("Merge with an idle timeout of 2^53-1 µs = %v;%s", err, storetest.Diff(got, want))
	}

	for _, live := range [][]byte{{}, {1, 2, 3}, append([]byte{2}, make([]byte, 80)...)} {
		r := storetest.NewRecord("alice")
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE `+s.TableName()+` SET live = $1 WHERE hash = $2`, live, r.Hash[:]); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Merge(ctx, r.Hash, m); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("live = %x: Merge = %v, %v; want ErrNotFound", live, got, err)
		}
		if got := readRaw(t, pool, s.TableName(), r.Hash, true); !bytes.Equal(got.live, live) || got.version != 1 || got.keys != nil {
			t.Errorf("live = %x: a declined Merge changed the row: %+v", live, got)
		}
		if _, err := s.Get(ctx, r.Hash); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("live = %x: Get = %v; want a store error", live, err)
		}
	}
}

// TestMergeTimeZones: Merge's arithmetic on times is exact whatever time
// zone the session runs in, with offsets of minutes and the microseconds
// of every deadline kept.
func TestMergeTimeZones(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	schema := newSchema("tz")
	for _, tz := range []string{"UTC", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham", "Europe/Amsterdam"} {
		t.Run(tz, func(t *testing.T) {
			ctx := context.Background()
			cfg, err := pgxpool.ParseConfig(pg.URL(""))
			if err != nil {
				t.Fatal(err)
			}
			cfg.ConnConfig.RuntimeParams["timezone"] = tz
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			s := open(t, pool, &pgstore.Options{Schema: schema})
			for _, absolute := range []time.Duration{time.Minute + 999999*time.Microsecond, 90 * 24 * time.Hour} {
				r := storetest.NewRecord("alice")
				r.LastSeenAt = r.LastSeenAt.Add(123457 * time.Microsecond)
				r.ExpiresAt = r.LastSeenAt.Add(absolute)
				r.IdleTimeout = 7*time.Minute + 1*time.Microsecond
				if err := s.Create(ctx, r); err != nil {
					t.Fatal(err)
				}
				m := &storage.Merge{Kind: r.Kind, Now: r.LastSeenAt.Add(time.Microsecond), IdleTimeout: time.Hour,
					Changes: []storage.Change{change("tz", `"`+tz+`"`)}}
				want := applied(t, r, m)
				got, err := s.Merge(ctx, r.Hash, m)
				if err != nil || storetest.Diff(got, want) != "" {
					t.Errorf("absolute %v: Merge = %v;%s", absolute, err, storetest.Diff(got, want))
				}
				wantRow(t, pool, s.TableName(), want, string(r.Data), []string{"tz"}, []string{`"` + tz + `"`})
			}
		})
	}
}
