package testserver

import (
	"errors"
	"fmt"
)

// ErrNotInstalled is the error (wrapped in one that names the Debian package
// to install) of [LaunchRedis] and [LaunchPostgres] when the server binary is
// missing.
var ErrNotInstalled = errors.New("testserver: server binary not installed")

// LaunchRedis starts a redis-server like [StartRedis] for a program that is
// not a test (a benchmark driver). The caller must call stop, which stops
// the server and deletes its data; stop is nil when err is not.
func LaunchRedis(opts *RedisOptions) (r *Redis, stop func(), err error) {
	bin, err := lookFor("redis-server", []string{"redis-server"})
	if err != nil {
		return nil, nil, err
	}
	return launch(func(c cleaner) (*Redis, error) { return startRedis(c, bin, opts) })
}

// LaunchPostgres starts a PostgreSQL like [StartPostgres] for a program that
// is not a test. The caller must call stop, which stops the server and
// deletes its data; stop is nil when err is not.
func LaunchPostgres() (pg *Postgres, stop func(), err error) {
	initdb, err := lookFor("postgresql", []string{"initdb"}, fmt.Sprintf(pgGlobs[0], "initdb"))
	if err != nil {
		return nil, nil, err
	}
	postgres, err := lookFor("postgresql", []string{"postgres"}, fmt.Sprintf(pgGlobs[0], "postgres"))
	if err != nil {
		return nil, nil, err
	}
	return launch(func(c cleaner) (*Postgres, error) { return startPostgres(c, initdb, postgres) })
}

// lookFor is need for a program: a missing binary is ErrNotInstalled.
func lookFor(pkg string, names []string, globs ...string) (string, error) {
	p, err := lookBinary(names, globs...)
	if err != nil {
		msg, _ := missing(pkg, names[0])
		return "", fmt.Errorf("%w: %s", ErrNotInstalled, msg)
	}
	return p, nil
}

// launch runs start with its own stop list, which it runs at once when
// start fails.
func launch[S any](start func(c cleaner) (S, error)) (S, func(), error) {
	var c stopList
	s, err := start(&c)
	if err != nil {
		c.run()
		var zero S
		return zero, nil, err
	}
	return s, c.run, nil
}
