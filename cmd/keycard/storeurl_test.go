package main

import (
	"strings"
	"testing"
)

func TestParseStoreURL(t *testing.T) {
	tests := []struct {
		name, in string
		kind     string
		path     string // sqlite
		mode     string // redis
		url      string // the URL handed to the driver, when checked
		err      string // a part of the error; "" means no error
	}{
		{name: "memory", in: "memory:", kind: storeMemory},
		{name: "memory upper case", in: "MEMORY:", kind: storeMemory},
		{name: "memory with a path", in: "memory:x", err: "memory: takes nothing"},
		{name: "sqlite relative", in: "sqlite:keycard.db", kind: storeSQLite, path: "keycard.db"},
		{name: "sqlite absolute", in: "sqlite:/var/lib/keycard/keycard.db", kind: storeSQLite, path: "/var/lib/keycard/keycard.db"},
		{name: "sqlite with spaces", in: "sqlite:my dir/k.db", kind: storeSQLite, path: "my dir/k.db"},
		{name: "sqlite alone", in: "sqlite:", err: "needs a file path"},
		{name: "sqlite slashes", in: "sqlite:///var/k.db", err: "not sqlite://"},
		{name: "sqlite query", in: "sqlite:k.db?mode=memory", err: "may not contain"},
		{name: "sqlite NUL", in: "sqlite:k\x00.db", err: "may not contain"},
		{name: "redis", in: "redis://localhost:6379", kind: storeRedis, mode: "standalone", url: "redis://localhost:6379"},
		{name: "rediss with db and password", in: "rediss://u:p@h:6380/2", kind: storeRedis, mode: "standalone"},
		{name: "redis cluster", in: "redis://a:7000,b:7001,c:7002", kind: storeRedis, mode: "cluster"},
		{name: "redis cluster with password", in: "redis://:pw@a:7000,b:7001", kind: storeRedis, mode: "cluster"},
		{name: "redis sentinel", in: "redis://s1:26379,s2:26379?sentinel=mymaster", kind: storeRedis, mode: "sentinel",
			url: "redis://s1:26379,s2:26379?master_name=mymaster"},
		{name: "redis sentinel with db and options", in: "redis://s1:26379/3?dial_timeout=2s&sentinel=m", kind: storeRedis, mode: "sentinel",
			url: "redis://s1:26379/3?dial_timeout=2s&master_name=m"},
		{name: "redis master_name", in: "redis://s1:26379?master_name=m", kind: storeRedis, mode: "sentinel"},
		{name: "redis empty sentinel", in: "redis://s1:26379?sentinel=", err: "needs one master name"},
		{name: "redis two sentinels", in: "redis://s1:26379?sentinel=a&sentinel=b", err: "needs one master name"},
		{name: "redis both master names", in: "redis://s1:26379?sentinel=a&master_name=b", err: "not both"},
		{name: "redis empty host in list", in: "redis://a:1,,b:2", err: "empty or malformed host"},
		{name: "redis trailing comma", in: "redis://a:1,", err: "empty or malformed host"},
		{name: "redis no slashes", in: "redis:localhost:6379", err: "missing //"},
		{name: "redis fragment", in: "redis://h:1#x", err: "fragment"},
		{name: "postgres", in: "postgres://keycard:pw@db:5432/keycard?sslmode=verify-full", kind: storePostgres},
		{name: "postgresql", in: "postgresql://db/keycard", kind: storePostgres},
		{name: "postgres no slashes", in: "postgres:db", err: "postgres://"},
		{name: "postgres no host", in: "postgres:///keycard", err: "postgres://"},
		{name: "empty", in: "", err: "not a store URL"},
		{name: "bare path", in: "keycard.db", err: "not a store URL"},
		{name: "unknown scheme", in: "mysql://h/db", err: "unknown scheme"},
		{name: "file scheme", in: "file:keycard.db", err: "unknown scheme"},
		{name: "hostile bytes", in: "\x00\xff:\n", err: "unknown scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStoreURL(tt.in)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("parseStoreURL(%q) = %+v, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %q, want it to contain %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), "redis://") {
					t.Errorf("error %q does not name the forms expected", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseStoreURL(%q): %v", tt.in, err)
			}
			if got.kind != tt.kind || got.path != tt.path || got.redisMode != tt.mode {
				t.Errorf("parseStoreURL(%q) = kind %q path %q mode %q, want %q %q %q", tt.in, got.kind, got.path, got.redisMode, tt.kind, tt.path, tt.mode)
			}
			if tt.url != "" && got.url != tt.url {
				t.Errorf("driver URL %q, want %q", got.url, tt.url)
			}
		})
	}
}

// TestParseStoreURLHidesPassword checks that neither errors nor the
// store's name repeat a password in the URL.
func TestParseStoreURLHidesPassword(t *testing.T) {
	for _, in := range []string{
		"redis://u:s3cret@a:1,",
		"redis://u:s3cret@h:1#frag",
		"redis://u:s3cret@h:1?sentinel=",
		"postgres:u:s3cret@db",
		"mysql://u:s3cret@h/db",
	} {
		_, err := parseStoreURL(in)
		if err == nil {
			t.Fatalf("parseStoreURL(%q): no error", in)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("parseStoreURL(%q) error %q repeats the password", in, err)
		}
	}
	for _, in := range []string{"redis://u:s3cret@h:1", "postgres://u:s3cret@db/k"} {
		u, err := parseStoreURL(in)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(u.String(), "s3cret") {
			t.Errorf("storeURL.String() = %q repeats the password", u)
		}
	}
}
