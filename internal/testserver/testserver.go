// Package testserver starts real database servers for Keycard's tests:
// redis-server (standalone, or a 3-master Cluster) and PostgreSQL, each from the
// binary installed on the machine, on a free loopback port, in a temporary
// directory, and stops them when the test (or the test binary) is done.
//
// # Missing binaries
//
// When a server binary is missing the test is skipped with a message naming the
// Debian package to install (redis-server, redis-tools, postgresql), except when
// the environment has CI=true: there a missing server fails the test, so that a
// CI machine without the servers cannot pass by skipping everything.
//
// # Sharing one server per package
//
// Starting PostgreSQL costs about a second; a Redis Cluster a few. A test package
// that calls [Main] from its TestMain can ask for [SharedRedis],
// [SharedRedisCluster] and [SharedPostgres]: the first call starts the server,
// later calls in the same test binary return the same one, and Main stops them
// after every test ran. Tests that share a server must isolate their data
// themselves (a key prefix, a schema). Tests that stop a server (outage tests)
// start their own with [StartRedis] or [StartPostgres].
//
// # Programs
//
// A program that is not a test (the server load benchmark) starts the same
// servers with [LaunchRedis] and [LaunchPostgres], which return a stop
// function instead of using a test's Cleanup, and [ErrNotInstalled] instead
// of skipping.
package testserver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// need returns the path of the first of names found on PATH or in dirs, or
// skips (fails under CI=true) naming pkg, the Debian package that provides it.
func need(t testing.TB, pkg string, names []string, globs ...string) string {
	t.Helper()
	p, err := lookBinary(names, globs...)
	if err == nil {
		return p
	}
	msg, fail := missing(pkg, names[0])
	if fail {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// missing returns the message for a missing binary and whether it is a
// failure (CI=true) rather than a skip.
func missing(pkg, name string) (msg string, fail bool) {
	msg = fmt.Sprintf("testserver: %s not found on PATH; install the Debian package %q", name, pkg)
	if os.Getenv("CI") == "true" {
		return msg + " (CI=true: a missing server is a failure)", true
	}
	return msg, false
}

func lookBinary(names []string, globs ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	for _, g := range globs {
		m, _ := filepath.Glob(g)
		for i := len(m) - 1; i >= 0; i-- { // highest version last in lexical order
			if fi, err := os.Stat(m[i]); err == nil && fi.Mode()&0o111 != 0 {
				return m[i], nil
			}
		}
	}
	return "", errors.New("not found")
}

// freePort returns a loopback TCP port that is free now, and whose port+10000
// (the Redis Cluster bus port) is free too. Another process may still take it
// before the server binds; callers retry on a failed start.
func freePort() (int, error) {
	for range 100 {
		p := 20000 + rand.IntN(30000)
		if portFree(p) && portFree(p+10000) {
			return p, nil
		}
	}
	return 0, errors.New("testserver: no free loopback port found")
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// waitFor polls ok every 20ms until it returns nil or timeout passes.
func waitFor(timeout time.Duration, exited <-chan struct{}, ok func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ok()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a starting server, bounded by timeout
	}
}

// proc is one running server process.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's result, valid once exited is closed
}

func startProc(cmd *exec.Cmd) (*proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // never outlive the test binary
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends sig and waits up to 20s for the process to exit, then kills it.
func (p *proc) stop(sig syscall.Signal) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// logTail returns the last bytes of a log file, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// shared servers, stopped by Main.
var (
	mainRunning bool
	sharedMu    sync.Mutex
	shared      = map[string]any{}
	sharedStop  []func()
)

// Main runs the tests of a package and then stops the servers started by the
// Shared functions. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testserver.Main(m) }
func Main(m *testing.M) {
	mainRunning = true
	code := m.Run()
	sharedMu.Lock()
	for i := len(sharedStop) - 1; i >= 0; i-- {
		sharedStop[i]()
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// sharedServer returns the server under key, starting it with start on first
// use. Without Main the server belongs to t alone and is stopped at its Cleanup.
func sharedServer[S any](t testing.TB, key string, start func(c cleaner) (S, error)) S {
	t.Helper()
	if !mainRunning {
		s, err := start(t)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if s, ok := shared[key]; ok {
		if err, bad := s.(error); bad {
			t.Fatal(err)
		}
		return s.(S)
	}
	var c stopList
	s, err := start(&c)
	sharedStop = append(sharedStop, c.run)
	if err != nil {
		shared[key] = err
		t.Fatal(err)
	}
	shared[key] = s
	return s
}

// cleaner is the part of testing.TB that servers use to stop themselves.
type cleaner interface{ Cleanup(func()) }

type stopList []func()

func (l *stopList) Cleanup(f func()) { *l = append(*l, f) }
func (l *stopList) run() {
	for i := len(*l) - 1; i >= 0; i-- {
		(*l)[i]()
	}
}
