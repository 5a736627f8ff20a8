package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/keycard-go/keycard"
	"github.com/keycard-go/keycard/jwt"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/pgstore"
	"github.com/keycard-go/keycard/redisstore"
	"github.com/keycard-go/keycard/server"
	"github.com/keycard-go/keycard/sqlitestore"
	"github.com/keycard-go/keycard/storage"
)

// The server side runs in a process of its own (this program started again
// with -serve), one per target, so that the load generator's allocations
// and goroutines are not the server's: the two share the machine's cores
// and nothing else, as a server and wrk on one machine do.

// serveConfig is what a server process is told on its command line.
type serveConfig struct {
	kind       string // hello, memstore, sqlite, redis, postgres, or startup
	url        string // the store: a file for sqlite, a URL for redis and postgres
	sessions   int    // API sessions to issue
	cpuprofile string // file for a CPU profile of the serving, or ""
}

// ready is the server process's one line on stdout once it serves: its
// address and the tokens of the sessions it issued. For -serve startup it
// holds the in-process timings instead.
type ready struct {
	Addr    string         `json:"addr"`
	Tokens  []string       `json:"tokens,omitempty"`
	Startup *startupTiming `json:"startup,omitempty"`
}

// startupTiming splits one cold start of the server on an empty SQLite
// file: opening (creating and migrating) the file, server.New, and the
// first 200 from /healthz after the listener is up.
type startupTiming struct {
	Open  time.Duration `json:"open"`
	New   time.Duration `json:"new"`
	First time.Duration `json:"first"` // from the start of Open to the first 200
}

// hello is the floor: net/http's hello world.
var hello = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	_, _ = io.WriteString(w, "Hello, World!\n")
})

// serve runs the server of cfg until its standard input closes (the
// parent's end of the pipe: the server never outlives the benchmark).
func serve(cfg serveConfig) error {
	if cfg.kind == "startup" {
		return serveStartup()
	}
	ctx := context.Background()
	var h http.Handler = hello
	var tokens []string
	if cfg.kind != "hello" {
		st, err := openStore(ctx, cfg.kind, cfg.url)
		if err != nil {
			return err
		}
		defer st.Close()
		s, err := newServer(st)
		if err != nil {
			return err
		}
		defer s.Close()
		for i := range cfg.sessions {
			cred, err := s.Manager().Issue(ctx, keycard.IssueOptions{Subject: fmt.Sprintf("user%04d", i), Kind: keycard.KindAPI})
			if err != nil {
				return fmt.Errorf("issue session %d: %w", i, err)
			}
			tokens = append(tokens, cred.Token.Reveal())
		}
		h = s.Handler()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if err := json.NewEncoder(os.Stdout).Encode(ready{Addr: ln.Addr().String(), Tokens: tokens}); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// storeCloser is what the server process needs of a store.
type storeCloser interface {
	storage.Store
	Close() error
}

type memCloser struct{ *memstore.Store }

func (m memCloser) Close() error { m.Store.Close(); return nil }

// openStore opens the store of kind the way `keycard serve` would: from a
// file name or a URL, with default options.
func openStore(ctx context.Context, kind, url string) (storeCloser, error) {
	switch kind {
	case "memstore":
		return memCloser{memstore.New(nil)}, nil
	case "sqlite":
		return sqlitestore.Open(url, nil)
	case "redis":
		return redisstore.Open(url)
	case "postgres":
		return pgstore.Open(ctx, url)
	}
	return nil, fmt.Errorf("unknown store %q", kind)
}

// newServer returns Keycard's server over st with fresh keys, logging
// warnings and errors only.
func newServer(st storage.Store) (*server.Server, error) {
	key, err := jwt.GenerateKey(jwt.EdDSA)
	if err != nil {
		return nil, err
	}
	return server.New(st, &server.Options{
		SigningKeys:    []*jwt.SigningKey{key},
		FingerprintKey: bytes.Repeat([]byte{7}, 32),
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
}

// serveStartup measures one cold start: a fresh SQLite file, server.New,
// the listener, and a client polling /healthz until the first 200. The
// signing key is made before the clock starts (`keycard serve` reads it
// from its key file). It then serves like serve, so that the parent can
// time the whole process too.
func serveStartup() error {
	dir, err := os.MkdirTemp("", "keycard-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key, err := jwt.GenerateKey(jwt.EdDSA)
	if err != nil {
		return err
	}
	t0 := time.Now()
	st, err := sqlitestore.Open(filepath.Join(dir, "keycard.db"), nil)
	if err != nil {
		return err
	}
	defer st.Close()
	t1 := time.Now()
	s, err := server.New(st, &server.Options{
		SigningKeys:    []*jwt.SigningKey{key},
		FingerprintKey: bytes.Repeat([]byte{7}, 32),
	})
	if err != nil {
		return err
	}
	defer s.Close()
	t2 := time.Now()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	if err := waitHealthy(ln.Addr().String(), 10*time.Second); err != nil {
		return err
	}
	t3 := time.Now()
	timing := &startupTiming{Open: t1.Sub(t0), New: t2.Sub(t1), First: t3.Sub(t0)}
	if err := json.NewEncoder(os.Stdout).Encode(ready{Addr: ln.Addr().String(), Startup: timing}); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// waitHealthy polls GET /healthz on addr until it answers 200.
func waitHealthy(addr string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return errors.Join(errors.New("/healthz never answered 200"), err)
		}
		time.Sleep(time.Millisecond) // polling a server that is starting, bounded by timeout
	}
}
