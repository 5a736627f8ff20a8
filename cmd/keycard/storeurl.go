package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
)

// Store kinds, as --store names them.
const (
	storeMemory   = "memory"
	storeSQLite   = "sqlite"
	storeRedis    = "redis"
	storePostgres = "postgres"
)

// storeForms lists the --store forms, for errors and help.
const storeForms = "memory:, sqlite:PATH, redis://HOST:PORT[,HOST:PORT…][?sentinel=MASTER], rediss://…, postgres://… or postgresql://…"

// storeURL is a parsed --store value.
type storeURL struct {
	kind string
	// path is the database file of a sqlite store.
	path string
	// url is what the driver opens for redis and postgres: the URL as given,
	// but for redis with ?sentinel=NAME turned into go-redis's master_name.
	url string
	// redisMode is "standalone", "cluster" or "sentinel".
	redisMode string
}

// String names the store without the URL, which may hold a password.
func (u storeURL) String() string {
	switch u.kind {
	case storeSQLite:
		return "sqlite:" + u.path
	case storeRedis:
		return "redis (" + u.redisMode + ")"
	}
	return u.kind
}

// parseStoreURL parses a --store value. Its errors never repeat the value,
// which may hold a password.
func parseStoreURL(s string) (storeURL, error) {
	bad := func(why string) (storeURL, error) {
		return storeURL{}, fmt.Errorf("--store: %s; the forms are %s", why, storeForms)
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return bad("not a store URL")
	}
	switch strings.ToLower(scheme) {
	case "memory":
		if rest != "" {
			return bad("memory: takes nothing after the colon")
		}
		return storeURL{kind: storeMemory}, nil
	case "sqlite":
		switch {
		case rest == "":
			return bad("sqlite: needs a file path (sqlite:keycard.db, sqlite:/var/lib/keycard/keycard.db)")
		case strings.HasPrefix(rest, "//"):
			// sqlite://x could mean the file x or /x; say which to write
			// rather than guess.
			return bad("write sqlite:PATH (sqlite:keycard.db or sqlite:/abs/path), not sqlite://")
		case strings.ContainsAny(rest, "?#\x00"):
			return bad("a sqlite path may not contain '?', '#' or NUL")
		}
		return storeURL{kind: storeSQLite, path: rest}, nil
	case "redis", "rediss":
		return parseRedisURL(s)
	case "postgres", "postgresql":
		if !strings.HasPrefix(rest, "//") {
			return bad("a PostgreSQL URL is postgres://[user[:password]@]host[:port]/database")
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return bad("a PostgreSQL URL is postgres://[user[:password]@]host[:port]/database")
		}
		return storeURL{kind: storePostgres, url: s}, nil
	}
	return bad("unknown scheme")
}

// parseRedisURL parses redis:// and rediss:// URLs: one host:port for a
// standalone server, several comma-separated for a Cluster, and
// ?sentinel=MASTER for the Sentinels of the master MASTER.
func parseRedisURL(s string) (storeURL, error) {
	bad := func(why string) (storeURL, error) {
		return storeURL{}, fmt.Errorf("--store: %s; a Redis URL is redis://[user:password@]HOST:PORT[,HOST:PORT…][/DB][?sentinel=MASTER] (or rediss:// for TLS)", why)
	}
	scheme, rest, _ := strings.Cut(s, "://")
	if len(scheme) == len(s) || !strings.HasPrefix(s[len(scheme):], "://") {
		return bad("missing //")
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	list := strings.Split(hosts, ",")
	for _, h := range list {
		if h == "" || strings.ContainsAny(h, " \t") {
			return bad("an empty or malformed host")
		}
	}
	// Parse with the first host only: url.Parse refuses a host list.
	u, err := url.Parse(scheme + "://" + userinfo + list[0] + tail)
	if err != nil {
		return bad("malformed URL")
	}
	if u.Fragment != "" {
		return bad("a fragment (#…) is not allowed")
	}
	q := u.Query()
	mode := "standalone"
	if len(list) > 1 {
		mode = "cluster"
	}
	if q.Has("sentinel") {
		master := q.Get("sentinel")
		if master == "" || len(q["sentinel"]) > 1 {
			return bad("?sentinel= needs one master name")
		}
		if q.Has("master_name") {
			return bad("give ?sentinel= or ?master_name=, not both")
		}
		mode = "sentinel"
	} else if q.Has("master_name") {
		mode = "sentinel"
	}
	// go-redis calls the Sentinel master "master_name"; keep the rest of the
	// query (timeouts, pool sizes) as it was.
	out := s
	if q.Has("sentinel") {
		q.Set("master_name", q.Get("sentinel"))
		q.Del("sentinel")
		out = scheme + "://" + userinfo + hosts + u.EscapedPath() + "?" + q.Encode()
	}
	return storeURL{kind: storeRedis, url: out, redisMode: mode}, nil
}

// openStore opens the store u names. The returned closer releases it.
func openStore(ctx context.Context, u storeURL, log *slog.Logger) (storage.Store, io.Closer, error) {
	switch u.kind {
	case storeMemory:
		s := memstore.New(nil)
		return s, closerFunc(func() error { s.Close(); return nil }), nil
	case storeSQLite:
		s, err := sqlitestore.Open(u.path, &sqlitestore.Options{Logger: log})
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	case storeRedis:
		s, err := redisstore.Open(u.url)
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	case storePostgres:
		// pgx redacts the password from the errors it returns.
		s, err := pgstore.Open(ctx, u.url)
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	}
	return nil, nil, fmt.Errorf("--store: unknown store kind %q", u.kind)
}

// closerFunc is an io.Closer of a function.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }
