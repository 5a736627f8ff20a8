package testserver

import (
	"context"
	"errors"
	"os"
	"strings"
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

func TestSharedPostgres(t *testing.T) {
	pg := SharedPostgres(t)
	if pg2 := SharedPostgres(t); pg2 != pg {
		t.Fatal("SharedPostgres started a second server")
	}
	if err := pgPing(pg.Addr); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresStopStart(t *testing.T) {
	pg := StartPostgres(t)
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

func TestMissingBinary(t *testing.T) {
	if _, err := lookBinary([]string{"keycard-no-such-server"}, "/nonexistent/*/bin/keycard-no-such-server"); err == nil {
		t.Fatal("lookBinary found a binary that does not exist")
	}
	tests := []struct {
		name, ci string
		fail     bool
	}{
		{"developer", "", false},
		{"CI", "true", true},
		{"CI other value", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			msg, fail := missing("redis-tools", "redis-cli")
			if fail != tt.fail {
				t.Errorf("CI=%q: fail = %v, want %v", tt.ci, fail, tt.fail)
			}
			if want := `Debian package "redis-tools"`; !strings.Contains(msg, want) {
				t.Errorf("message %q does not name the package (%s)", msg, want)
			}
		})
	}
}

func TestRedisSentinel(t *testing.T) {
	s := StartRedisSentinel(t)
	reply, err := RedisCommand(s.Sentinel.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.MasterName)
	if err != nil || reply != "*2" {
		t.Fatalf("SENTINEL GET-MASTER-ADDR-BY-NAME = %q, %v", reply, err)
	}
}

// TestLaunch checks the servers of programs: up after Launch, gone with
// their data after stop.
func TestLaunch(t *testing.T) {
	t.Run("redis", testLaunchRedis)
	t.Run("postgres", func(t *testing.T) {
		pg, stop, err := LaunchPostgres()
		if errors.Is(err, ErrNotInstalled) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := pgSimpleQuery(pg.Addr, "keycard", "SELECT 1"); err != nil {
			t.Fatal(err)
		}
		stop()
		if err := pgPing(pg.Addr); err == nil {
			t.Fatal("connect after stop succeeded")
		}
		if _, err := os.Stat(pg.dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("data directory after stop: %v, want it deleted", err)
		}
	})
}

func testLaunchRedis(t *testing.T) {
	r, stop, err := LaunchRedis(nil)
	if errors.Is(err, ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RedisCommand(r.Addr, "PING"); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := RedisCommand(r.Addr, "PING"); err == nil {
		t.Fatal("PING after stop succeeded")
	}
	if _, err := os.Stat(r.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data directory after stop: %v, want it deleted", err)
	}
}
