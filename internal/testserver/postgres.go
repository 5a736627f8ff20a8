package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres is one PostgreSQL server on 127.0.0.1 with trust authentication
// for the superuser "keycard" and a database "keycard". Its methods are safe
// for concurrent use.
type Postgres struct {
	Addr string // host:port

	bin, dir string
	cred     *syscall.Credential
	port     int
	mu       sync.Mutex
	p        *proc
}

// URL returns a postgres:// URL for database db ("" means "keycard").
func (pg *Postgres) URL(db string) string {
	if db == "" {
		db = "keycard"
	}
	return fmt.Sprintf("postgres://keycard@%s/%s?sslmode=disable", pg.Addr, db)
}

var pgGlobs = []string{"/usr/lib/postgresql/*/bin/%s"}

func pgBinary(t testing.TB, name string) string {
	return need(t, "postgresql", []string{name}, fmt.Sprintf(pgGlobs[0], name))
}

// StartPostgres runs initdb in a temporary directory and starts postgres on a
// free loopback port; t's Cleanup stops it and deletes the data. When the test
// runs as root the server runs as the unprivileged user "postgres" (created by
// the Debian package), as PostgreSQL refuses to run as root.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb, postgres := pgBinary(t, "initdb"), pgBinary(t, "postgres")
	pg, err := startPostgres(t, initdb, postgres)
	if err != nil {
		t.Fatal(err)
	}
	return pg
}

// SharedPostgres returns the server shared by every test of this test binary
// (see [Main]); without Main it is [StartPostgres].
func SharedPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb, postgres := pgBinary(t, "initdb"), pgBinary(t, "postgres")
	return sharedServer(t, "postgres", func(c cleaner) (*Postgres, error) { return startPostgres(c, initdb, postgres) })
}

func startPostgres(c cleaner, initdb, postgres string) (*Postgres, error) {
	dir, err := os.MkdirTemp("", "keycard-pg-")
	if err != nil {
		return nil, err
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("testserver: running as root and there is no user %q to run PostgreSQL as (Debian package postgresql creates it): %v", "postgres", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "keycard", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testserver: initdb: %v\n%s", err, out)
	}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		pg := &Postgres{
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			bin:  postgres, dir: dir, cred: cred, port: port,
		}
		if lastErr = pg.Start(); lastErr == nil {
			c.Cleanup(pg.Stop)
			if err := pg.createDB(); err != nil {
				return nil, err
			}
			return pg, nil
		}
	}
	return nil, lastErr
}

// Start starts the server again after Stop, on the same port and data, and
// returns once it accepts connections.
func (pg *Postgres) Start() error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.p != nil {
		select {
		case <-pg.p.exited:
		default:
			return errors.New("testserver: postgres already running")
		}
	}
	logf := filepath.Join(pg.dir, "postgres.log")
	lf, err := os.OpenFile(logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	if pg.cred != nil {
		os.Chown(logf, int(pg.cred.Uid), int(pg.cred.Gid))
	}
	cmd := exec.Command(pg.bin, "-D", filepath.Join(pg.dir, "data"),
		"-p", strconv.Itoa(pg.port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "max_connections=200",
		// A throwaway test server: no fsync, but a clean stop still
		// checkpoints, so Stop/Start keeps every committed row.
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	cmd.Dir = pg.dir
	p, err := startProc(cmd)
	if err != nil {
		return err
	}
	pg.p = p
	// Ready when the server on the port runs on this data directory (not
	// one that another test started on the same port in the meantime).
	data := filepath.Join(pg.dir, "data")
	err = waitFor(30*time.Second, p.exited, func() error {
		got, err := pgQueryValue(pg.Addr, "template1", "SHOW data_directory")
		if err == nil && got != data {
			err = fmt.Errorf("the server on %s runs on %s", pg.Addr, got)
		}
		return err
	})
	if err != nil {
		p.stop(syscall.SIGQUIT)
		return fmt.Errorf("testserver: postgres on %s: %v\n%s", pg.Addr, err, logTail(logf))
	}
	return nil
}

// Stop stops the server with a fast shutdown (SIGINT: open transactions are
// rolled back, committed data is checkpointed) and waits for it to exit.
func (pg *Postgres) Stop() {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.p != nil {
		pg.p.stop(syscall.SIGINT)
	}
}

// createDB creates the database "keycard" through the template database.
func (pg *Postgres) createDB() error {
	return pgSimpleQuery(pg.Addr, "template1", "CREATE DATABASE keycard")
}

func pgConnect(addr, db string) (*pgconn.PgConn, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	c, err := pgconn.Connect(ctx, fmt.Sprintf("postgres://keycard@%s/%s?sslmode=disable&connect_timeout=2", addr, db))
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return c, cancel, nil
}

func pgPing(addr string) error {
	c, cancel, err := pgConnect(addr, "template1")
	if err != nil {
		return err
	}
	defer cancel()
	return c.Close(context.Background())
}

func pgSimpleQuery(addr, db, sql string) error {
	c, cancel, err := pgConnect(addr, db)
	if err != nil {
		return err
	}
	defer cancel()
	defer c.Close(context.Background())
	_, err = c.Exec(context.Background(), sql).ReadAll()
	return err
}

// pgQueryValue returns the first column of the first row of sql.
func pgQueryValue(addr, db, sql string) (string, error) {
	c, cancel, err := pgConnect(addr, db)
	if err != nil {
		return "", err
	}
	defer cancel()
	defer c.Close(context.Background())
	res, err := c.Exec(context.Background(), sql).ReadAll()
	if err != nil {
		return "", err
	}
	if len(res) == 0 || len(res[0].Rows) == 0 || len(res[0].Rows[0]) == 0 {
		return "", errors.New("no rows")
	}
	return string(res[0].Rows[0][0]), nil
}
