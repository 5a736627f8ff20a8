package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/keycard-go/keycard/internal/testlog"
	"github.com/keycard-go/keycard/memstore"
	"github.com/keycard-go/keycard/storage"
)

// env returns a getenv over vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// result is what one command line did.
type result struct {
	code           int
	stdout, stderr string
}

// opt changes a Main before it runs.
type opt func(*Main)

// withEnv gives the Main these environment variables.
func withEnv(vars map[string]string) opt { return func(m *Main) { m.getenv = env(vars) } }

// withStdin gives the Main this standard input.
func withStdin(s string) opt { return func(m *Main) { m.stdin = strings.NewReader(s) } }

// withStore makes every store URL open store, which Close leaves open, so
// that several commands share one memory store.
func withStore(store storage.Store) opt {
	return func(m *Main) {
		m.openStore = func(context.Context, storeURL, *slog.Logger) (storage.Store, io.Closer, error) {
			return store, io.NopCloser(nil), nil
		}
	}
}

// newTestMain returns a Main with empty streams and environment.
func newTestMain(opts ...opt) (*Main, *testlog.Buffer, *testlog.Buffer) {
	var stdout, stderr testlog.Buffer
	m := NewMain(strings.NewReader(""), &stdout, &stderr, env(nil))
	for _, o := range opts {
		o(m)
	}
	return m, &stdout, &stderr
}

// run runs one command line to its end, as the binary does.
func run(t *testing.T, args []string, opts ...opt) result {
	t.Helper()
	m, stdout, stderr := newTestMain(opts...)
	code := m.Exec(t.Context(), args, func() {})
	return result{code, stdout.String(), stderr.String()}
}

// TestMain runs the tests in a directory of their own, so that a command
// that falls back to a default path (sqlite:keycard.db,
// keycard-keys.json) never writes into the source tree.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keycard-cmd-test")
	if err != nil {
		panic(err)
	}
	if err := os.Chdir(dir); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// newMemStore returns a memory store closed at the end of the test.
func newMemStore(t *testing.T) *memstore.Store {
	s := memstore.New(nil)
	t.Cleanup(s.Close)
	return s
}
