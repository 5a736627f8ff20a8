package testserver

import (
	"context"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestRedisStopStart(t *testing.T) {
	r := StartRedis(t, &RedisOptions{AppendOnly: true})
	if _, err := RedisCommand(r.Addr, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if _, err := RedisCommand(r.Addr, "PING"); err == nil {
		t.Fatal("PING after Stop succeeded")
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	got, err := RedisCommand(r.Addr, "GET", "k")
	if got, want := got, "v"; err != nil || got != want {
		t.Fatalf("GET k after restart = %q, %v; want %q", got, err, want)
	}
}

func TestSharedRedisCluster(t *testing.T) {
	c := SharedRedisCluster(t)
	if got, want := len(c.Nodes), 3; got != want {
		t.Fatalf("nodes = %d, want %d", got, want)
	}
	if c2 := SharedRedisCluster(t); c2 != c {
		t.Fatal("SharedRedisCluster started a second cluster")
	}
}

func TestPostgresStopStart(t *testing.T) {
	pg := SharedPostgres(t)
	if err := pgSimpleQuery(pg.Addr, "keycard", "CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	if err := pgPing(pg.Addr); err == nil {
		t.Fatal("connect after Stop succeeded")
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	c, cancel, err := pgConnect(pg.Addr, "keycard")
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	defer c.Close(context.Background())
	res, err := c.Exec(context.Background(), "SELECT count(*) FROM t").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(res[0].Rows[0][0]), "1"; got != want {
		t.Fatalf("rows after restart = %s, want %s", got, want)
	}
}
